"""Database sessions and Redis notifications for the worker side, safe across Celery's forks.

A prefork worker forks its pool processes after the main process may already have connected (the stale-run
sweep runs there); a pooled connection must never be shared across a fork, so engines are kept per
process id. Redis clients likewise.
"""

from __future__ import annotations

import functools
import json
import logging
import os

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.db.session import sqlite_pragmas

log = logging.getLogger(__name__)

# Compact JSON for the event payloads (a batch of points is most of what the relay writes).
_compact_json = functools.partial(json.dumps, separators=(",", ":"), allow_nan=False)

_factories: dict[tuple[int, str], sessionmaker[Session]] = {}
_redis_clients: dict[tuple[int, str], object] = {}


def session_factory(url: str) -> sessionmaker[Session]:
    """A session factory for ``url`` owned by the current process."""
    key = (os.getpid(), url)
    factory = _factories.get(key)
    if factory is None:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10},
                                      json_serializer=_compact_json)
            sa.event.listen(engine, "connect", sqlite_pragmas)  # as the API does
        else:
            engine = sa.create_engine(url, pool_pre_ping=True, pool_size=2, max_overflow=2,
                                      json_serializer=_compact_json)
        factory = sessionmaker(engine, expire_on_commit=False)
        _factories[key] = factory
    return factory


def publish(settings: Settings, poc_id: str | None, seq: int) -> None:
    """PUBLISH ``seq`` on ``{redis_prefix}poc:{poc_id}`` (when Redis is configured; best effort).

    The event row is already committed: a lost notification only delays the SSE stream until its next
    poll, it never loses the event.
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
        client.publish(f"{settings.redis_prefix}poc:{poc_id}", str(seq))
    except Exception as error:
        log.warning("event %s of poc %s not published: %s", seq, poc_id, error)
