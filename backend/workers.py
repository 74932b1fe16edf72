"""Which workers are online, which device kinds they serve and how many runs each trains at once (the
``workers`` table).

Workers announce themselves when ready and every ``worker_presence_s`` seconds (``worker.tasks``), and
withdraw when they stop. The API reads it to refuse a launch that no worker would ever pick up: without a
GPU worker, a GPU run would otherwise wait in its queue for ever with nothing to say why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import Worker, utcnow
from backend.dispatch import DEVICE_KINDS, queue_name
from backend.errors import Conflict

# A worker missing this many presence intervals in a row is taken as gone.
MISSED_INTERVALS = 3


def announce(session: Session, name: str, queues: Iterable[str], slots: int = 1) -> None:
    """Record (or refresh) worker ``name`` consuming ``queues`` (full queue names) with ``slots`` runs at
    once, as seen now."""
    now = utcnow()
    worker = session.get(Worker, name)
    if worker is None:
        worker = Worker(name=name, started_at=now)
        session.add(worker)
    worker.queues, worker.slots, worker.last_seen_at = sorted(set(queues)), slots, now
    session.commit()


def withdraw(session: Session, name: str) -> None:
    """Forget worker ``name`` (it is stopping)."""
    session.execute(sa.delete(Worker).where(Worker.name == name))
    session.commit()


def live_workers(session: Session, settings: Settings, now: dt.datetime | None = None) -> list[Worker]:
    """The workers seen within the last ``MISSED_INTERVALS`` presence intervals, by name."""
    cutoff = (now or utcnow()) - dt.timedelta(seconds=MISSED_INTERVALS * settings.worker_presence_s)
    query = sa.select(Worker).where(Worker.last_seen_at >= cutoff).order_by(Worker.name)
    return list(session.scalars(query))


def device_kinds_of(worker: Worker, settings: Settings) -> list[str]:
    """The device kinds whose queues (under this deployment's prefix) ``worker`` consumes."""
    return [kind for kind in DEVICE_KINDS if queue_name(kind, settings) in worker.queues]


def served_kinds(session: Session, settings: Settings, workers: list[Worker] | None = None) -> dict[str, int]:
    """For each device kind, how many live workers consume its queue."""
    workers = live_workers(session, settings) if workers is None else workers
    return {
        kind: sum(kind in device_kinds_of(worker, settings) for worker in workers) for kind in DEVICE_KINDS
    }


def served_slots(settings: Settings, workers: list[Worker]) -> dict[str, int]:
    """For each device kind, how many runs the live ``workers`` consuming its queue train at once."""
    return {
        kind: sum(worker.slots for worker in workers if kind in device_kinds_of(worker, settings))
        for kind in DEVICE_KINDS
    }


def refuse_unserved(session: Session, settings: Settings, kind: str) -> None:
    """Conflict when no live worker consumes ``kind``'s queue: the run would wait with nothing to say why."""
    if served_kinds(session, settings).get(kind, 0) == 0:
        raise Conflict(
            f"no {kind.upper()} worker is online: a run on {kind.upper()} would wait in its queue until one "
            f"starts. Choose another device, or start a worker that consumes the {kind} queue "
            f"(ZOPOC_WORKER_QUEUES={kind}).",
            code="no_worker_for_device",
            params={"device": kind},
        )
