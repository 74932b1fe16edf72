"""Start-up work, done once before the API and workers serve: ``python -m backend.prestart``.

Waits for the database, migrates it to the newest schema (the app never creates tables itself), registers
the built-in datasets of this machine and creates the first administrator. Requests never do any of it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from backend.auth.bootstrap import ensure_admin
from backend.core.config import REPO_ROOT, get_settings
from backend.datasets import register_builtin_datasets
from backend.db.session import make_sessionmaker

log = logging.getLogger("zopoc.prestart")


def alembic_config(url: str | None = None) -> Config:
    """The Alembic config of this repository, pointed at ``url`` (default: the configured database)."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    config.attributes["url"] = url or get_settings().database_url
    config.attributes["configure_logger"] = False
    return config


def wait_for_database(url: str, timeout_s: float) -> None:
    """Retry a trivial query until the database answers or ``timeout_s`` passes (then re-raise)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
                return
            except sa.exc.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise
                log.warning("database not ready yet (%s); retrying", exc.__class__.__name__)
                time.sleep(1.0)
    finally:
        engine.dispose()


def migrate(url: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def prepare_database(url: str | None = None) -> None:
    """Migrate the database at ``url`` and register the built-in datasets (idempotent)."""
    migrate(url)
    with make_sessionmaker(url)() as session:
        added = register_builtin_datasets(session)
    if added:
        log.info("built-in datasets registered: %s", ", ".join(added))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    wait_for_database(settings.database_url, settings.database_wait_s)
    prepare_database(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log.info("database migrated")
    with make_sessionmaker()() as session:
        if ensure_admin(session, settings):
            log.info("first administrator %s created", settings.admin_email)


if __name__ == "__main__":
    main()
