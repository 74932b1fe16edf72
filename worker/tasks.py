"""Celery tasks: ``run_training`` (one run in a child process) and the sweeps (``backend.sweep``).

The worker runs the sweeps every ``sweep_every_s`` seconds in a thread of its main process (started when
the worker is ready): runs whose worker vanished are failed, and queued runs a restarted Redis broker
forgot are sent again.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery import signals

from backend.core.config import Settings, get_settings
from backend.dispatch import RUN_TASK, SWEEP_TASK
from backend.sweep import sweep_once, sweep_stale_runs
from worker.celery_app import app
from worker.execution.runner import execute_run

log = logging.getLogger(__name__)


@app.task(name=RUN_TASK, bind=True, ignore_result=True)
def run_training(self: Any, run_id: str) -> str | None:
    """Train run ``run_id`` in a child process; returns quietly when the run no longer applies."""
    return execute_run(run_id, worker_name=self.request.hostname, task_id=self.request.id)


@app.task(name=SWEEP_TASK, ignore_result=True)
def sweep_stale_runs_task() -> int:
    """The sweep as a task, for deployments that prefer celery beat to the worker's own thread."""
    return sweep_stale_runs()


def _sweep_forever(stop: threading.Event, settings: Settings) -> None:
    while not stop.wait(settings.sweep_every_s):
        sweep_once(settings)


_sweeper_stop = threading.Event()


@signals.worker_ready.connect
def _start_sweeper(**_kwargs: Any) -> None:
    settings = get_settings()
    thread = threading.Thread(
        target=_sweep_forever, args=(_sweeper_stop, settings), name="zopoc-stale-run-sweep", daemon=True
    )
    thread.start()


@signals.worker_shutdown.connect
def _stop_sweeper(**_kwargs: Any) -> None:
    _sweeper_stop.set()
