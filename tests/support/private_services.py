"""Private, throwaway Redis and Postgres servers for fault tests that stop and restart them.

The machine's shared servers (127.0.0.1:6379 and :5432) serve every test session on the machine at once, so a
test that restarts a server must own it. Usage::

    from tests.support.private_services import private_postgres, private_redis

    with private_redis() as redis_server:        # redis-server on a free port, nothing kept on disk
        redis_server.url                          # "redis://127.0.0.1:<port>/0"
        redis_server.restart()                    # stop (SIGKILL by default) and start again: empty

    with private_postgres() as pg:               # an initdb cluster in a temp folder, trust auth
        pg.admin_url                              # "postgresql+psycopg://postgres@127.0.0.1:<port>/postgres"
        pg.restart(mode="immediate")              # pg_ctl stop -m immediate (a crash), then start

Both stop their server and delete its folder on exit. Postgres runs as the ``postgres`` OS user when the
tests run as root (initdb and postgres refuse root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _wait(check, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} after {timeout_s:.0f} s")


# --- Redis -------------------------------------------------------------------------------------------


@dataclass
class PrivateRedis:
    """A redis-server subprocess without persistence: every restart starts empty, as after a crash."""

    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 20.0) -> None:
        """Start the server on ``port`` and wait until it answers PING."""
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(self.ping, timeout_s, f"private redis on port {self.port} not answering")

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server (SIGKILL by default: nothing is written anywhere) and wait until it is gone."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        _wait(lambda: not _port_open(self.port), 10, f"port {self.port} still open")

    def restart(self, down_s: float = 0.0, sig: int = signal.SIGKILL) -> None:
        """Stop, stay down ``down_s`` seconds, start again on the same port (with an empty dataset)."""
        self.stop(sig)
        time.sleep(down_s)
        self.start()


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A started :class:`PrivateRedis`; stopped and its folder removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="zopoc-private-redis-"))
    server = PrivateRedis(port=free_port(), folder=folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


# --- Postgres ----------------------------------------------------------------------------------------


def postgres_bin(name: str) -> str:
    """The path of a Postgres server binary (``initdb``, ``pg_ctl``), newest installed version first."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not candidates:
        raise FileNotFoundError(f"no Postgres {name} found (looked on PATH and /usr/lib/postgresql/*/bin)")
    return candidates[-1]


def _as_postgres_user(argv: list[str]) -> list[str]:
    """Prefix ``argv`` so it runs as the ``postgres`` OS user when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@dataclass
class PrivatePostgres:
    """A Postgres cluster of our own (trust auth, TCP on 127.0.0.1:``port``, socket in its folder)."""

    port: int
    folder: Path

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def admin_url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (for creating test databases)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, argv: list[str], timeout_s: float = 120) -> None:
        result = subprocess.run(_as_postgres_user(argv), capture_output=True, text=True, timeout=timeout_s)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv)} failed ({result.returncode}):\n{result.stdout}\n"
                f"{result.stderr}\n{self.log_tail()}"
            )

    def init(self) -> None:
        """initdb the cluster (fsync off: a throwaway cluster; a crash restart still replays the WAL)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            [
                postgres_bin("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        )

    def log_tail(self, chars: int = 3000) -> str:
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def start(self) -> None:
        """pg_ctl start and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._run(
            [
                postgres_bin("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.folder / "postgres.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop: ``fast`` (clean shutdown) or ``immediate`` (like a crash: recovery on next start)."""
        self._run([postgres_bin("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self, mode: str = "immediate", down_s: float = 0.0) -> None:
        """Stop (``immediate`` by default), stay down ``down_s`` seconds, start again on the same port."""
        self.stop(mode)
        time.sleep(down_s)
        self.start()

    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists() and _port_open(self.port)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started :class:`PrivatePostgres`; stopped and its folder removed on exit."""
    folder = Path(tempfile.mkdtemp(prefix="zopoc-private-pg-"))
    os.chmod(folder, 0o755)
    server = PrivatePostgres(port=free_port(), folder=folder / "cluster")
    try:
        server.init()
        server.start()
        yield server
    finally:
        if server.running():
            with contextlib.suppress(Exception):
                server.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def services_env(
    postgres: PrivatePostgres | None = None, redis_server: PrivateRedis | None = None
) -> Iterator[None]:
    """Point ``tests.support.stack`` at private servers (its ``ZOPOC_TEST_*`` variables) while inside."""
    saved = {key: os.environ.get(key) for key in ("ZOPOC_TEST_POSTGRES_URL", "ZOPOC_TEST_REDIS_URL")}
    if postgres is not None:
        os.environ["ZOPOC_TEST_POSTGRES_URL"] = postgres.admin_url
    if redis_server is not None:
        os.environ["ZOPOC_TEST_REDIS_URL"] = redis_server.url
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
