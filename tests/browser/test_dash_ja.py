"""A Japanese manager's dashboard in real Chromium (locale ja-JP) against the real server: stop reasons in
Japanese, a glossary tooltip, ETA and queue position of a live PoC, and two PoCs side by side."""

from __future__ import annotations

import datetime as dt

import pytest

from backend.datasets import builtin_dataset_id
from backend.db.models import Poc, Run
from backend.ingest import Point, write_points
from tests.browser.conftest import SCREENSHOTS, run_node
from tests.browser.test_dashboard import _admin_workspace

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHECKS = [
    "the dashboard speaks Japanese for a ja-JP browser",
    "the PoC list shows the best accuracy per method",
    "the PoC list shows the memory saving",
    "the cancelled run's reason is in Japanese",
    "the diverged run's reason is in Japanese with its step",
    "keyboard focus on ZO shows its explanation in Japanese",
    "the explanation is the word's accessible description",
    "the running run shows its ETA at its own pace",
    "the queued run shows its place in the queue",
    "the PoC's remaining time and the sequential note are shown",
    "two picked PoCs open at /compare?a=…&b=…",
    "both PoCs are side by side with their key results",
    "both columns draw their charts",
    "no errors in the browser console",
]


def _run(poc: Poc, method: str, **fields) -> Run:
    now = dt.datetime.now(dt.UTC)
    values = {
        "hyperparams": {},
        "state": "succeeded",
        "step": 100,
        "forward_passes": 200,
        "total_steps": 100,
        "progress": 1.0,
        "started_at": now,
        "finished_at": now,
        "device": "cpu",
        "queue": "cpu",
        "peak_memory_mb": 400.0,
        "baseline_memory_mb": 380.0,
        "memory_kind": "host_rss",
    }
    return Run(poc=poc, method=method, **(values | fields))


def _seed(stack) -> dict[str, str]:
    """Two finished PoCs (one with a cancelled and a diverged run) and a live one: a run training at 2 s a
    step (its heartbeat kept fresh for the test) and two runs waiting in the GPU queue, which no worker of
    this stack serves, so they stay queued."""
    dataset = builtin_dataset_id("demo-sentiment")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    with stack.session() as session:
        ws = _admin_workspace(session, stack)
        pocs = {}
        for key, name, steps in (("a", "予算 100 ステップ", 100), ("c", "予算 400 ステップ", 400)):
            pocs[key] = Poc(
                name=name,
                model="minilm",
                dataset_id=dataset,
                settings={"steps": steps, "batch_size": 16, "seed": 0},
                created_by="ja-test",
                state="mixed" if key == "a" else "succeeded",
                **ws,
            )
        pocs["b"] = Poc(
            name="実行中の PoC",
            model="minilm",
            dataset_id=dataset,
            settings={"steps": 100, "batch_size": 16, "seed": 0, "eval_every": 1000},
            created_by="ja-test",
            state="running",
            **ws,
        )
        session.add_all(pocs.values())
        finished = [
            _run(pocs["a"], "lozo", final_metrics={"eval/accuracy": 0.81}),
            _run(pocs["a"], "adamw", peak_memory_mb=1200.0, final_metrics={"eval/accuracy": 0.86}),
            _run(
                pocs["a"],
                "mezo",
                state="cancelled",
                progress=0.4,
                step=40,
                error="cancelled on request (SIGTERM) after finishing the current step",
            ),
            _run(pocs["c"], "lozo", final_metrics={"eval/accuracy": 0.84}, step=400, total_steps=400),
            _run(
                pocs["c"],
                "adamw",
                peak_memory_mb=1000.0,
                step=400,
                total_steps=400,
                final_metrics={"eval/accuracy": 0.88},
            ),
            _run(
                pocs["c"],
                "mezo",
                state="failed",
                step=12,
                progress=0.03,
                total_steps=400,
                error="diverged: loss became nan at step 12",
            ),
        ]
        running = _run(
            pocs["b"], "lozo", state="running", step=10, progress=0.1, finished_at=None, heartbeat_at=later
        )
        queued = [
            _run(
                pocs["b"],
                m,
                state="queued",
                step=0,
                progress=0.0,
                started_at=None,
                finished_at=None,
                queue="gpu",
            )
            for m in ("adamw", "mezo")
        ]
        session.add_all([*finished, running, *queued])
        session.commit()
        for run in [*finished, running]:
            points = [Point("train/loss", s, 2.0 * s, 2 * s, 0.7 - 0.001 * s) for s in range(1, run.step + 1)]
            write_points(session, run.id, points)
        session.commit()
        return {f"POC_{key.upper()}": poc.id for key, poc in pocs.items()}


def test_a_japanese_manager_reads_reasons_terms_times_and_two_pocs(dashboard_stack):
    ids = _seed(dashboard_stack)
    output = run_node("dash_ja.mjs", dashboard_stack, timeout_s=240, **ids)
    passed = [line for line in output.splitlines() if line.startswith("ok - ")]
    for check in CHECKS:
        assert any(check in line for line in passed), f"check not reported: {check}\n{output}"
    assert (SCREENSHOTS / "ja-two-pocs.png").stat().st_size > 10_000
