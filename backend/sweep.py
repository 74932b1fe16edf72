"""Runs whose worker vanished, and queued runs the broker forgot: found from the database and put right.

Both run in every worker (a thread of its main process, every ``sweep_every_s``) and in the API process
(``backend.api.sweeper``), so a run whose worker was killed mid-run is noticed within ``stale_after_s`` once
any worker or API process is alive: it goes back to the queue to continue from its step log or checkpoint
(``backend.resume``), or is failed once it was resumed ``max_resumes`` times. Sweeps running at once are
safe: the stale rows are taken with ``FOR UPDATE SKIP LOCKED`` and each run is handled once.

Staleness is per run, never per worker: a worker of several slots (``ZOPOC_WORKER_SLOTS``) has several runs
naming it, each keeping its own heartbeat from the pool process that trains it, so when the worker dies all
of them go stale and each is resumed on its own, and when only one run's training process dies the others
on that worker carry on.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

import sqlalchemy as sa

from backend.core.config import Settings, get_settings
from backend.db.models import Run, utcnow
from backend.db.session import make_sessionmaker
from backend.dispatch import enqueue_run
from backend.resume import Outcome, resume_or_fail, send_resumed
from common.reasons import describe

log = logging.getLogger(__name__)


def sweep_stale_runs(settings: Settings | None = None) -> int:
    """Resume (or, past ``max_resumes``, fail) every ``running`` run whose heartbeat is older than
    ``stale_after_s``; return how many were handled."""
    settings = settings or get_settings()
    cutoff = utcnow() - dt.timedelta(seconds=settings.stale_after_s)
    stale = sa.or_(Run.heartbeat_at < cutoff, sa.and_(Run.heartbeat_at.is_(None), Run.started_at < cutoff))
    handled: list[tuple[str, str, str, Outcome]] = []
    with make_sessionmaker(settings.database_url)() as session, session.begin():
        runs = session.scalars(
            sa.select(Run).where(Run.state == "running", stale).with_for_update(skip_locked=True)
        ).all()
        for run in runs:
            log.warning("run %s: its worker %s stopped sending heartbeats", run.id, run.worker)
            detail = describe("lost_worker", seconds=f"{settings.stale_after_s:.0f}")
            outcome = resume_or_fail(session, run, settings, "lost_worker", detail)
            handled.append((run.id, run.poc_id, run.queue, outcome))
    for run_id, poc_id, queue, outcome in handled:
        send_resumed(run_id, poc_id, queue, outcome, settings)
    return len(handled)


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
        sessions = make_sessionmaker(settings.database_url)
        with sessions() as session:
            run_ids = session.scalars(
                sa.select(Run.id).where(Run.state == "queued").order_by(Run.created_at)
            ).all()
        for run_id in run_ids:
            task_id = str(uuid.uuid4())
            with sessions() as session, session.begin():
                run = session.get(Run, run_id, with_for_update=True)
                if run is None or run.state != "queued":
                    continue  # claimed or cancelled meanwhile
                run.celery_task_id = task_id
                queue = run.queue
            enqueue_run(run_id, queue, settings, task_id=task_id)
            sent += 1
        # Set only after every run was sent: a failure above leaves the marker absent, so the next
        # sweep sends again (duplicates are skipped at claim).
        client.set(broker_mark_key(settings), utcnow().isoformat())
        if sent:
            log.warning(
                "the broker had lost its queues (marker %s absent): %d queued runs sent again",
                broker_mark_key(settings),
                sent,
            )
        return sent
    finally:
        client.close()


def sweep_once(settings: Settings) -> None:
    """One round of both sweeps; a failure of either is logged and the next round tries again."""
    try:
        sweep_stale_runs(settings)
    except Exception:  # keep sweeping: a database blip must not end the thread
        log.exception("stale-run sweep failed")
    try:
        requeue_lost_runs(settings)
    except Exception:  # the broker may be down right now; the next round tries again
        log.exception("re-sending queued runs failed")
