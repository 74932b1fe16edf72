"""Fixtures of the service tests: a fresh database of the session's kind, and rows to run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from backend.core.config import Settings
from backend.db.models import Dataset, Poc, Run
from tests.support.stack import fresh_database, live_stack_session, stack_kind  # noqa: F401

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def kind() -> str:
    return stack_kind()


@pytest.fixture(scope="session")
def database_url(kind: str, tmp_path_factory) -> Iterator[str]:
    """A migrated database of the session's kind (Postgres for services, SQLite for embedded)."""
    with fresh_database(kind, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for in-process runs: fast relay, no Redis (the live-stack tests cover pub/sub)."""
    env = {
        "ZOPOC_DATABASE_URL": database_url,
        "ZOPOC_DATA_DIR": str(tmp_path / "data"),
        "ZOPOC_HEARTBEAT_S": "0.5",
        "ZOPOC_RELAY_FLUSH_S": "0.2",
        "ZOPOC_CANCEL_GRACE_S": "2",
        "ZOPOC_TRAIN_THREADS": "1",
    }
    with mock.patch.dict(os.environ, env):
        return Settings(_env_file=None)


def add_run(
    sessions: sessionmaker[Session],
    *,
    method: str = "lozo",
    model: str = "tiny-bert",
    steps: int | None = 6,
    **poc_settings,
) -> Run:
    """Insert a built-in dataset row, a PoC and one queued run of it (as the API does); return the run."""
    with sessions() as session, session.begin():
        dataset = Dataset(
            name="demo-sentiment",
            builtin=True,
            path="demo-sentiment",
            n_rows=200,
            labels=["negative", "positive"],
        )
        poc = Poc(
            name="service test",
            model=model,
            dataset=dataset,
            settings={
                "steps": steps,
                "max_minutes": None,
                "batch_size": 4,
                "seed": 0,
                "k_shot": 4,
                "eval_every": 3,
                "device": "cpu",
            }
            | poc_settings,
        )
        if hasattr(Poc, "workspace_id"):  # with accounts every PoC belongs to a workspace
            from backend.db.models import Workspace

            workspace = Workspace(name="service tests")
            session.add(workspace)
            session.flush()
            poc.workspace_id = workspace.id
        run = Run(
            poc=poc, method=method, hyperparams={"zo_eps": 1e-3} if method != "adamw" else {}, queue="cpu"
        )
        session.add_all([dataset, poc, run])
    return run


@pytest.fixture
def make_run(sessions) -> Callable[..., Run]:
    return lambda **kwargs: add_run(sessions, **kwargs)


FAKE_ENGINE = [sys.executable, str(HERE / "fake_engine.py")]
