"""Fault: Postgres restarts (immediate stop = a crash, WAL recovery) while a run streams its metrics.

Runs on a PRIVATE Postgres cluster (never the machine's shared server) and the shared Redis under a unique
prefix. ``stale_after_s`` is 30 s here so the outage (a few seconds) is not mistaken for a lost worker.
Expected: every metric point committed before the restart is still there, the worker's relay keeps its
batches through the outage and writes them afterwards (so the run's curve has no hole), the run reaches
``succeeded``, and the API answers again once the database is back.
"""

from __future__ import annotations

import time

import httpx
import pytest

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
from tests.support.private_services import private_postgres, services_env
from tests.support.stack import live_stack

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

STEPS = 100


def api_status(client: httpx.Client, path: str) -> int | str:
    try:
        return client.get(path, timeout=5).status_code
    except httpx.HTTPError as error:
        return type(error).__name__


def test_postgres_restart_while_metrics_stream_loses_no_acknowledged_point():
    with (
        private_postgres() as pg,
        services_env(postgres=pg),
        live_stack("services", extra_env={"ZOPOC_STALE_AFTER_S": "30"}) as stack,
        api_client(stack) as client,
    ):
        dataset_id = builtin_dataset_id(client)
        poc = launch(client, dataset_id, ["lozo"], steps=STEPS, name="streaming")
        run_id = poc["runs"][0]["id"]
        wait_for(stack, run_id, lambda r: r.state == "running" and r.step >= 5, what="running")

        acknowledged = stored_points(stack, run_id)
        report(
            f"inject: immediate stop of Postgres (port {pg.port}) for 3 s while run {run_id[:8]} streams "
            f"(step {max(loss_steps(acknowledged))}, {len(acknowledged)} points committed)"
        )
        log_before = len(stack.worker_log())
        pg.stop("immediate")
        during = api_status(client, f"/api/pocs/{poc['id']}")
        time.sleep(3)
        pg.start()
        report(f"found: API answered {during} during the outage; Postgres is back")
        assert during == 503, "a database outage is a 503 the client may retry, not a 500"

        deadline = time.monotonic() + 30
        after = api_status(client, f"/api/pocs/{poc['id']}")
        while after != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
            after = api_status(client, f"/api/pocs/{poc['id']}")
        report(f"found: API answers {after} after the restart")
        assert after == 200, "the API reconnects to the restarted database"

        run = wait_for(stack, run_id, is_final, timeout_s=240, what="final")
        points = stored_points(stack, run_id)
        gone = missing(acknowledged, points)
        steps = loss_steps(points)
        worker_log = stack.worker_log()[log_before:]
        report(
            f"found: run {run_id[:8]} {run.state} at step {run.step}; {len(acknowledged) - len(gone)}/"
            f"{len(acknowledged)} acknowledged points kept; train/loss at {len(steps)}/{STEPS} steps; "
            f"relay retried: {'database unreachable' in worker_log}, "
            f"recovered: {'reachable again' in worker_log}"
        )
        assert not gone, f"acknowledged points lost: {gone[:10]}"
        assert run.state == "succeeded", run.error
        assert steps == list(range(1, STEPS + 1)), "the relay kept the batches of the outage and wrote them"
        assert "database unreachable" in worker_log and "reachable again" in worker_log, worker_log[-3000:]

        chart = client.get(f"/api/pocs/{poc['id']}/metrics", params={"names": "train/loss"})
        assert chart.status_code == 200
        assert chart.json()["runs"][run_id]["train/loss"]["x"] == list(range(1, STEPS + 1))
