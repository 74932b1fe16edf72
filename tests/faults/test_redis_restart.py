"""Fault: the Redis broker restarts (without persistence) while accepted runs wait in its queue.

Runs on a PRIVATE redis-server (never the machine's shared one) and a fresh database on the shared
Postgres. A restart empties Redis, queued messages included; the database still holds the accepted runs
as ``queued``, and the workers' sweep (``worker.tasks.requeue_lost_runs``) must send them again. Expected:
every run accepted before the restart (201 from POST /api/pocs) reaches ``succeeded``, with every metric
point, and a PoC launched after the restart runs too.
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.faults.support import (
    api_client,
    builtin_dataset_id,
    is_final,
    launch,
    loss_steps,
    missing,
    report,
    stored_points,
    wait_for,
)
from tests.support.private_services import private_redis, services_env
from tests.support.stack import live_stack

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def test_runs_accepted_before_a_redis_restart_all_run_to_their_end():
    with (
        private_redis() as server,
        services_env(redis_server=server),
        live_stack("services") as stack,
        api_client(stack) as client,
    ):
        settings = stack.settings()
        broker = redis.Redis.from_url(server.url)
        queue_key = f"{settings.redis_prefix}{settings.queue_prefix}cpu"
        mark_key = f"{settings.redis_prefix}broker-mark"
        dataset_id = builtin_dataset_id(client)
        # The first sweep of a worker finds no marker (a fresh Redis looks like a restarted one) and sets it;
        # wait for that so the re-send counted below is the restart's.
        deadline = time.monotonic() + 30
        while not broker.exists(mark_key) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert broker.exists(mark_key), "the workers' sweep marks the broker as live"

        busy = launch(client, dataset_id, ["lozo"], steps=120, name="busy")["runs"][0]["id"]
        wait_for(stack, busy, lambda r: r.state == "running" and r.step >= 3, what="running")
        accepted = [
            run["id"] for run in launch(client, dataset_id, ["lozo", "adamw"], steps=3, name="queued")["runs"]
        ]
        waiting = broker.llen(queue_key)
        acknowledged = stored_points(stack, busy)
        assert waiting == len(accepted), f"the accepted runs wait in the broker ({waiting} messages)"
        report(
            f"inject: restart Redis (SIGKILL, no persistence) with {waiting} accepted runs queued and run "
            f"{busy[:8]} training (step {max(loss_steps(acknowledged))})"
        )
        broker.close()
        log_before = len(stack.worker_log())
        server.restart(down_s=1.0)
        broker = redis.Redis.from_url(server.url)
        report(
            f"found: after the restart Redis holds {broker.dbsize()} keys; "
            f"queue length {broker.llen(queue_key)}"
        )

        late = launch(client, dataset_id, ["adamw"], steps=3, name="after restart")["runs"][0]["id"]
        report(f"inject: one more PoC launched after the restart (run {late[:8]}, 201)")

        for run_id in [busy, *accepted, late]:
            run = wait_for(stack, run_id, is_final, timeout_s=240, what="final")
            points = stored_points(stack, run_id)
            report(
                f"found: run {run_id[:8]} {run.state} on {run.worker}, steps {loss_steps(points)[-1:]} "
                f"({len(points)} points)"
            )
            assert run.state == "succeeded", run.error
            assert loss_steps(points) == list(range(1, run.total_steps + 1)), "every step's point is stored"
        gone = missing(acknowledged, stored_points(stack, busy))
        assert not gone, f"acknowledged points of the busy run lost: {gone[:10]}"
        resent = stack.worker_log()[log_before:].count("queued runs sent again")
        report(
            f"found: the worker's sweep re-sent lost runs {resent} time(s); marker back: "
            f"{bool(broker.exists(mark_key))}"
        )
        assert resent >= 1
        broker.close()
