"""Fault: the whole Celery worker (main process, pool child and training child) is SIGKILLed mid-run.

Runs on the real services (Postgres + Redis, own database and key prefix); the stack's short
``stale_after_s`` (8 s) lets the lost-worker sweep show within seconds. Expected: the killed run ends
``failed`` with a reason a person understands (never left ``running``), every metric point committed before
the kill is still there, and a new worker takes the run that was queued behind it.
"""

from __future__ import annotations

import signal
import time

import pytest

from tests.faults.support import (
    api_client,
    builtin_dataset_id,
    is_final,
    launch,
    loss_steps,
    missing,
    processes_matching,
    report,
    stored_points,
    wait_for,
)
from tests.support.stack import live_stack

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def test_sigkill_of_the_worker_fails_the_run_and_a_new_worker_takes_the_next():
    with live_stack("services") as stack, api_client(stack) as client:
        dataset_id = builtin_dataset_id(client)
        doomed = launch(client, dataset_id, ["lozo"], steps=200_000, name="doomed")["runs"][0]["id"]
        wait_for(stack, doomed, lambda r: r.state == "running" and r.step >= 3, what="running")
        behind = launch(client, dataset_id, ["adamw"], steps=3, name="queued behind")["runs"][0]["id"]
        time.sleep(1.5)  # let the busy worker see (and, if it prefetches, reserve) the queued message

        acknowledged = stored_points(stack, doomed)
        children = processes_matching(f"zopoc-run-{doomed[:8]}")
        old_worker = stack.worker
        report(
            f"inject: SIGKILL to the worker's process group (pid {old_worker.pid}) while run {doomed[:8]} "
            f"trains (step {max(loss_steps(acknowledged))}, {len(acknowledged)} points committed); "
            f"run {behind[:8]} is queued behind it"
        )
        stack.kill_worker(signal.SIGKILL)
        assert old_worker.poll() is not None, "the worker's main process is gone"
        deadline = time.monotonic() + 15
        while processes_matching(f"zopoc-run-{doomed[:8]}") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not processes_matching(f"zopoc-run-{doomed[:8]}"), "the training child died with its worker"
        report(f"found: worker exited ({old_worker.returncode}); training child {children} gone")

        new_worker = stack.start_worker()
        report(f"inject: a new worker (pid {new_worker.pid}) starts")
        run = wait_for(stack, doomed, is_final, timeout_s=90, what="final")
        report(f"found: run {doomed[:8]} is {run.state}: {run.error}")
        assert run.state == "failed", "a run whose worker vanished is failed (the product does not retry it)"
        assert "lost worker" in run.error and run.finished_at is not None

        now = stored_points(stack, doomed)
        gone = missing(acknowledged, now)
        report(
            f"found: {len(acknowledged) - len(gone)}/{len(acknowledged)} acknowledged points of "
            f"{doomed[:8]} still stored"
        )
        assert not gone, f"acknowledged points lost: {gone[:10]}"

        nxt = wait_for(stack, behind, is_final, timeout_s=120, what="final")
        report(f"found: queued run {behind[:8]} is {nxt.state} on worker {nxt.worker}")
        assert nxt.state == "succeeded", nxt.error
        assert nxt.worker and nxt.worker.startswith("w1-"), "the new worker took the queued run"
        assert loss_steps(stored_points(stack, behind)) == [1, 2, 3]
