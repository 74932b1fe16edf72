"""The live zopoc stack for integration and browser tests: real database, broker, API server and worker.

Usage::

    from tests.support.stack import live_stack

    with live_stack() as stack:            # kind from ZOPOC_TEST_STACK ("services" | "embedded")
        httpx.get(stack.base_url + "/api/health")
        stack.env                           # the ZOPOC_* environment the API and worker run with
        stack.client()                      # httpx.Client signed in as the first admin (if accounts exist)
        stack.admin_email, stack.admin_password   # to sign in through the browser
        stack.session()                     # a SQLAlchemy session on the stack's database
        stack.kill_worker()                 # SIGKILL the worker (its whole process group)
        stack.start_worker()                # start a (new) worker
        stack.worker_log()                  # what the worker printed so far (for assertion messages)

or the session-scoped pytest fixture ``live_stack_session`` (import it into your conftest.py:
``from tests.support.stack import live_stack_session  # noqa: F401``).

``kind="services"``: a fresh uniquely named Postgres database (``alembic upgrade head``), Redis with a
unique key prefix, unique Celery queue names. ``kind="embedded"``: SQLite and Celery's filesystem broker in a
temporary folder, no Redis. Both start ``uvicorn backend.api.main:app`` on a free port and a Celery worker
subprocess (one slot, ``ZOPOC_WORKER_SLOTS=1``, unless ``extra_env`` says otherwise), wait until both are ready, and tear everything down afterwards (the
database is dropped, the Redis keys of the prefix deleted).

Service URLs: ``ZOPOC_TEST_POSTGRES_URL`` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``,
used to create and drop the test database) and ``ZOPOC_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

REPO_ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
STACK_KINDS = ("services", "embedded")


def stack_kind() -> str:
    """The stack the test session runs against: ``ZOPOC_TEST_STACK`` ("services" by default)."""
    kind = os.environ.get("ZOPOC_TEST_STACK", "services")
    if kind not in STACK_KINDS:
        raise ValueError(f"ZOPOC_TEST_STACK={kind!r}; expected one of {STACK_KINDS}")
    return kind


def postgres_admin_url() -> str:
    return os.environ.get("ZOPOC_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def redis_url() -> str:
    return os.environ.get("ZOPOC_TEST_REDIS_URL", DEFAULT_REDIS_URL)


# --- databases ---------------------------------------------------------------------------------------


def create_postgres_database(prefix: str = "zopoc_stack") -> str:
    """Create an empty uniquely named Postgres database; return its SQLAlchemy URL."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return sa.make_url(postgres_admin_url()).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(url: str) -> None:
    """Drop the database of ``url`` (ending its connections first)."""
    name = sa.make_url(url).database
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def migrate(url: str) -> None:
    """Migrate ``url`` and register the built-in datasets, in a subprocess as ``python -m backend.prestart``
    does at start-up (without creating an administrator: the tests make their own accounts)."""
    env = os.environ | {"ZOPOC_DATABASE_URL": url}
    code = "from backend.prestart import prepare_database; prepare_database()"
    subprocess.run([PYTHON, "-c", code], cwd=REPO_ROOT, env=env, check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def fresh_database(kind: str, folder: Path) -> Iterator[str]:
    """A migrated database (built-in datasets registered, nothing else) for one test session: Postgres
    (services) or SQLite (embedded)."""
    if kind == "services":
        url = create_postgres_database()
        try:
            migrate(url)
            yield url
        finally:
            drop_postgres_database(url)
    else:
        url = f"sqlite:///{folder / 'zopoc.db'}"
        migrate(url)
        yield url


def delete_redis_prefix(url: str, prefix: str) -> None:
    """Delete every Redis key under ``prefix`` (only ours: never FLUSHALL a shared server)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    finally:
        client.close()


# --- processes ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop_group(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM the process group of ``process``; SIGKILL what is left after ``grace_s``."""
    if process.poll() is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # leftovers of an exited leader
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


def _wait_until(check, timeout_s: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
    raise TimeoutError(f"{what} not ready after {timeout_s:.0f} s\n{tail}")


@dataclass
class Stack:
    """A running stack. ``env`` is the full environment of its processes (ZOPOC_* settings included)."""

    kind: str
    folder: Path
    env: dict[str, str]
    database_url: str
    port: int = 0
    api: subprocess.Popen | None = None
    workers: list[subprocess.Popen] = field(default_factory=list)
    worker_queues: list[tuple[str, ...]] = field(default_factory=list)
    _sessions: sessionmaker | None = None
    _auth_headers: dict[str, str] | None = None

    @property
    def base_url(self) -> str:
        """The API server's address, e.g. ``http://127.0.0.1:41234``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_email(self) -> str:
        """E-mail of the administrator the API creates on first start (when accounts are enabled)."""
        return self.env["ZOPOC_ADMIN_EMAIL"]

    @property
    def admin_password(self) -> str:
        return self.env["ZOPOC_ADMIN_PASSWORD"]

    @property
    def worker(self) -> subprocess.Popen | None:
        """The newest worker process (None when none was started)."""
        return self.workers[-1] if self.workers else None

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer`` of the first administrator (an API token made once per stack).

        ``{}`` when the API has no accounts. Browser tests sign in through the page with
        ``admin_email`` / ``admin_password`` instead.
        """
        if self._auth_headers is None:
            import httpx

            with httpx.Client(base_url=self.base_url, timeout=30) as http:
                response = http.post(
                    "/api/auth/login", json={"email": self.admin_email, "password": self.admin_password}
                )
                if response.status_code in (404, 405):
                    self._auth_headers = {}
                    return self._auth_headers
                response.raise_for_status()
                # A cookie-authenticated POST carries the CSRF cookie's value in X-CSRF-Token.
                token = http.post(
                    "/api/auth/tokens",
                    json={"name": "live stack"},
                    headers={"X-CSRF-Token": http.cookies.get("zopoc_csrf") or ""},
                )
                token.raise_for_status()
                self._auth_headers = {"Authorization": f"Bearer {token.json()['token']}"}
        return self._auth_headers

    def client(self, **kwargs):
        """An ``httpx.Client`` on the API, signed in as the first administrator when accounts exist."""
        import httpx

        kwargs.setdefault("timeout", 30)
        return httpx.Client(base_url=self.base_url, headers=self.auth_headers(), **kwargs)

    def session(self) -> Session:
        """A new SQLAlchemy session on the stack's database (close it, or use it as a context manager)."""
        if self._sessions is None:
            engine = sa.create_engine(self.database_url, poolclass=sa.pool.NullPool)
            self._sessions = sessionmaker(engine, expire_on_commit=False)
        return self._sessions()

    def settings(self):
        """zopoc's Settings as the stack's processes see them (built from ``env``)."""
        from unittest import mock

        from backend.core.config import Settings

        with mock.patch.dict(os.environ, {k: v for k, v in self.env.items() if k.startswith("ZOPOC_")}):
            return Settings(_env_file=None)

    def enqueue(self, run_id: str, queue: str = "cpu") -> str:
        """Send run ``run_id`` to the stack's workers exactly as the API does."""
        from backend.dispatch import enqueue_run

        return enqueue_run(run_id, queue, self.settings())

    # -- API server --
    def start_api(self, timeout_s: float = 60.0) -> None:
        """Start uvicorn on a free port and wait until /api/health answers."""
        import httpx

        self.port = free_port()
        log = self.folder / "api.log"
        self.api = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "backend.api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-proxy-headers",
                "--log-level",
                "warning",
            ],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        api = self.api

        def healthy() -> bool:
            if api.poll() is not None:
                raise RuntimeError(f"the API server exited ({api.returncode}):\n{log.read_text()[-4000:]}")
            try:
                return httpx.get(f"{self.base_url}/api/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_until(healthy, timeout_s, "the API server", log)

    # -- workers --
    def start_worker(self, queues: tuple[str, ...] = ("cpu",), timeout_s: float = 60.0) -> subprocess.Popen:
        """Start a Celery worker consuming ``queues`` (device kinds) and wait until it is ready."""
        index = len(self.workers)
        log = self.folder / f"worker{index}.log"
        prefix = self.env["ZOPOC_QUEUE_PREFIX"]
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "worker.celery_app",
                "worker",
                "-Q",
                ",".join(prefix + q for q in queues),
                "--pool",
                "prefork",
                "-n",
                f"w{index}-{secrets.token_hex(3)}@%h",
                "--without-mingle",
                "--without-gossip",
                "--loglevel",
                "INFO",
            ],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(process)
        self.worker_queues.append(queues)

        def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"the worker exited ({process.returncode}):\n{log.read_text()[-4000:]}")
            return " ready." in log.read_text(errors="replace")

        _wait_until(ready, timeout_s, "the Celery worker", log)
        return process

    def ensure_worker(self, queue: str = "cpu") -> None:
        """Start a worker for ``queue`` unless one that consumes it is alive (tests that kill workers leave
        the stack as they found it for the next test this way, whatever their order)."""
        alive = any(
            process.poll() is None and queue in queues
            for process, queues in zip(self.workers, self.worker_queues, strict=True)
        )
        if not alive:
            self.start_worker(queues=(queue,))

    def kill_worker(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the newest worker's whole process group (main process and pool children)."""
        process = self.worker
        if process is None:
            raise RuntimeError("no worker was started")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)

    def worker_log(self, index: int = -1) -> str:
        """Everything worker ``index`` (default: the newest) printed so far."""
        index = index % max(1, len(self.workers))
        path = self.folder / f"worker{index}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def api_log(self) -> str:
        path = self.folder / "api.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the API server and every worker."""
        for process in [*self.workers, self.api]:
            if process is not None:
                _stop_group(process)
        if self._sessions is not None:
            self._sessions.kw["bind"].dispose()


def stack_env(
    kind: str, folder: Path, database_url: str, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of a stack's processes: unique names for everything shared with other sessions."""
    token = secrets.token_hex(4)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ZOPOC_")}
    env |= {
        "ZOPOC_ENVIRONMENT": "test",
        "ZOPOC_SECRET_KEY": secrets.token_urlsafe(32),
        "ZOPOC_DATABASE_URL": database_url,
        "ZOPOC_DATA_DIR": str(folder / "data"),
        "ZOPOC_QUEUE_PREFIX": f"t{token}-",
        "ZOPOC_REDIS_PREFIX": f"zopoc-test-{token}:",
        # Short intervals so lost workers and cancels show within seconds in tests.
        "ZOPOC_HEARTBEAT_S": "1",
        "ZOPOC_STALE_AFTER_S": "8",
        "ZOPOC_SWEEP_EVERY_S": "1",
        "ZOPOC_WORKER_PRESENCE_S": "1",
        # One test user opens more streams than the API's connection pool holds (test_service_live), over
        # the per-user cap of 20; the cap itself is tested in tests/auth.
        "ZOPOC_MAX_EVENT_STREAMS_PER_USER": "64",
        "ZOPOC_CANCEL_GRACE_S": "10",
        "ZOPOC_TRAIN_THREADS": "1",
        # One run at a time per worker whatever the machine's cores, as the tests expect; a test of
        # concurrent runs passes ZOPOC_WORKER_SLOTS in extra_env.
        "ZOPOC_WORKER_SLOTS": "1",
        # The first administrator (accounts): known to the tests, see Stack.admin_email/admin_password.
        "ZOPOC_ADMIN_EMAIL": "admin@stack.test",
        "ZOPOC_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    for key in ("ZOPOC_SST2_DIR",):
        if key in os.environ:
            env[key] = os.environ[key]
    if kind == "services":
        env |= {"ZOPOC_BROKER_URL": redis_url(), "ZOPOC_REDIS_URL": redis_url()}
    else:
        env |= {"ZOPOC_BROKER_URL": "filesystem://", "ZOPOC_BROKER_DIR": str(folder / "broker")}
    return env | (extra or {})


@contextlib.contextmanager
def live_stack(
    kind: str | None = None, *, api: bool = True, worker: bool = True, extra_env: dict[str, str] | None = None
) -> Iterator[Stack]:
    """Start a whole stack (see the module docstring); tear it down on exit."""
    kind = kind or stack_kind()
    folder = Path(tempfile.mkdtemp(prefix=f"zopoc-stack-{kind}-"))
    try:
        with fresh_database(kind, folder) as database_url:
            env = stack_env(kind, folder, database_url, extra_env)
            (folder / "data").mkdir(exist_ok=True)
            stack = Stack(kind=kind, folder=folder, env=env, database_url=database_url)
            # What an operator runs before starting the API: migrations (done) and the first admin.
            subprocess.run(
                [PYTHON, "-m", "backend.prestart"],
                cwd=REPO_ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
            try:
                if api:
                    stack.start_api()
                if worker:
                    stack.start_worker()
                yield stack
            finally:
                stack.stop()
                if kind == "services":
                    delete_redis_prefix(redis_url(), env["ZOPOC_REDIS_PREFIX"])
    finally:
        if os.environ.get("ZOPOC_KEEP_STACK_LOGS"):
            print(f"stack logs kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is always there when tests run
    pytest = None  # type: ignore[assignment]  # the benchmarks use the stack without pytest

if pytest is not None:

    @pytest.fixture(scope="session")
    def live_stack_session() -> Iterator[Stack]:
        """One live stack for the whole test session (kind from ``ZOPOC_TEST_STACK``)."""
        with live_stack() as stack:
            yield stack
