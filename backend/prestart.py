"""Wait for the database, then migrate it to the newest schema: ``python -m backend.prestart``.

Run before the API and workers start (the app never creates tables itself).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config

from alembic import command
from backend.core.config import REPO_ROOT, get_settings

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


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    wait_for_database(settings.database_url, settings.database_wait_s)
    migrate(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log.info("database migrated")
    from backend.auth.bootstrap import ensure_admin
    from backend.db.session import make_sessionmaker

    with make_sessionmaker()() as session:
        if ensure_admin(session, settings):
            log.info("first administrator %s created", settings.admin_email)


if __name__ == "__main__":
    main()
