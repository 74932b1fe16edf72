"""A worker of two slots on the live stack trains a PoC's two methods at the same time, in two training
processes, and a SIGKILL of that worker puts both runs back in the queue to finish on a new worker.

The first run's training process is frozen (SIGSTOP) once it steps: with one slot the second run could then
never start, so seeing it start proves the two slots, whatever the machine's speed.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

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
    run_row,
    stored_points,
    wait_for,
)
from tests.support.stack import Stack, live_stack

pytestmark = pytest.mark.slow

STEPS = 400
MID_RUN = 5
TWO_SLOTS = {"ZOPOC_WORKER_SLOTS": "2"}


def training(run_id: str) -> list[int]:
    return processes_matching(f"zopoc-run-{run_id[:8]}")


def both_training(
    stack: Stack, first: str, second: str, timeout_s: float = 120
) -> tuple[list[int], list[int]]:
    """Wait until both runs have a live training process at the same moment; their pids."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        a, b = training(first), training(second)
        if a and b:
            return a, b
        time.sleep(0.1)
    raise AssertionError(f"the two runs never trained at once\n{stack.worker_log()[-3000:]}")


def freeze_each_mid_run(stack: Stack, runs: list[str], timeout_s: float = 120) -> None:
    """Freeze each run's training process the moment it is seen past ``MID_RUN``: waiting for one while the
    other trains on could let the other reach its last step first."""
    waiting = set(runs)
    deadline = time.monotonic() + timeout_s
    while waiting and time.monotonic() < deadline:
        for run_id in sorted(waiting):
            run = run_row(stack, run_id)
            if run.state == "running" and run.step >= MID_RUN and freeze_training(run_id):
                waiting.discard(run_id)
        time.sleep(0.05)
    assert not waiting, f"runs {waiting} never trained past step {MID_RUN}\n{stack.worker_log()[-3000:]}"


def resume(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGCONT)


def test_a_two_slot_worker_trains_both_methods_at_once():
    with live_stack(extra_env=TWO_SLOTS) as stack, api_client(stack) as client:
        workers = client.get("/api/workers").json()
        assert [w["slots"] for w in workers["data"]] == [2] and workers["slots"]["cpu"] == 2
        dataset_id = builtin_dataset_id(client)
        first, second = (r["id"] for r in launch(client, dataset_id, ["lozo", "mezo"], STEPS)["runs"])
        wait_for(stack, first, lambda r: r.state == "running" and r.step >= 1, what="stepping", poll_s=0.05)
        frozen = freeze_training(first)
        assert frozen, "the first run's training process is alive"
        try:
            a, b = both_training(stack, first, second)
            report(f"found: training processes {a} and {b} alive at once")
            assert set(a).isdisjoint(b), "two distinct training processes"
            wait_for(stack, second, lambda r: r.state == "running", what="running beside the first")
        finally:
            resume(frozen)
        one, other = (wait_for(stack, run_id, is_final, what="final") for run_id in (first, second))
        assert one.state == other.state == "succeeded", (one.error, other.error)
        assert one.worker == other.worker, "one worker trained both"
        # From stored data alone: each started before the other finished.
        assert one.started_at < other.finished_at and other.started_at < one.finished_at


def test_a_sigkill_of_a_two_slot_worker_puts_both_runs_back_and_a_new_worker_finishes_them():
    with live_stack("services", extra_env=TWO_SLOTS) as stack, api_client(stack) as client:
        dataset_id = builtin_dataset_id(client)
        runs = [r["id"] for r in launch(client, dataset_id, ["lozo", "mezo"], STEPS, name="doomed")["runs"]]
        freeze_each_mid_run(stack, runs)
        acknowledged = {run_id: stored_points(stack, run_id) for run_id in runs}
        reached = {run_id[:8]: max(loss_steps(points), default=0) for run_id, points in acknowledged.items()}
        report(f"found: steps stored before the kill {reached}")
        assert all(0 < step < STEPS for step in reached.values()), "killed mid-run"
        report(f"inject: SIGKILL to the two-slot worker while runs {[r[:8] for r in runs]} train")
        stack.kill_worker(signal.SIGKILL)
        deadline = time.monotonic() + 15
        while any(training(r) for r in runs) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(training(r) for r in runs), "the training children died with their worker"

        stack.start_worker()
        for run_id in runs:
            run = wait_for(stack, run_id, is_final, timeout_s=240, what="final")
            report(f"found: run {run_id[:8]} ({run.method}) {run.state} after {run.resumes} resumption(s)")
            assert run.state == "succeeded", run.error
            assert run.resumes == 1 and run.attempt == 1
            assert run.worker and run.worker.startswith("w1-"), "the new worker finished it"
            now = stored_points(stack, run_id)
            assert not missing(acknowledged[run_id], now), "points committed before the kill are kept"
            assert loss_steps(now) == list(range(1, STEPS + 1)), "no step missing or doubled"
