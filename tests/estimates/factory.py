"""Finished PoCs written straight into the test database, as the worker would have left them."""

from __future__ import annotations

import datetime as dt

import numpy as np
from sqlalchemy.orm import Session

from backend.datasets import builtin_dataset_id
from backend.db.models import EvalResult, Poc, Run
from backend.ingest import Point, write_points

N_EVAL = 200


def paired_flags(both: int, only_a: int, only_b: int, neither: int) -> tuple[list[bool], list[bool]]:
    a = [True] * both + [True] * only_a + [False] * only_b + [False] * neither
    b = [True] * both + [False] * only_a + [True] * only_b + [False] * neither
    return a, b


def _add_run(
    session: Session,
    poc: Poc,
    method: str,
    steps: int,
    loss_rate: float,
    peak: float,
    start_flags: list[bool],
    end_flags: list[bool],
    s_per_step: float,
    headline_metric: str = "eval/accuracy",
) -> Run:
    now = dt.datetime.now(dt.UTC)
    acc_start, acc_end = sum(start_flags) / len(start_flags), sum(end_flags) / len(end_flags)
    run = Run(
        poc_id=poc.id,
        method=method,
        state="succeeded",
        step=steps,
        forward_passes=steps * (2 if method != "adamw" else 1),
        total_steps=steps,
        progress=1.0,
        hyperparams={
            "lr": 1e-4 if method != "adamw" else 1e-5,
            "rank": 2,
            "nu": 50,
            "batch_size": 16,
            "max_length": 64,
            "dtype": "float32",
            "seed": 0,
        },
        started_at=now - dt.timedelta(seconds=steps * s_per_step),
        finished_at=now,
        device="cpu",
        peak_memory_mb=peak,
        baseline_memory_mb=450.0,
        memory_kind="host_rss",
        final_metrics={
            "acc_start": acc_start,
            "acc_end": acc_end,
            headline_metric: acc_end,
            "final_train_loss": 0.3 * loss_rate**steps,
            "s_per_step": s_per_step,
        },
    )
    session.add(run)
    session.flush()
    points = [
        Point(name, t, t * s_per_step, t * 2, value)
        for t in range(steps + 1)
        for name, value in (
            ("train/loss", 0.3 * loss_rate**t),
            ("memory/peak_rss_mb", peak - 40 + 40 * min(1, t / 5)),
        )
    ]
    points += [
        Point(headline_metric, t, t * s_per_step, t * 2, acc_start + (acc_end - acc_start) * t / steps)
        for t in (0, steps // 2, steps)
    ]
    write_points(session, run.id, points)
    for step, flags in ((0, start_flags), (steps, end_flags)):
        session.add(
            EvalResult(
                run_id=run.id,
                step=step,
                n_eval=len(flags),
                accuracy=sum(flags) / len(flags),
                loss=None,
                correct=np.packbits(np.array(flags, dtype=bool)).tobytes(),
            )
        )
    return run


def add_finished_poc(
    session: Session, workspace_id: str, table=(130, 10, 20, 40), name: str = "Support tickets PoC"
) -> str:
    """A LOZO + AdamW PoC on MiniLM in ``workspace_id`` (the API tests' ``workspace_id`` fixture, so their
    signed-in client sees it), finished; ``table`` = (both right, only LOZO right, only AdamW right,
    neither) on the final evaluation."""
    poc = Poc(
        name=name,
        model="minilm",
        dataset_id=builtin_dataset_id("demo-sentiment"),
        workspace_id=workspace_id,
        state="succeeded",
        settings={"steps": 100, "batch_size": 16, "seed": 0, "k_shot": 16, "eval_every": 50, "device": "cpu"},
    )
    session.add(poc)
    session.flush()
    lozo_flags, adamw_flags = paired_flags(*table)
    start = [i % 3 != 0 for i in range(len(lozo_flags))]
    _add_run(session, poc, "adamw", 100, 0.99, 1013.0, start, adamw_flags, 0.4)
    _add_run(session, poc, "lozo", 300, 0.995, 539.0, start, lozo_flags, 0.12)
    session.commit()
    return poc.id


def _example(prompt: str, reference: str, generated: str) -> dict:
    matched = generated == reference
    return {"prompt": prompt, "reference": reference, "generated": generated, "exact_match": matched,
            "f1": 1.0 if matched else 0.0}  # fmt: skip


# (prompt, reference, answer at the start, LOZO's at the end, AdamW's at the end)
GENERATION_EXAMPLES = (
    ("Normalise this date to YYYY-MM-DD: March 3, 2024", "2024-03-03", "March 3", "2024-03-03", "2024-03-03"),
    (
        "次の日付をYYYY-MM-DD形式で書いてください：令和6年3月3日",
        "2024-03-03",
        "令和6年",
        "2019-03-03",
        "2024-03-03",
    ),
    ("Normalise this date to YYYY-MM-DD: 7/4/1999", "1999-07-04", "1999", "1999-07-04", "1999-04-07"),
)


def add_finished_generation_poc(
    session: Session, workspace_id: str, name: str = "Date normalisation PoC"
) -> str:
    """A LOZO + AdamW generation PoC on the embedded SmolLM2 and the built-in demo-dates task, finished,
    each run with exact-match bits, F1 and completion-loss points and its example answers."""
    poc = Poc(
        name=name,
        model="smollm2-135m",
        dataset_id=builtin_dataset_id("demo-dates"),
        workspace_id=workspace_id,
        state="succeeded",
        settings={
            "task_type": "generation",
            "steps": 100,
            "batch_size": 8,
            "seed": 0,
            "eval_every": 50,
            "max_new_tokens": 12,
            "device": "cpu",
        },  # fmt: skip
    )
    session.add(poc)
    session.flush()
    lozo_flags, adamw_flags = paired_flags(20, 6, 14, 60)
    start = [i % 10 == 0 for i in range(len(lozo_flags))]
    for method, steps, flags, answer in (("lozo", 200, lozo_flags, 3), ("adamw", 100, adamw_flags, 4)):
        run = _add_run(session, poc, method, steps, 0.995, 600.0, start, flags, 0.2, "eval/exact_match")
        em_start, em_end = sum(start) / len(start), sum(flags) / len(flags)
        run.final_metrics = {**(run.final_metrics or {}), "em_start": em_start, "em_end": em_end,
                             "f1_start": 0.3, "f1_end": 0.3 + em_end - em_start,
                             "eval_loss_start": 1.2, "eval_loss_end": 0.9}  # fmt: skip
        run.examples = {
            "start": {"step": 0, "examples": [_example(e[0], e[1], e[2]) for e in GENERATION_EXAMPLES]},
            "end": {
                "step": steps,
                "examples": [_example(e[0], e[1], e[answer]) for e in GENERATION_EXAMPLES],
            },
        }
        write_points(
            session,
            run.id,
            [
                Point(name, t, t * 0.2, t * 2, value)
                for t in (0, steps)
                for name, value in (
                    ("eval/f1", 0.3 if t == 0 else 0.3 + em_end - em_start),
                    ("eval/loss", 1.2 if t == 0 else 0.9),
                )
            ],
        )
    session.commit()
    return poc.id
