"""Database fixtures of the API tests: one fresh, migrated database per test package.

Package-scoped (the package of the conftest.py that imports them), so the environment they set and the
database they create are gone before the next test package runs in the same pytest process.

``ZOPOC_TEST_STACK=services`` (the default): a uniquely named Postgres database (dropped afterwards),
Redis as broker and pub/sub under a unique key prefix (those keys deleted afterwards).
``ZOPOC_TEST_STACK=embedded``: SQLite and Celery's filesystem broker in a temporary folder, no Redis.

The database is created and migrated by ``tests.support.stack.fresh_database`` (Alembic, as an operator
runs it), so the API tests and the service tests build their databases the same way. Between tests,
``clean_tables`` empties every table of the session's own database.

Import the fixtures by name from a package's conftest.py (see tests/api/conftest.py).
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings, get_settings
from backend.datasets import register_builtin_datasets
from backend.db.models import Base
from tests.support.stack import delete_redis_prefix, fresh_database, redis_url, stack_kind

__all__ = [
    "api_env",
    "api_env_extra",
    "clean_tables",
    "client",
    "database_url",
    "login_as",
    "owner",
    "sessions",
    "settings",
    "test_stack",
    "workspace_id",
]


@pytest.fixture(scope="session")
def test_stack() -> str:
    """ "services" or "embedded" (from ZOPOC_TEST_STACK)."""
    return stack_kind()


@pytest.fixture(scope="package")
def database_url(test_stack: str, tmp_path_factory) -> Iterator[str]:
    """The URL of this package's migrated database (dropped at the end)."""
    with fresh_database(test_stack, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="package")
def api_env_extra() -> dict[str, str]:
    """More ZOPOC_* settings for a package's app (override in a conftest.py, e.g. small limits)."""
    return {}


@pytest.fixture(scope="package")
def api_env(
    test_stack: str, database_url: str, tmp_path_factory, api_env_extra: dict[str, str]
) -> Iterator[dict[str, str]]:
    """The ZOPOC_* environment of the in-process app, set for the whole package (and restored after)."""
    folder = tmp_path_factory.mktemp("api")
    token = secrets.token_hex(4)
    env = {
        "ZOPOC_ENVIRONMENT": "test",
        "ZOPOC_SECRET_KEY": secrets.token_urlsafe(32),
        "ZOPOC_DATABASE_URL": database_url,
        "ZOPOC_DATA_DIR": str(folder / "data"),
        "ZOPOC_FRONTEND_DIST": str(folder / "no-frontend"),
        "ZOPOC_REDIS_PREFIX": f"zopoc-apitest-{token}:",
        "ZOPOC_QUEUE_PREFIX": f"a{token}-",
        "ZOPOC_EVENTS_POLL_S": "0.1",
    }
    if test_stack == "services":
        env |= {"ZOPOC_BROKER_URL": redis_url(), "ZOPOC_REDIS_URL": redis_url()}
    else:
        env |= {"ZOPOC_BROKER_URL": "filesystem://", "ZOPOC_BROKER_DIR": str(folder / "broker")}
    env |= api_env_extra
    with mock.patch.dict(os.environ, env):
        get_settings.cache_clear()
        yield env
    get_settings.cache_clear()
    if test_stack == "services":
        delete_redis_prefix(redis_url(), env["ZOPOC_REDIS_PREFIX"])


@pytest.fixture
def settings(api_env: dict[str, str]) -> Settings:
    """The settings the app sees in this session."""
    return get_settings()


@pytest.fixture(scope="package")
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on the test database, for arranging rows and checking what the API wrote."""
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture(autouse=True)
def clean_tables(request) -> Iterator[None]:
    """Before a test that uses the database: empty every table, then register the built-in datasets again,
    leaving the database as start-up (``backend.prestart``) leaves it."""
    if "database_url" not in request.fixturenames:
        yield
        return
    engine = sa.create_engine(request.getfixturevalue("database_url"), poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    with Session(engine) as session:
        register_builtin_datasets(session)
    engine.dispose()
    yield


@dataclass
class Login:
    """A user with a workspace role, and the API token a client sends for them."""

    user_id: str
    email: str
    workspace_id: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@functools.cache
def _unknown_password_hash() -> str:
    """One argon2 hash of a random, forgotten password: test users sign in with API tokens, and hashing
    once per process instead of once per user saves ~0.5 s per test on a busy CPU."""
    from backend.auth.secrets import hash_password

    return hash_password(secrets.token_urlsafe(16))


def login_as(
    sessions: sessionmaker[Session],
    role: str,
    workspace_id: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
) -> Login:
    """A new user with ``role`` in ``workspace_id`` (a new workspace when None) and a fresh API token."""
    from backend.auth import accounts
    from backend.db.models import User

    with sessions() as session:
        user = User(
            email=email or f"{role}-{secrets.token_hex(4)}@zopoc.test",
            name="",
            password_hash=_unknown_password_hash(),
            is_admin=is_admin,
        )
        session.add(user)
        session.commit()
        if workspace_id is None:
            workspace_id = accounts.create_workspace(session, f"workspace of {user.email}").id
        accounts.set_role(session, workspace_id, user.id, role)
        token = accounts.create_api_token(session, user, "tests").token
        return Login(user.id, user.email, workspace_id, role, token)


@pytest.fixture
def owner(api_env: dict[str, str], sessions: sessionmaker[Session]) -> Login:
    """The owner of a fresh workspace: the user the ``client`` fixture acts as."""
    return login_as(sessions, "owner")


@pytest.fixture
def workspace_id(owner: Login) -> str:
    """The workspace the ``client`` fixture works in (for rows a test inserts itself)."""
    return owner.workspace_id


@pytest.fixture
def client(api_env: dict[str, str], database_url: str, owner: Login):
    """A TestClient on a freshly built app (real database, real broker of the session's stack), signed in
    as ``owner`` with an API token (Authorization: Bearer), so unsafe methods need no CSRF token."""
    from fastapi.testclient import TestClient

    from backend.api.main import create_app

    with TestClient(create_app(), headers=owner.headers) as test_client:
        yield test_client


def count_rows(sessions: sessionmaker[Session], model) -> int:
    """Rows in ``model``'s table."""
    with sessions() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (empty when it does not exist)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
