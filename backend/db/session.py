"""Engines and sessions, for the API (one session per request, backend.api.deps) and the workers alike.

One engine per (process, database URL): a Celery prefork worker forks its pool processes after its main
process may already have connected (the sweeps run there), and a pooled connection must never be shared
across a fork.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import get_settings

# Compact JSON for JSON columns (a batch of points is most of what the relay writes); NaN is refused.
compact_json = functools.partial(json.dumps, separators=(",", ":"), allow_nan=False)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """On every new SQLite connection (API and worker alike)."""
    # Foreign keys (ON DELETE CASCADE) are off by default in SQLite; WAL lets the API read while a
    # worker writes; busy_timeout waits for a writer instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def get_engine(url: str | None = None) -> sa.Engine:
    """The engine for ``url`` (default: the configured database), created once per process and URL."""
    return _engine_for(os.getpid(), url or get_settings().database_url)


@functools.lru_cache(maxsize=16)
def _engine_for(_pid: int, url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, json_serializer=compact_json
        )
        sa.event.listen(engine, "connect", sqlite_pragmas)
        return engine
    settings = get_settings()
    return sa.create_engine(
        url,
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        json_serializer=compact_json,
    )


def make_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """A session factory bound to the engine of ``url``; objects stay readable after commit."""
    return sessionmaker(get_engine(url), expire_on_commit=False)


def session_scope(url: str | None = None) -> Iterator[Session]:
    """Yield one session and close it (for FastAPI dependencies and scripts)."""
    with make_sessionmaker(url)() as session:
        yield session
