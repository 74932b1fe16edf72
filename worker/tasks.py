"""Celery tasks: ``run_training`` (one run in a child process) and ``sweep_stale_runs`` (lost workers).

The worker also runs :func:`sweep_stale_runs` every ``sweep_every_s`` seconds in a thread of its main
process (started when the worker is ready), and the API calls it at startup, so a run whose worker was
killed mid-run is failed within ``stale_after_s`` once any worker or API process is alive.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

import sqlalchemy as sa
from celery import signals

from backend.core.config import Settings, get_settings
from backend.db.models import Run
from worker.celery_app import app
from worker.execution.db import publish, session_factory
from worker.execution.runner import execute_run, record_run_event, utcnow

log = logging.getLogger(__name__)

LOST_WORKER_REASON = ("the worker running this run stopped responding (lost worker): no heartbeat for "
                      "{seconds:.0f} s. The machine or the worker process may have been stopped; "
                      "retry the run.")


@app.task(name="zopoc.run_training", bind=True, ignore_result=True)
def run_training(self, run_id: str) -> str | None:
    """Train run ``run_id`` in a child process; returns quietly when the run no longer applies."""
    return execute_run(run_id, worker_name=self.request.hostname, task_id=self.request.id)


def sweep_stale_runs(settings: Settings | None = None) -> int:
    """Fail every ``running`` run whose heartbeat is older than ``stale_after_s``; return how many."""
    settings = settings or get_settings()
    cutoff = utcnow() - dt.timedelta(seconds=settings.stale_after_s)
    stale = sa.or_(Run.heartbeat_at < cutoff, sa.and_(Run.heartbeat_at.is_(None), Run.started_at < cutoff))
    events: list[tuple[str, int]] = []
    with session_factory(settings.database_url)() as session, session.begin():
        runs = session.scalars(
            sa.select(Run).where(Run.state == "running", stale).with_for_update(skip_locked=True)
        ).all()
        for run in runs:
            run.state, run.finished_at = "failed", utcnow()
            run.error = LOST_WORKER_REASON.format(seconds=settings.stale_after_s)
            events.append((run.poc_id, record_run_event(session, run)))
            log.warning("run %s failed: its worker %s stopped sending heartbeats", run.id, run.worker)
    for poc_id, seq in events:
        publish(settings, poc_id, seq)
    return len(events)


@app.task(name="zopoc.sweep_stale_runs", ignore_result=True)
def sweep_stale_runs_task() -> int:
    """The sweep as a task, for deployments that prefer celery beat to the worker's own thread."""
    return sweep_stale_runs()


def _sweep_forever(stop: threading.Event, settings: Settings) -> None:
    while not stop.wait(settings.sweep_every_s):
        try:
            sweep_stale_runs(settings)
        except Exception:  # keep sweeping: a database blip must not end the thread
            log.exception("stale-run sweep failed")


_sweeper_stop = threading.Event()


@signals.worker_ready.connect
def _start_sweeper(**_kwargs) -> None:
    settings = get_settings()
    thread = threading.Thread(target=_sweep_forever, args=(_sweeper_stop, settings),
                              name="zopoc-stale-run-sweep", daemon=True)
    thread.start()


@signals.worker_shutdown.connect
def _stop_sweeper(**_kwargs) -> None:
    _sweeper_stop.set()
