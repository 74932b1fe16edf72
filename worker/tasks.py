"""Celery tasks: ``run_training`` (one run in a child process) and ``sweep_stale_runs`` (lost workers).

The worker also runs :func:`sweep_stale_runs` every ``sweep_every_s`` seconds in a thread of its main
process (started when the worker is ready), and the API calls it at startup, so a run whose worker was
killed mid-run is failed within ``stale_after_s`` once any worker or API process is alive.

The same thread runs :func:`requeue_lost_runs`: a Redis broker without persistence forgets every queued
message when it restarts, while the database still says ``queued``; the runs are then sent again.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid

import sqlalchemy as sa
from celery import signals

from backend.core.config import Settings, get_settings
from backend.db.models import Run
from worker.celery_app import app, queue_name
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


def broker_mark_key(settings: Settings) -> str:
    """The Redis key whose absence means the broker lost its data (see :func:`requeue_lost_runs`)."""
    return f"{settings.redis_prefix}broker-mark"


def requeue_lost_runs(settings: Settings | None = None) -> int:
    """Send every ``queued`` run again when the Redis broker lost its queues; return how many were sent.

    Loss is detected by a marker key this function sets in the broker: a Redis restart without
    persistence removes it together with the queued messages. The database is the truth, so every run
    still ``queued`` there gets a fresh task id (committed first) and a new message. A message that was
    not lost after all (sent in the meantime, or reserved by a busy worker) then carries the old task id
    and is skipped when its worker claims the run, so each run is still trained once. The filesystem
    broker keeps its messages on disk and is left alone.
    """
    settings = settings or get_settings()
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return 0
    import redis

    client = redis.Redis.from_url(settings.broker_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        if client.exists(broker_mark_key(settings)):
            return 0
        sent = 0
        sessions = session_factory(settings.database_url)
        with sessions() as session:
            run_ids = session.scalars(sa.select(Run.id).where(Run.state == "queued")
                                      .order_by(Run.created_at)).all()
        for run_id in run_ids:
            task_id = str(uuid.uuid4())
            with sessions() as session, session.begin():
                run = session.get(Run, run_id, with_for_update=True)
                if run is None or run.state != "queued":
                    continue  # claimed or cancelled meanwhile
                run.celery_task_id = task_id
                queue = run.queue
            run_training.apply_async(args=[run_id], queue=queue_name(queue, settings), task_id=task_id)
            sent += 1
        # Set only after every run was sent: a failure above leaves the marker absent, so the next
        # sweep sends again (duplicates are skipped at claim).
        client.set(broker_mark_key(settings), utcnow().isoformat())
        if sent:
            log.warning("the broker had lost its queues (marker %s absent): %d queued runs sent again",
                        broker_mark_key(settings), sent)
        return sent
    finally:
        client.close()


def _sweep_forever(stop: threading.Event, settings: Settings) -> None:
    while not stop.wait(settings.sweep_every_s):
        try:
            sweep_stale_runs(settings)
        except Exception:  # keep sweeping: a database blip must not end the thread
            log.exception("stale-run sweep failed")
        try:
            requeue_lost_runs(settings)
        except Exception:  # the broker may be down right now; the next round tries again
            log.exception("re-sending queued runs failed")


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
