"""Live events of a PoC: ``poc_events`` rows (the ordered, replayable log) and the Redis wake-up.

Writers add the row in the same transaction as the change it announces, commit, then ``announce`` the
new ``seq`` on the channel ``{redis_prefix}poc:{poc_id}`` (when Redis is configured). The SSE endpoint
replays rows with ``seq`` greater than the client's ``Last-Event-ID`` and is woken by those messages (or
polls the table every ``events_poll_s`` without Redis). A lost message only delays delivery: the row is
the truth, the message just says "look now".
"""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import PocEvent, Run
from backend.ingest import add_event

log = logging.getLogger(__name__)


def channel(settings: Settings, poc_id: str) -> str:
    """The Redis pub/sub channel that announces new events of ``poc_id``."""
    return f"{settings.redis_prefix}poc:{poc_id}"


def run_payload(run: Run) -> dict[str, Any]:
    """A run as the ``run`` event carries it: the RunPublic body, JSON-ready."""
    from backend.api.schemas import RunPublic

    return RunPublic.model_validate(run).model_dump(mode="json")


def add_run_event(session: Session, run: Run) -> None:
    """Append a ``run`` event for ``run``'s current state to the session's transaction."""
    session.flush()  # the run row (and its defaults) first
    # Through the same writer as the worker's batches: on Postgres it locks the PoC row, so an API event
    # and a worker batch can never become visible out of seq order (an SSE reader would skip one).
    add_event(session, run.poc_id, run.id, "run", run_payload(run))


def announce(settings: Settings, poc_id: str, seq: int | None = None) -> None:
    """Wake the SSE streams of ``poc_id`` after a commit (best effort; no-op without Redis)."""
    if not settings.redis_url:
        return
    try:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.publish(channel(settings, poc_id), "" if seq is None else str(seq))
        finally:
            client.close()
    except Exception as exc:  # streams still catch up by polling; never fail the caller
        log.warning("event announcement for PoC %s failed: %s", poc_id, exc)


def events_after(session: Session, poc_id: str, after_seq: int, limit: int = 500) -> list[PocEvent]:
    """Events of ``poc_id`` with ``seq > after_seq``, oldest first."""
    return list(session.scalars(
        sa.select(PocEvent).where(PocEvent.poc_id == poc_id, PocEvent.seq > after_seq)
        .order_by(PocEvent.seq).limit(limit)
    ))
