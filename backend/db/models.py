"""The database schema (SQLAlchemy 2.0 typed models), shared by the API and the execution side.

Portable to Postgres and SQLite: string uuid4 ids, ``sa.JSON``, timezone-aware timestamps. The schema is
created by Alembic migrations only (``alembic/versions``); the app never calls ``create_all``.

Metric charts: ``metric_points`` holds every point; ``metric_rollups`` holds per-bucket extremes at
strides 4**k (see ``backend.db.metrics``) so a chart of a million points reads a few thousand rows.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Run states. The row is the truth about a run; the worker moves it forward, the API only cancels.
RUN_STATES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATES = ("succeeded", "failed", "cancelled")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT autoincrement on Postgres; SQLite only autoincrements an INTEGER PRIMARY KEY.
BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class ExactFloat(sa.TypeDecorator):
    """A float64 kept bit for bit on every dialect. Postgres's double precision holds every one (nan, -0.0,
    subnormals); SQLite does not (nan becomes NULL, -0.0 an integer 0), so there the value's eight IEEE bytes
    are stored (a BLOB in a REAL column: SQLite keeps it as given) and read back as the same float."""

    impl = sa.Double()
    cache_ok = True

    # On SQLite the impl's own float conversion must not run on the bytes: the processors are replaced whole.
    def bind_processor(self, dialect):
        if dialect.name == "sqlite":
            return lambda value: None if value is None else struct.pack("<d", value)
        return super().bind_processor(dialect)

    def result_processor(self, dialect, coltype):
        if dialect.name == "sqlite":
            return lambda value: struct.unpack("<d", value)[0] if isinstance(value, bytes) else value
        return super().result_processor(dialect, coltype)


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware timestamp on every dialect: SQLite drops the zone, so it is put back as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


def new_id() -> str:
    """A new uuid4 as its 36-character string."""
    return str(uuid.uuid4())


def utcnow() -> dt.datetime:
    """The current time, timezone-aware (UTC)."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200))
    builtin: Mapped[bool] = mapped_column(default=False)
    # Inside settings.data_dir for uploads (a generated name, never the user's); the built-in's name
    # (resolved by the engine) for built-in datasets.
    path: Mapped[str] = mapped_column(sa.String(1000))
    n_rows: Mapped[int]
    # "classification" (labelled texts) or "generation" (prompt -> completion pairs, common.genfiles).
    kind: Mapped[str] = mapped_column(
        sa.String(16), default="classification", server_default="classification"
    )
    # A generation file's layout (common.pairs.PairLayout); None for labelled files.
    layout: Mapped[str | None] = mapped_column(sa.String(32))
    labels: Mapped[list[Any]]
    text_column: Mapped[str | None] = mapped_column(sa.String(200))
    label_column: Mapped[str | None] = mapped_column(sa.String(200))
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    # The first rows as {"text", "label"} objects ({"prompt", "completion"} and, from a chat file, "messages"
    # for a generation dataset), kept so listing and rendering need no file access.
    preview: Mapped[list[Any] | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # The workspace an upload belongs to; None for built-in datasets, which every signed-in user sees.
    workspace_id: Mapped[str | None] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)


class Poc(Base):
    __tablename__ = "pocs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200))
    model: Mapped[str] = mapped_column(sa.String(500))
    dataset_id: Mapped[str] = mapped_column(sa.ForeignKey("datasets.id"), index=True)
    # Every PoC belongs to one workspace; its runs and reports belong to it through the PoC.
    workspace_id: Mapped[str] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    # common.runspec.RunSettings (what every run of the PoC shares) and the device kind ("cpu" | "gpu")
    settings: Mapped[dict[str, Any]]
    # Derived from the newest attempt of each method (backend.states), stored whenever a run changes.
    state: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    created_by: Mapped[str] = mapped_column(sa.String(200), default="local")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    deleted_at: Mapped[dt.datetime | None]

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    runs: Mapped[list[Run]] = relationship(
        back_populates="poc",
        order_by="Run.created_at",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="selectin",
    )


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    poc_id: Mapped[str] = mapped_column(sa.ForeignKey("pocs.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(sa.String(32))
    hyperparams: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    step: Mapped[int] = mapped_column(default=0)
    forward_passes: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_steps: Mapped[int | None]
    progress: Mapped[float] = mapped_column(default=0.0)
    attempt: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    worker: Mapped[str | None] = mapped_column(sa.String(255))
    device: Mapped[str | None] = mapped_column(sa.String(64))
    queue: Mapped[str] = mapped_column(sa.String(16), default="cpu")
    celery_task_id: Mapped[str | None] = mapped_column(sa.String(255))
    # Baseline and peak are of one kind, memory_kind (common/memory_kinds.py): host_rss on CPU,
    # cuda_allocated on a GPU. None for a run that reported no memory.
    peak_memory_mb: Mapped[float | None]
    baseline_memory_mb: Mapped[float | None]
    memory_kind: Mapped[str | None] = mapped_column(sa.String(32))
    final_metrics: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    model_info: Mapped[dict[str, Any] | None]
    # The user who launched this attempt (created the PoC, or retried): the per-user cap on queued and
    # running runs counts by it. None for runs from before it was kept, or when that account is gone.
    launched_by: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # How often the run went back to the queue after its worker or training process was lost (at most
    # settings.max_resumes); each resumption continues from the step log or the latest checkpoint.
    resumes: Mapped[int] = mapped_column(default=0, server_default="0")
    # The ZO step log's header (common.steplog.StepLogHeader.to_dict()) as the engine announced it.
    steplog_header: Mapped[dict[str, Any] | None]
    # The latest periodic checkpoint of a gradient run (AdamW/SGD), where a resumption continues from.
    checkpoint_path: Mapped[str | None] = mapped_column(sa.String(1000))
    checkpoint_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    # A failure reason a program or the dashboard's translations tell apart (``error`` stays the English).
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_params: Mapped[dict[str, Any] | None]
    # The model folder of the final weights (POST /api/runs/{id}/export): None, queued, running, ready,
    # failed; the zip's path on the shared data folder and its size.
    export_state: Mapped[str | None] = mapped_column(sa.String(16))
    export_path: Mapped[str | None] = mapped_column(sa.String(1000))
    export_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    export_error: Mapped[str | None] = mapped_column(sa.Text)
    # A generation run's example answers at its first and last evaluation:
    # {"start"|"end": {"step": int, "examples": [{prompt, reference, generated, exact_match, f1}]}}.
    examples: Mapped[dict[str, Any] | None]

    poc: Mapped[Poc] = relationship(back_populates="runs")

    __table_args__ = (
        sa.CheckConstraint(f"state IN {RUN_STATES!r}", name="state"),
        # The heartbeat sweep looks for running runs with a stale heartbeat.
        sa.Index("ix_runs_state_heartbeat", "state", "heartbeat_at"),
    )


class MetricPoint(Base):
    """One value of one metric at one step. The primary key makes re-inserting a batch a no-op."""

    __tablename__ = "metric_points"

    run_id: Mapped[str] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    step: Mapped[int] = mapped_column(primary_key=True)
    elapsed_s: Mapped[float]
    forward_passes: Mapped[int] = mapped_column(sa.BigInteger)
    value: Mapped[float | None]


class MetricRollup(Base):
    """Extremes of one metric over the steps ``[bucket * 4**level, (bucket + 1) * 4**level)``.

    Maintained at ingestion by ``backend.db.metrics.write_points`` (idempotent: min/max of a re-sent batch
    change nothing); read by the chart query, which picks the finest level with few enough buckets.
    """

    __tablename__ = "metric_rollups"

    run_id: Mapped[str] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)
    bucket: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    min_step: Mapped[int]
    min_elapsed: Mapped[float]
    min_forward: Mapped[int] = mapped_column(sa.BigInteger)
    min_value: Mapped[float]
    max_step: Mapped[int]
    max_elapsed: Mapped[float]
    max_forward: Mapped[int] = mapped_column(sa.BigInteger)
    max_value: Mapped[float]


class ZoStep(Base):
    """One zeroth-order step (common.steplog.StepRecord): the run's seed plus these rows rebuild its
    weights exactly. The primary key makes a batch sent again (a relay retry, a resumed run replaying its
    log) add nothing; the floats are double precision, every float64 bit kept."""

    __tablename__ = "zo_steps"

    run_id: Mapped[str] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(primary_key=True)
    # double precision, every bit kept on SQLite too (ExactFloat)
    loss_plus: Mapped[float] = mapped_column(ExactFloat())
    loss_minus: Mapped[float] = mapped_column(ExactFloat())
    lr: Mapped[float] = mapped_column(ExactFloat())


class EvalResult(Base):
    __tablename__ = "eval_results"

    run_id: Mapped[str] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(primary_key=True)
    n_eval: Mapped[int]
    # One bit per evaluation example, in evaluation order (numpy.packbits layout, big-endian bits).
    correct: Mapped[bytes] = mapped_column(sa.LargeBinary)
    accuracy: Mapped[float | None]
    loss: Mapped[float | None]


class PocEvent(Base):
    """What the SSE stream replays: written in the same transaction as the rows it announces."""

    __tablename__ = "poc_events"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    poc_id: Mapped[str] = mapped_column(sa.ForeignKey("pocs.id", ondelete="CASCADE"))
    run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "run" | "poc" | "metric" | "resumed"
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.Index("ix_poc_events_poc_id_seq", "poc_id", "seq"),)


class Report(Base):
    """A frozen snapshot of a PoC's comparison, shared by an unguessable token. Only the token's SHA-256
    is stored (as for API tokens): the link is shown once, when the report is made."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    poc_id: Mapped[str | None] = mapped_column(sa.ForeignKey("pocs.id", ondelete="SET NULL"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token's first characters, so a list of a PoC's reports can tell them apart.
    token_prefix: Mapped[str] = mapped_column(sa.String(16))
    language: Mapped[str] = mapped_column(sa.String(8), default="en")
    snapshot: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


# --- accounts ------------------------------------------------------------------------------------

ROLES = ("viewer", "editor", "owner")


class User(Base):
    """A person who signs in. ``password_hash`` is an argon2 hash (never the password)."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    # Stored lower-cased, so sign-in ignores case.
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # Site administrators invite users; roles inside a workspace are separate (memberships).
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[dt.datetime | None]
    # Set for a password someone else chose or saw (the generated first password, an administrator's
    # reset): the dashboard asks for a new one at sign-in; cleared when the user sets their own.
    must_change_password: Mapped[bool] = mapped_column(default=False)


class Workspace(Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Membership(Base):
    """A user's role in a workspace: viewer (read), editor (launch, cancel, upload, share), owner (all)."""

    __tablename__ = "memberships"

    workspace_id: Mapped[str] = mapped_column(
        sa.ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    workspace: Mapped[Workspace] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")

    __table_args__ = (sa.CheckConstraint(f"role IN {ROLES!r}", name="role"),)


class AuthSession(Base):
    """A browser session. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]


class ApiToken(Base):
    """A personal API token for scripts (``Authorization: Bearer``): shown once, stored as SHA-256."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The first characters, so a user can tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class Invite(Base):
    """An invitation (by an admin or a workspace owner): a one-time token, stored as SHA-256."""

    __tablename__ = "invites"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    email: Mapped[str] = mapped_column(sa.String(320))
    workspace_id: Mapped[str | None] = mapped_column(sa.ForeignKey("workspaces.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(16), default="viewer")
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    accepted_at: Mapped[dt.datetime | None]
    # Cancelled by an owner of its workspace or an administrator: the link is refused from then on.
    revoked_at: Mapped[dt.datetime | None]


class Worker(Base):
    """A Celery worker that is online: it writes this row when ready and every ``worker_presence_s`` after,
    and deletes it when it stops (a worker that died leaves a row that grows stale)."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)  # Celery's hostname
    queues: Mapped[list[Any]]  # device kinds it consumes: "cpu", "gpu"
    # Runs it trains at once (its pool processes; ZOPOC_WORKER_SLOTS): several runs may name this worker.
    slots: Mapped[int] = mapped_column(default=1, server_default="1")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


class GpuPrice(Base):
    """An administrator's price for a GPU of the catalogue: replaces the setting's price wherever money is
    shown (estimates, ROI, reports made after the change)."""

    __tablename__ = "gpu_prices"

    gpu_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    hourly_price: Mapped[float] = mapped_column(sa.Double())
    currency: Mapped[str] = mapped_column(sa.String(3))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(sa.String(255))
