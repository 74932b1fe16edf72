"""Faults: the whole Celery worker is SIGKILLed mid-run, or only a run's training process is.

Runs on the real services (Postgres + Redis, own database and key prefix, real Celery workers); the stack's
short ``stale_after_s`` (8 s) lets the lost-worker sweep show within seconds, and a tiny
``checkpoint_every_min`` gives AdamW a resume checkpoint every step or so. Expected: a run that lost its
worker or its training process goes back to the queue (``resumes`` counts it, the attempt stays) and
finishes; every metric point committed before the kill is still there with its value, none is missing or
doubled afterwards, and the final weights (``weights_sha256``) and per-example evaluation bits equal those
of the same run left uninterrupted.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import sqlalchemy as sa

from backend.db.models import EvalResult, PocEvent, ZoStep
from tests.faults.support import (
    api_client,
    builtin_dataset_id,
    freeze_training,
    is_final,
    launch,
    loss_steps,
    missing,
    processes_matching,
    report,
    stored_points,
    wait_for,
)
from tests.support.stack import Stack, live_stack

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

# Long enough that the kill lands mid-run: tiny-bert trains dozens of steps a second, so the training process
# is also frozen (SIGSTOP) the moment step 14 is seen, before the kill.
STEPS = 300
EVAL_EVERY = 150
MID_RUN = 14
# Seconds between AdamW checkpoints (the setting is in minutes).
CHECKPOINT_EVERY_MIN = "0.0005"


def eval_bits(stack: Stack, run_id: str) -> list[tuple[int, int, bytes]]:
    with stack.session() as session:
        rows = session.execute(
            sa.select(EvalResult.step, EvalResult.n_eval, EvalResult.correct)
            .where(EvalResult.run_id == run_id)
            .order_by(EvalResult.step)
        ).all()
    return [(step, n, bytes(correct)) for step, n, correct in rows]


def resumed_events(stack: Stack, run_id: str) -> int:
    with stack.session() as session:
        count = session.scalar(
            sa.select(sa.func.count()).where(PocEvent.run_id == run_id, PocEvent.kind == "resumed")
        )
    return int(count or 0)


def zo_step_numbers(stack: Stack, run_id: str) -> list[int]:
    with stack.session() as session:
        return list(
            session.scalars(sa.select(ZoStep.step).where(ZoStep.run_id == run_id).order_by(ZoStep.step))
        )


def check_resumed_like_uninterrupted(
    stack: Stack, run_id: str, reference_id: str, acknowledged: dict
) -> None:
    """The resumed run finished as the uninterrupted one did: points, weights, evaluation bits."""
    run = wait_for(stack, run_id, is_final, timeout_s=240, what="final")
    reference = wait_for(stack, reference_id, is_final, timeout_s=240, what="final")
    report(f"found: run {run_id[:8]} ({run.method}) is {run.state} after {run.resumes} resumption(s)")
    assert run.state == "succeeded", run.error
    assert reference.state == "succeeded", reference.error
    assert run.resumes == 1 and run.attempt == 1 and resumed_events(stack, run_id) == 1
    now = stored_points(stack, run_id)
    assert not missing(acknowledged, now), "points committed before the kill are kept unchanged"
    assert loss_steps(now) == list(range(1, STEPS + 1)), "no step missing or doubled"
    assert set(now) == set(stored_points(stack, reference_id)), "the same metric points as uninterrupted"
    assert run.final_metrics is not None and reference.final_metrics is not None
    ours, theirs = run.final_metrics["weights_sha256"], reference.final_metrics["weights_sha256"]
    report(f"found: weights_sha256 resumed {ours[:12]}, uninterrupted {theirs[:12]}")
    assert ours == theirs, "the resumed run ends with the uninterrupted run's weights, bit for bit"
    assert eval_bits(stack, run_id) == eval_bits(stack, reference_id) != []
    if run.method != "adamw":
        assert zo_step_numbers(stack, run_id) == list(range(1, STEPS + 1))


def test_sigkill_of_the_worker_resumes_the_run_on_a_new_worker():
    extra = {"ZOPOC_CHECKPOINT_EVERY_MIN": CHECKPOINT_EVERY_MIN}
    with live_stack("services", extra_env=extra) as stack, api_client(stack) as client:
        dataset_id = builtin_dataset_id(client)
        body = {"steps": STEPS, "eval_every": EVAL_EVERY}
        doomed = launch(client, dataset_id, ["lozo"], name="doomed", **body)["runs"][0]["id"]
        wait_for(
            stack, doomed, lambda r: r.state == "running" and r.step >= MID_RUN, what="running", poll_s=0.05
        )
        assert freeze_training(doomed), "the training process is running"
        acknowledged = stored_points(stack, doomed)
        old_worker = stack.worker
        report(
            f"inject: SIGKILL to the worker's process group (pid {old_worker.pid}) while run {doomed[:8]} "
            f"trains (step {max(loss_steps(acknowledged))}, {len(acknowledged)} points committed)"
        )
        stack.kill_worker(signal.SIGKILL)
        assert old_worker.poll() is not None, "the worker's main process is gone"
        deadline = time.monotonic() + 15
        while processes_matching(f"zopoc-run-{doomed[:8]}") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not processes_matching(f"zopoc-run-{doomed[:8]}"), "the training child died with its worker"

        assert max(loss_steps(acknowledged)) < STEPS, "killed mid-run"
        behind = launch(client, dataset_id, ["lozo"], name="uninterrupted", **body)["runs"][0]["id"]
        new_worker = stack.start_worker()
        report(f"inject: a new worker (pid {new_worker.pid}) starts")
        check_resumed_like_uninterrupted(stack, doomed, behind, acknowledged)
        run = wait_for(stack, doomed, is_final)
        assert run.worker and run.worker.startswith("w1-"), "the new worker finished the run"


@pytest.mark.parametrize("method", ["lozo", "mezo", "adamw"])
def test_sigkill_of_the_training_process_resumes_the_run(method):
    extra = {"ZOPOC_CHECKPOINT_EVERY_MIN": CHECKPOINT_EVERY_MIN}
    with live_stack("services", extra_env=extra) as stack, api_client(stack) as client:
        dataset_id = builtin_dataset_id(client)
        body = {"steps": STEPS, "eval_every": EVAL_EVERY}
        doomed = launch(client, dataset_id, [method], name="killed", **body)["runs"][0]["id"]

        def trained_enough(run) -> bool:
            checkpointed = method != "adamw" or bool(run.checkpoint_bytes)
            return run.state == "running" and run.step >= MID_RUN and checkpointed

        wait_for(stack, doomed, trained_enough, what="running and checkpointed", poll_s=0.05)
        children = freeze_training(doomed)
        assert children, "the training process is running"
        acknowledged = stored_points(stack, doomed)
        assert max(loss_steps(acknowledged)) < STEPS, "killed mid-run"
        report(f"inject: SIGKILL to training process {children} of {method} run {doomed[:8]}")
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        reference = launch(client, dataset_id, [method], name="uninterrupted", **body)["runs"][0]["id"]
        check_resumed_like_uninterrupted(stack, doomed, reference, acknowledged)
        assert stack.worker.poll() is None, "the worker itself lived on"
