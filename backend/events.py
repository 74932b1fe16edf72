"""Live events of a PoC: ``poc_events`` rows (the ordered, replayable log) and the Redis wake-up.

Writers add the row in the same transaction as the change it announces, commit, then ``publish`` the
new ``seq`` on the channel ``{redis_prefix}poc:{poc_id}`` (when Redis is configured). The SSE endpoint
replays rows with ``seq`` greater than the client's ``Last-Event-ID`` and is woken by those messages (or
polls the table every ``events_poll_s`` without Redis). A lost message only delays delivery: the row is
the truth, the message just says "look now".

Event kinds: ``run`` (a run's ``RunPublic``), ``poc`` (``{"id", "state"}`` when the PoC's stored state
changes), ``metric`` (a batch of one run's points, ``backend.ingest``) and ``resumed`` (a run that lost its
worker or training process went back to the queue, ``backend.resume``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import PocEvent, Run
from backend.ingest import add_event
from backend.schemas import RunPublic
from backend.states import refresh_poc_state

log = logging.getLogger(__name__)

# One Redis client per (process, URL): a forked worker must not share its parent's socket.
_redis_clients: dict[tuple[int, str], Any] = {}


def channel(settings: Settings, poc_id: str) -> str:
    """The Redis pub/sub channel that announces new events of ``poc_id``."""
    return f"{settings.redis_prefix}poc:{poc_id}"


def run_payload(run: Run) -> dict[str, Any]:
    """A run as the ``run`` event carries it: the RunPublic body, JSON-ready."""
    return RunPublic.model_validate(run).model_dump(mode="json")


def record_run_event(session: Session, run: Run) -> int:
    """Append a ``run`` event for ``run``'s current state (and a ``poc`` event when the PoC's state changed)
    to the session's transaction; return the seq of the last event added.

    Through the same writer as the worker's batches: on Postgres it locks the PoC row, so an API event
    and a worker batch can never become visible out of seq order (an SSE reader would skip one).
    """
    session.flush()  # the run row (and its defaults) first
    seq = add_event(session, run.poc_id, run.id, "run", run_payload(run))
    state = refresh_poc_state(session, run.poc_id)
    if state is not None:
        seq = add_event(session, run.poc_id, None, "poc", {"id": run.poc_id, "state": state})
    return seq


def publish(settings: Settings, poc_id: str | None, seq: int | None = None) -> None:
    """Wake the SSE streams of ``poc_id`` after a commit (best effort; no-op without Redis).

    The event row is already committed: a lost notification only delays the stream until its next poll.
    """
    if not settings.redis_url or poc_id is None:
        return
    key = (os.getpid(), settings.redis_url)
    try:
        client = _redis_clients.get(key)
        if client is None:
            import redis

            client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            _redis_clients[key] = client
        client.publish(channel(settings, poc_id), "" if seq is None else str(seq))
    except Exception as exc:  # streams still catch up by polling; never fail the caller
        log.warning("event announcement for PoC %s failed: %s", poc_id, exc)


def events_after(session: Session, poc_id: str, after_seq: int, limit: int = 500) -> list[PocEvent]:
    """Events of ``poc_id`` with ``seq > after_seq``, oldest first."""
    return list(
        session.scalars(
            sa.select(PocEvent)
            .where(PocEvent.poc_id == poc_id, PocEvent.seq > after_seq)
            .order_by(PocEvent.seq)
            .limit(limit)
        )
    )
