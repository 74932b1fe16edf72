"""Engine and sessions. One engine per database URL; one session per request (see backend.api.deps)."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import get_settings


def sqlite_pragmas(dbapi_connection, _record) -> None:
    """On every new SQLite connection (API and worker alike)."""
    # Foreign keys (ON DELETE CASCADE) are off by default in SQLite; WAL lets the API read while a
    # worker writes; busy_timeout waits for a writer instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def get_engine(url: str | None = None) -> sa.Engine:
    """The engine for ``url`` (default: the configured database), created once per URL."""
    return _engine_for(url or get_settings().database_url)


@functools.lru_cache(maxsize=8)
def _engine_for(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        sa.event.listen(engine, "connect", sqlite_pragmas)
        return engine
    settings = get_settings()
    return sa.create_engine(url, pool_pre_ping=settings.db_pool_pre_ping, pool_size=settings.db_pool_size,
                            max_overflow=settings.db_max_overflow)


def make_sessionmaker(url: str | None = None) -> sessionmaker[Session]:
    """A session factory bound to the engine of ``url``; objects stay readable after commit."""
    return sessionmaker(get_engine(url), expire_on_commit=False)


def session_scope(url: str | None = None) -> Iterator[Session]:
    """Yield one session and close it (for FastAPI dependencies and scripts)."""
    with make_sessionmaker(url)() as session:
        yield session
