"""Alembic: an empty database upgrades to the models' schema and downgrades to nothing (both dialects)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from alembic import command
from backend.db.models import Base
from backend.prestart import alembic_config, migrate
from tests.support.stack import create_postgres_database, drop_postgres_database

TABLES = {
    "datasets",
    "pocs",
    "runs",
    "metric_points",
    "metric_rollups",
    "eval_results",
    "poc_events",
    "reports",
    "users",
    "workspaces",
    "memberships",
    "auth_sessions",
    "api_tokens",
    "invites",
    "workers",
    "zo_steps",
    "gpu_prices",
}


@pytest.fixture
def empty_database_url(test_stack, tmp_path):
    if test_stack == "services":
        url = create_postgres_database(prefix="zopoc_migrate")
        yield url
        drop_postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'empty.db'}"


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_then_downgrade(empty_database_url):
    url = empty_database_url
    assert _tables(url) == set()
    migrate(url)
    assert _tables(url) == TABLES | {"alembic_version"}

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            # The migrated schema is exactly what the models describe (no drift either way).
            assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
            indexes = {i["name"] for i in sa.inspect(connection).get_indexes("poc_events")}
            assert "ix_poc_events_poc_id_seq" in indexes
            pk = sa.inspect(connection).get_pk_constraint("metric_rollups")["constrained_columns"]
            assert pk == ["run_id", "name", "level", "bucket"]
    finally:
        engine.dispose()

    command.downgrade(alembic_config(url), "base")
    assert _tables(url) == {"alembic_version"}
    migrate(url)  # and up again from there
    assert _tables(url) == TABLES | {"alembic_version"}


def test_prestart_migrates_an_empty_database(empty_database_url, tmp_path):
    # Exactly what scripts/run.sh and the containers run before the API starts.
    import os
    import subprocess
    import sys

    from backend.core.config import REPO_ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOPOC_")}
    env |= {"ZOPOC_DATABASE_URL": empty_database_url, "ZOPOC_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "backend.prestart"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert _tables(empty_database_url) == TABLES | {"alembic_version"}
    assert (tmp_path / "data").is_dir()


def test_prestart_gives_up_on_a_database_that_never_answers():
    from backend.prestart import wait_for_database

    with pytest.raises(sa.exc.OperationalError):
        wait_for_database("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=1", timeout_s=1.5)
