"""All settings of zopoc in one pydantic-settings class (environment prefix ``ZOPOC_``).

Defaults are the *embedded* setup that works on a fresh laptop without servers: SQLite under ``var/``,
Celery's ``filesystem://`` broker with its folders under ``var/broker`` and no Redis (live views then poll
the database). Give ``ZOPOC_DATABASE_URL`` / ``ZOPOC_BROKER_URL`` / ``ZOPOC_REDIS_URL`` to use Postgres and
Redis; the same code serves both.

Other parts import it: ``from backend.core.config import get_settings``. Fields are grouped by the part of
zopoc they configure.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PositiveInt, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]
VAR_DIR = REPO_ROOT / "var"

# Placeholder secret: accepted in development only (see Settings._refuse_default_secrets).
_DEFAULT_SECRET = "change-me"


class Settings(BaseSettings):
    """zopoc settings, read from ``ZOPOC_*`` environment variables (and a ``.env`` file if present)."""

    model_config = SettingsConfigDict(env_prefix="ZOPOC_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    api_prefix: str = "/api"
    project_name: str = "zopoc"

    # --- database ---------------------------------------------------------------------------------
    database_url: str = f"sqlite:///{VAR_DIR / 'zopoc.db'}"
    # Seconds ``python -m backend.prestart`` waits for the database before giving up.
    database_wait_s: float = 60.0
    # Connection pool of each process (Postgres). The API's threads (api_threads) each hold at most one
    # connection at a time, so a pool at least that large never makes a request wait for a connection.
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    # Test each pooled connection with a round trip before use (survives a database restart without a
    # failed request, at one round trip per checkout).
    db_pool_pre_ping: bool = True

    # --- broker / live events ---------------------------------------------------------------------
    broker_url: str = "filesystem://"
    # Folder of the filesystem broker (only used when broker_url is filesystem://).
    broker_dir: Path = VAR_DIR / "broker"
    # None: no pub/sub; the SSE endpoint polls poc_events instead.
    redis_url: str | None = None
    # Prefix of every Redis key / channel / Celery queue name, so several installs (and test sessions)
    # can share one Redis server.
    redis_prefix: str = "zopoc:"
    # Seconds between database polls of the SSE endpoint when no Redis is configured.
    events_poll_s: float = 0.5
    # An open event stream checks its caller's access again this often (signed out, removed from the
    # workspace, disabled, the PoC deleted: the stream ends).
    events_access_recheck_s: float = Field(default=5.0, gt=0)
    # Event streams one user may hold open at once, per API process.
    max_event_streams_per_user: int = Field(default=20, ge=1)

    # --- datasets ---------------------------------------------------------------------------------
    data_dir: Path = VAR_DIR / "data"
    max_upload_mb: float = 20.0
    max_upload_rows: int = 200_000

    # --- models -----------------------------------------------------------------------------------
    # Folders under which a PoC may name a local model folder (absolute paths, resolved; nothing outside
    # them is ever opened or told apart from a name that means nothing). Empty: local folders are refused.
    model_roots: list[Path] = Field(default_factory=lambda: [VAR_DIR / "models"])

    # --- web --------------------------------------------------------------------------------------
    frontend_dist: Path = REPO_ROOT / "frontend" / "dist"
    cors_origins: list[str] = Field(default_factory=list)
    # Signs share tokens and similar; must be set outside development.
    secret_key: str = _DEFAULT_SECRET
    # The largest request body of any route but the upload (KiB): JSON bodies here are a few hundred
    # bytes; the upload route takes max_upload_mb. Bodies are refused by Content-Length before they are read
    # (backend.api.guard).
    max_body_kb: float = Field(default=64.0, gt=0)
    # Threads that run the API's (synchronous) route handlers; None keeps AnyIO's default (40).
    api_threads: int | None = Field(default=None, ge=1)

    # Python modules that register extra optimisation methods when imported (comma separated), in the API
    # and the workers alike (common.methods.register_method; worker.train.optimizers.register_optimizer).
    method_plugins: str = ""

    # === execution (worker/) ========================================================================

    # Celery queue names are f"{queue_prefix}{kind}" for kind in cpu/gpu: test sessions sharing one
    # broker use a unique prefix.
    queue_prefix: str = ""
    # The device kinds a worker started without -Q consumes (comma separated: "cpu", "gpu" or "cpu,gpu").
    worker_queues: str = "cpu"
    # Seconds between heartbeats of a running run; a run whose heartbeat is older than stale_after_s is
    # failed by the sweep (lost worker), which every worker runs every sweep_every_s seconds.
    heartbeat_s: float = 5.0
    stale_after_s: float = 90.0
    sweep_every_s: float = 30.0
    # Every worker writes its presence (name, queues) every worker_presence_s seconds; one not seen for three
    # times that is taken as gone. A launch on a device kind no live worker consumes is refused.
    worker_presence_s: float = 15.0
    # The relay writes a batch of events every relay_flush_s seconds or relay_max_points points.
    relay_flush_s: float = 0.5
    relay_max_points: int = 5000
    # Seconds a cancelled training process gets to finish its step after SIGTERM before SIGKILL.
    cancel_grace_s: float = 20.0
    # How often a run whose worker vanished, or whose training process was killed from outside (SIGKILL,
    # the OOM killer), goes back to the queue to continue from its step log or latest checkpoint before
    # it is failed (reason code run_resume_limit). 0 fails it at once.
    max_resumes: int = Field(default=2, ge=0, le=20)
    # Minutes between periodic checkpoints of a gradient run (AdamW/SGD), what it resumes from; 0: none.
    checkpoint_every_min: float = Field(default=10.0, ge=0)
    # Where the engine writes a gradient run's periodic checkpoints and the model-folder exports go
    # (under data_dir unless absolute): workers that resume one another's runs share it, like uploads.
    checkpoints_subdir: str = "checkpoints"
    exports_subdir: str = "exports"
    # Threads of a training process (OMP/MKL/torch); None: a worker with one slot leaves the libraries'
    # defaults, one with several gives each run cores // slots (common.slots.threads_per_slot).
    train_threads: int | None = None
    # Runs one worker trains at once (its Celery concurrency; ``--concurrency`` on the command line wins).
    # "auto": a worker consuming the GPU queue takes one run per CUDA device it sees (each run gets its own
    # device), a CPU worker one run per threads_per_run cores, at least one. Runs sharing the cores measure
    # their time per step under that sharing, hence a CPU default of one run per 4 cores.
    worker_slots: PositiveInt | Literal["auto"] = "auto"
    threads_per_run: int = Field(default=4, ge=1)
    # Niceness added to a training process: on a box that also serves the API (the embedded setup, a
    # laptop) the interactive requests keep priority over long, CPU-bound training. 0 leaves it as is.
    train_nice: int = Field(default=10, ge=0, le=19)

    # === estimates and reports (backend/estimates, backend/reports) =================================

    # The GPU catalogue: JSON in the variable or the path of a JSON/YAML file (see backend.estimates.gpus);
    # None keeps the built-in defaults. Prices are settings, not truths.
    gpu_catalog: str | None = None
    # Units of each currency per US dollar, to show GPU prices in the reader's currency (the catalogue's
    # prices are converted, never rounded before the cost). Settings, not truths: set today's rates.
    currency_rates: dict[str, float] = Field(default_factory=lambda: {"USD": 1.0, "JPY": 150.0, "EUR": 0.92})
    # The currency each report / dashboard language shows money in unless the request names one.
    currency_by_language: dict[str, str] = Field(default_factory=lambda: {"en": "USD", "ja": "JPY"})
    # Days a shared report link stays valid unless the request says otherwise.
    report_expiry_days: int = 14
    # Headless Chromium used to print reports to PDF (Debian's package puts it on the PATH).
    chromium_path: str = "chromium"
    # Seconds the PDF printer may take before giving up.
    pdf_timeout_s: float = 60.0
    # Chromium processes printing PDFs at once, per API process (each takes a few hundred MB); a report's
    # PDF is printed once per language and kept, and never by two requests at the same time.
    pdf_max_concurrent: int = Field(default=2, ge=1)

    # === accounts and limits (backend/auth) =========================================================

    # The first administrator, created on first start when there are no users (backend.auth.bootstrap).
    # Without a password setting a random one is generated and printed once; there is no fixed default.
    admin_email: str = "admin@localhost"
    admin_password: str | None = None
    # Where a generated first password is written (mode 0600), instead of the log.
    admin_password_file: Path = VAR_DIR / "initial-admin-password"
    # Browser sessions last this many days; the cookie is Secure on HTTPS requests, or always when True.
    session_days: float = 14.0
    cookie_secure: bool | None = None
    invite_days: float = 7.0
    # Rate limits ("limits" notation, e.g. "10/minute"), counted in Redis when redis_url is set, else in
    # memory. Sign-in counts FAILURES: per (account, client address) and per client address over all
    # accounts, so guessing from one address never locks the account's owner out elsewhere. Launches (new
    # PoC, retry) count per user.
    login_rate_limit: str = "10/minute"
    login_ip_rate_limit: str = "60/minute"
    # Addresses (or networks, "10.0.0.0/8") of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto
    # are believed: the client address of the rate limits and the scheme of Secure cookies come from them.
    # Empty: the connecting address is the client, and forwarded headers are ignored.
    trusted_proxies: list[str] = Field(default_factory=list)
    launch_rate_limit: str = "30/minute"
    # Queued + running runs one user may have at once (over all workspaces).
    max_active_runs_per_user: int = 12
    # PoC budget caps per role: the most steps / minutes one PoC may ask for (viewers cannot launch).
    max_steps_by_role: dict[str, int] = Field(default_factory=lambda: {"editor": 100_000, "owner": 1_000_000})
    max_minutes_by_role: dict[str, float] = Field(
        default_factory=lambda: {"editor": 24 * 60.0, "owner": 7 * 24 * 60.0}
    )

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.environment != "development" and self.secret_key == _DEFAULT_SECRET:
            raise ValueError(
                "ZOPOC_SECRET_KEY still has its development default; set a real secret "
                f"(environment is {self.environment!r})"
            )
        if self.environment == "production" and self.cookie_secure is False:
            raise ValueError(
                "ZOPOC_COOKIE_SECURE=false is refused in production: session cookies are always "
                "Secure there (serve zopoc over HTTPS)"
            )
        return self

    @property
    def max_upload_bytes(self) -> int:
        """The upload size limit in bytes."""
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_body_bytes(self) -> int:
        """The body limit of every route but the upload, in bytes."""
        return int(self.max_body_kb * 1024)

    @property
    def method_plugin_modules(self) -> list[str]:
        """The modules named in ``method_plugins``."""
        return [name.strip() for name in self.method_plugins.split(",") if name.strip()]

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite (the embedded default)."""
        return self.database_url.startswith("sqlite")

    def broker_transport_options(self) -> dict[str, Any]:
        """Celery ``broker_transport_options`` matching ``broker_url``.

        For ``filesystem://`` the folders are created here, under ``broker_dir``; for Redis the queue
        keys get ``redis_prefix`` so installs sharing one server stay apart.
        """
        if self.broker_url.startswith("filesystem"):
            folders = {
                "data_folder_in": self.broker_dir / "out",
                "data_folder_out": self.broker_dir / "out",
                "processed_folder": self.broker_dir / "processed",
            }
            for folder in folders.values():
                folder.mkdir(parents=True, exist_ok=True)
            return {key: str(value) for key, value in folders.items()} | {"store_processed": False}
        if self.broker_url.startswith(("redis", "rediss")):
            return {"global_keyprefix": self.redis_prefix}
        return {}


@functools.lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache with ``get_settings.cache_clear()``)."""
    return Settings()
