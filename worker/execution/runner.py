"""Execute one run: claim its row, start the engine as a child process, relay its events, record the end.

The database row is the truth about a run. Every write below is conditional on the row still being
``running`` for this attempt, so a run the sweep already failed, or one the API deleted, is never
resurrected by a late worker.

The relay batches the child's events and writes each batch (metric points + rollups, evaluation results,
the run's progress and heartbeat, and one ``poc_events`` row announcing it) in one transaction, every
``relay_flush_s`` seconds or ``relay_max_points`` points, then PUBLISHes the new event seq on
``{redis_prefix}poc:{poc_id}`` when Redis is configured. Each batch also reads ``cancel_requested``:
a requested cancel sends SIGTERM to the child (it finishes its step and reports ``cancelled``), and SIGKILL
after ``cancel_grace_s``.

A database that goes away (restart, failover, network blip) does not end the run: a batch whose
transaction fails on a lost connection is kept and written again at the next flush, and the final write
is retried, for up to ``stale_after_s`` seconds of outage (after that the sweep would fail the run anyway).
What was committed before the outage stays; writes are idempotent, so a batch that did commit before its
connection broke adds nothing when sent again.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from backend.catalog import local_model_folder, unknown_model
from common.memory_kinds import MemoryKind, headline_kind, is_memory_kind, memory_metric
from common.reasons import describe
from backend.core.config import REPO_ROOT, Settings, get_settings
from backend.db.models import FINISHED_STATES, Run, utcnow
from backend.db.session import make_sessionmaker
from backend.events import publish, record_run_event
from backend.ingest import (
    Evaluation,
    Point,
    add_event,
    finite_or_none,
    metric_event_payload,
    write_evals,
    write_points,
    write_zo_steps,
)
from backend.resume import Outcome, resume_log, resume_or_fail, send_resumed
from common.steplog import EVENT_KIND as ZO_STEPS_EVENT
from common.steplog import StepRecord, records_from_event
from worker.execution.child import ExitInfo, TrainingProcess, describe_death
from worker.execution.spec import build_spec
from worker.slots import RunShare, run_share

log = logging.getLogger(__name__)


# Errors of a lost or refused database connection (psycopg's OperationalError, a closed connection):
# worth retrying. Anything else (a constraint, a bug) is raised at once.
TRANSIENT_DB_ERRORS = (sa.exc.OperationalError, sa.exc.InterfaceError)


class DatabaseOutage:
    """Tracks one outage of the database: how long it lasts, and when to give up on it."""

    def __init__(self, run_id: str, limit_s: float) -> None:
        self.run_id, self.limit_s = run_id, limit_s
        self.since: float | None = None

    def failed(self, error: Exception, what: str) -> None:
        """Note a failed write; re-raise ``error`` once the outage lasted longer than ``limit_s``."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
            log.warning(
                "run %s: database unreachable while %s (%s); keeping the data and retrying",
                self.run_id,
                what,
                str(error).splitlines()[0] if str(error) else type(error).__name__,
            )
        if now - self.since > self.limit_s:
            log.error("run %s: database unreachable for %.0f s; giving up", self.run_id, now - self.since)
            raise error

    def ok(self) -> None:
        if self.since is not None:
            log.warning(
                "run %s: database reachable again after %.1f s", self.run_id, time.monotonic() - self.since
            )
        self.since = None


def _json_safe(value: Any) -> Any:
    """Replace non-finite floats (nan/inf) by None: JSON columns and browsers cannot carry them."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def started_memory_kind(started: dict[str, Any]) -> MemoryKind | None:
    """The kind a run records its memory in: what the engine says, else (an engine from before the kinds
    were named) the headline kind of the device it ran on."""
    kind = (started.get("memory") or {}).get("kind")
    if is_memory_kind(kind):
        return kind
    return headline_kind(started.get("device")) if started.get("device") else None


def started_baseline_mb(started: dict[str, Any], kind: MemoryKind | None) -> float | None:
    """The baseline of ``kind``; never a figure of another kind (a CUDA run's host RSS is not its baseline)."""
    memory = started.get("memory") or {}
    if kind is None:
        return None
    if memory.get("kind") == kind:
        return finite_or_none(memory.get("baseline_mb"))
    if kind == "host_rss":
        return finite_or_none(memory.get("baseline_rss_mb"))
    return None


def summary_peak_mb(summary: dict[str, Any], kind: MemoryKind) -> float | None:
    """The finished summary's peak of ``kind`` (named by kind, or an earlier engine's field of that kind)."""
    if summary.get("memory_kind") == kind and summary.get("peak_mb") is not None:
        return finite_or_none(summary["peak_mb"])
    legacy = {"host_rss": "peak_rss_mb", "cuda_allocated": "cuda_peak_allocated_mb"}.get(kind)
    return finite_or_none(summary.get(legacy)) if legacy else None


@dataclass
class RelayState:
    """What the relay has seen of the child's events and not yet written."""

    points: list[Point] = field(default_factory=list)
    evals: list[Evaluation] = field(default_factory=list)
    started: dict[str, Any] | None = None
    finished: dict[str, Any] | None = None
    step: int = 0
    forward_passes: int = 0
    elapsed_s: float = 0.0
    # The kind the run's baseline and peak are recorded in, and the peak of that kind seen so far.
    memory_kind: MemoryKind | None = None
    peak_mb: float | None = None
    last_values: dict[str, float | None] = field(default_factory=dict)
    # ZO step records not yet written; the step log's header (its ``progress`` that of the newest
    # record) and whether it changed since it was last written.
    zo_steps: list[StepRecord] = field(default_factory=list)
    steplog_header: dict[str, Any] | None = None
    header_changed: bool = False
    # The newest periodic checkpoint the engine reported (path, bytes), not yet written.
    checkpoint: tuple[str, int | None] | None = None
    # A generation run's example answers ({"start"|"end": {"step", "examples"}}), and whether they changed.
    examples: dict[str, Any] | None = None
    examples_changed: bool = False

    def take(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        header = event.get("step_log_header")
        if kind == "started" and isinstance(header, dict):
            # A resumed engine announces its header afresh; the bookkeeping of the newest stored record
            # stays until its own next records bring theirs.
            progress = header.get("progress") or (self.steplog_header or {}).get("progress") or {}
            self.steplog_header, self.header_changed = {**header, "progress": progress}, True
        if kind == ZO_STEPS_EVENT:
            self.zo_steps.extend(records_from_event(event))
            if self.steplog_header is not None and isinstance(event.get("progress"), dict):
                self.steplog_header = {**self.steplog_header, "progress": event["progress"]}
                self.header_changed = True
            return
        if kind == "checkpoint" and event.get("path"):
            size = event.get("bytes")
            self.checkpoint = (str(event["path"]), int(size) if size is not None else None)
            return
        if kind == "started":
            self.started = event
            self.memory_kind = started_memory_kind(event)
            return
        if kind == "finished":
            self.finished = event
        if kind in ("metrics", "eval", "finished"):
            # A run only moves forward: a finished event with less than was already seen (an engine that
            # failed reporting zeros) does not take back the step, passes and time the run reached.
            self.step = max(self.step, int(event.get("step") or 0))
            self.forward_passes = max(self.forward_passes, int(event.get("forward_passes") or 0))
            self.elapsed_s = max(self.elapsed_s, float(event.get("elapsed_s") or 0.0))
        if kind in ("metrics", "eval"):
            for name, value in (event.get("values") or {}).items():
                value = finite_or_none(value)
                self.points.append(Point(name, self.step, self.elapsed_s, self.forward_passes, value))
                self.last_values[name] = value
                if value is not None and self.memory_kind and name == memory_metric(self.memory_kind):
                    self.peak_mb = max(self.peak_mb or 0.0, value)
        if kind == "eval":
            values = event.get("values") or {}
            if isinstance(event.get("examples"), list):
                when = "start" if self.step == 0 else "end"
                self.examples = {
                    **(self.examples or {}),
                    when: {"step": self.step, "examples": event["examples"]},
                }
                self.examples_changed = True
            # The headline score the correct bits count: accuracy, or a generation run's exact match.
            headline = values.get("eval/accuracy", values.get("eval/exact_match"))
            self.evals.append(
                Evaluation(
                    step=self.step,
                    n_eval=int(event.get("n_eval") or 0),
                    correct=base64.b64decode(event.get("correct") or ""),
                    accuracy=finite_or_none(headline),
                    loss=finite_or_none(values.get("eval/loss")),
                )
            )


class RunExecution:
    """One attempt at one run, from claim to final state. Use :func:`execute_run`."""

    def __init__(self, run_id: str, worker_name: str, task_id: str | None, settings: Settings) -> None:
        self.run_id = run_id
        self.worker_name = worker_name
        self.task_id = task_id
        self.settings = settings
        self.sessions = make_sessionmaker(settings.database_url)
        self.poc_id = ""  # set by claim(); nothing after a failed claim writes or publishes
        self.total_steps: int | None = None
        self.max_minutes: float | None = None
        self.device_kind = "cpu"
        self.state = RelayState()
        self.cancel_sent_at: float | None = None
        self.killed_for_cancel = False
        self.lost = False  # the row was changed or deleted by someone else: stop writing
        self.last_heartbeat = 0.0
        # (poc_id, seq) of events committed by claim() that still need their Redis notification.
        self.after_claim: list[tuple[str, int]] = []
        self.outage = DatabaseOutage(run_id, settings.stale_after_s)
        # The task id the row carried when this worker claimed it: a run that was resumed elsewhere
        # meanwhile carries another, and this worker then stops writing (see _write).
        self.claimed_task_id: str | None = None
        # What the engine continues from when this attempt resumes the run: the step log (ZO) or the
        # path of the latest checkpoint (gradient methods); None for a fresh start.
        self.resume_bytes: bytes | None = None
        self.resume_path: str | None = None
        self.resumes = 0
        # Where this run's periodic checkpoint is written, when the engine supports them.
        self.checkpoint_file: Path | None = None
        self.recorded_checkpoint: tuple[str, int | None] | None = None

    # --- claim -----------------------------------------------------------------------------------
    def claim(self) -> dict[str, Any] | None:
        """Move the row from queued to running; return the RunSpec, or None when the run no longer applies."""
        with self.sessions() as session, session.begin():
            run = session.get(Run, self.run_id, with_for_update=True)
            if run is None:
                log.info("run %s is gone; nothing to do", self.run_id)
                return None
            if run.state != "queued":
                log.info("run %s is %s, not queued; nothing to do", self.run_id, run.state)
                return None
            if self.task_id and run.celery_task_id and run.celery_task_id != self.task_id:
                log.info("run %s belongs to task %s, not %s", self.run_id, run.celery_task_id, self.task_id)
                return None
            now = utcnow()
            if run.cancel_requested:
                run.state, run.finished_at = "cancelled", now
                seq = record_run_event(session, run)
                self.after_claim.append((run.poc_id, seq))
                return None
            spec = build_spec(run, self.settings)
            self.checkpoint_file = add_checkpointing(spec, run, self.settings)
            self.state.steplog_header = run.steplog_header
            self.state.examples = run.examples
            if run.resumes:
                self.resumes = run.resumes
                self.resume_bytes = resume_log(session, run)
                if self.resume_bytes is None and run.checkpoint_path and Path(run.checkpoint_path).is_file():
                    self.resume_path = run.checkpoint_path
                if self.resume_bytes is None and self.resume_path is None:
                    log.warning("run %s resumes with no step log or checkpoint: from the start", run.id)
            run.state, run.started_at, run.heartbeat_at = "running", now, now
            run.worker = self.worker_name
            run.device = spec.get("device")
            run.total_steps = spec.get("steps")
            if self.task_id and not run.celery_task_id:
                run.celery_task_id = self.task_id
            self.claimed_task_id = run.celery_task_id
            self.poc_id = run.poc_id
            self.total_steps = spec.get("steps")
            self.max_minutes = spec.get("max_minutes")
            self.device_kind = spec.get("device", "cpu")
            seq = record_run_event(session, run)
        publish(self.settings, self.poc_id, seq)
        self.last_heartbeat = time.monotonic()
        return spec

    # --- relay -----------------------------------------------------------------------------------
    def _progress(self) -> float:
        fractions = []
        if self.total_steps:
            fractions.append(self.state.step / self.total_steps)
        if self.max_minutes:
            fractions.append(self.state.elapsed_s / (60.0 * self.max_minutes))
        return float(min(1.0, max(fractions))) if fractions else 0.0

    def flush(self, force_heartbeat: bool = False) -> bool:
        """Write what the relay holds in one transaction; return True when a cancel was requested.

        When the database connection is lost the batch is put back (to be written by the next flush)
        and False is returned, until the outage lasts longer than ``stale_after_s``.
        """
        try:
            cancel = self._write_batch(force_heartbeat)
        except TRANSIENT_DB_ERRORS as error:
            self.outage.failed(error, "writing a batch")
            return False
        self.outage.ok()
        return cancel

    def _write_batch(self, force_heartbeat: bool) -> bool:
        """One batch in one transaction; on a database error the batch is put back and the error raised."""
        state = self.state
        points, evals, started = state.points, state.evals, state.started
        zo_steps, checkpoint = state.zo_steps, state.checkpoint
        state.points, state.evals, state.started, state.zo_steps = [], [], None, []
        try:
            return self._write(points, evals, started, force_heartbeat, zo_steps)
        except BaseException:
            state.points, state.evals = points + state.points, evals + state.evals
            state.started = state.started or started
            state.zo_steps = zo_steps + state.zo_steps
            state.checkpoint = state.checkpoint or checkpoint
            raise

    def _write(
        self,
        points: list[Point],
        evals: list[Evaluation],
        started: dict[str, Any] | None,
        force_heartbeat: bool,
        zo_steps: list[StepRecord] | None = None,
    ) -> bool:
        state = self.state
        now_mono = time.monotonic()
        beat = force_heartbeat or now_mono - self.last_heartbeat >= self.settings.heartbeat_s
        seqs: list[int] = []
        with self.sessions() as session, session.begin():
            row = session.execute(
                sa.select(Run.state, Run.cancel_requested, Run.celery_task_id).where(Run.id == self.run_id)
            ).first()
            if row is None or row.state != "running" or not self._still_ours(row.celery_task_id):
                self.lost = True
                log.warning(
                    "run %s was changed elsewhere (now %s); stopping",
                    self.run_id,
                    row.state if row else "deleted",
                )
                return False
            if zo_steps:
                write_zo_steps(session, self.run_id, zo_steps)
            extra = self._run_extras()
            if extra:
                session.execute(sa.update(Run).where(Run.id == self.run_id).values(**extra))
            if points or evals or started or beat:
                values: dict[str, Any] = {
                    "step": state.step,
                    "forward_passes": state.forward_passes,
                    "progress": self._progress(),
                }
                if beat:
                    values["heartbeat_at"] = utcnow()
                    self.last_heartbeat = now_mono
                if state.peak_mb is not None:
                    values["peak_memory_mb"] = state.peak_mb
                session.execute(sa.update(Run).where(Run.id == self.run_id).values(**values))
            if points:
                write_points(session, self.run_id, points)
                seqs.append(
                    add_event(
                        session, self.poc_id, self.run_id, "metric", metric_event_payload(self.run_id, points)
                    )
                )
            write_evals(session, self.run_id, evals)
            if started:
                run = session.get(Run, self.run_id)
                assert run is not None  # its row was read in this transaction above
                run.model_info = _json_safe(started.get("model"))
                run.device = started.get("device") or run.device
                run.hyperparams = {**run.hyperparams, **_json_safe(started.get("hyperparams") or {})}
                run.memory_kind = state.memory_kind
                run.baseline_memory_mb = started_baseline_mb(started, state.memory_kind)
                seqs.append(record_run_event(session, run))
            cancel = bool(row.cancel_requested)
        for seq in seqs:
            publish(self.settings, self.poc_id, seq)
        return cancel

    def _still_ours(self, task_id: str | None) -> bool:
        """False when the run was resumed and claimed by another task since this worker claimed it."""
        return self.claimed_task_id is None or task_id == self.claimed_task_id

    def _run_extras(self) -> dict[str, Any]:
        """Columns of the run that changed since the last batch: the step log's header, the checkpoint."""
        values: dict[str, Any] = {}
        state = self.state
        if state.steplog_header is not None and state.header_changed:
            values["steplog_header"] = _json_safe(state.steplog_header)
            state.header_changed = False
        if state.examples is not None and state.examples_changed:
            values["examples"] = _json_safe(state.examples)
            state.examples_changed = False
        checkpoint = state.checkpoint
        state.checkpoint = None
        if checkpoint is None and self.checkpoint_file is not None and self.checkpoint_file.is_file():
            # The engine writes its checkpoint atomically (a rename) to the path it was given.
            checkpoint = (str(self.checkpoint_file), self.checkpoint_file.stat().st_size)
        if checkpoint is not None and checkpoint != self.recorded_checkpoint:
            values["checkpoint_path"], values["checkpoint_bytes"] = checkpoint
            self.recorded_checkpoint = checkpoint
        return values

    def relay(self, child: TrainingProcess) -> None:
        """Read the child's events until it closes its output, writing batches and honouring cancel."""
        last_flush = time.monotonic()
        while True:
            for event in child.events(timeout_s=self.settings.relay_flush_s):
                self.state.take(event)
            due = time.monotonic() - last_flush >= self.settings.relay_flush_s
            if child.eof or due or len(self.state.points) >= self.settings.relay_max_points:
                cancel = self.flush()
                last_flush = time.monotonic()
                if self.lost:
                    child.send(signal.SIGKILL)
                elif cancel and self.cancel_sent_at is None:
                    log.info("run %s: cancel requested, sending SIGTERM", self.run_id)
                    child.send(signal.SIGTERM)
                    self.cancel_sent_at = time.monotonic()
            if (
                self.cancel_sent_at is not None
                and not self.killed_for_cancel
                and time.monotonic() - self.cancel_sent_at > self.settings.cancel_grace_s
            ):
                log.warning(
                    "run %s: no exit %.0f s after SIGTERM, sending SIGKILL",
                    self.run_id,
                    self.settings.cancel_grace_s,
                )
                child.send(signal.SIGKILL)
                self.killed_for_cancel = True
            if child.eof:
                return

    # --- end -------------------------------------------------------------------------------------
    def wait_for_exit(self, child: TrainingProcess) -> ExitInfo:
        """Reap the child, keeping the run's heartbeat fresh meanwhile.

        A child that closed its event stream still has to tear down its interpreter (torch, tokenizers);
        on a loaded machine that took longer than ``stale_after_s``, and the sweep failed runs that had
        finished. One that has not exited ``cancel_grace_s`` after its stream ended is killed: whatever it
        reported stands.
        """
        deadline = time.monotonic() + self.settings.cancel_grace_s
        while (exit_info := child.wait_for(self.settings.heartbeat_s)) is None:
            self.flush(force_heartbeat=True)
            if time.monotonic() > deadline and not self.killed_for_cancel:
                log.warning(
                    "run %s: the training process has not exited %.0f s after its last event; "
                    "sending SIGKILL",
                    self.run_id,
                    self.settings.cancel_grace_s,
                )
                child.send(signal.SIGKILL)
                self.killed_for_cancel = True
        return exit_info

    def finish(self, child: TrainingProcess) -> str | None:
        """Record the final state from the ``finished`` event or the way the child died."""
        exit_info = self.wait_for_exit(child)
        finished = self.state.finished
        if self.lost:
            return None
        final_metrics: dict[str, Any] = {
            k: v for k, v in self.state.last_values.items() if k.startswith("eval/") or k == "train/loss"
        }
        final_metrics["kernel_max_rss_mb"] = round(exit_info.max_rss_mb, 1)
        peak = self.state.peak_mb
        memory_kind = self.state.memory_kind
        if finished is not None:
            summary = _json_safe(finished.get("summary") or {})
            final_metrics |= summary
            state = finished.get("status") or "failed"
            error = finished.get("reason")
            if memory_kind is not None:
                peak = summary_peak_mb(summary, memory_kind) or peak
        elif self.cancel_sent_at is not None:
            state, error = "cancelled", None
        else:
            state = "failed"
            error = describe_death(exit_info, child.oom_killed(), child.stderr_tail())
        # Killed from outside (an operator's SIGKILL, the OOM killer), not by this worker: resumable.
        resume = finished is None and killed_from_outside(exit_info, child, self)
        if peak is None and memory_kind == "host_rss" and exit_info.max_rss_mb:
            peak = exit_info.max_rss_mb  # the kernel's account of the same kind (loading included)
        if state not in FINISHED_STATES:
            state, error = "failed", describe("unknown_status", status=repr(state))
        while True:
            try:
                # Events still held by the relay (its last flush met an outage) go first.
                held = self.state.points or self.state.evals or self.state.started or self.state.zo_steps
                if held or resume:  # a resumption also needs the newest checkpoint recorded
                    self._write_batch(force_heartbeat=True)
                if resume:
                    seq = self._write_resume(error or "")
                else:
                    seq = self._write_final(state, error, peak, final_metrics)
                break
            except TRANSIENT_DB_ERRORS as failure:
                self.outage.failed(failure, "recording the final state")
                time.sleep(min(1.0, self.settings.relay_flush_s * 2))
        self.outage.ok()
        if seq is None or self.lost:
            return None
        if resume:
            return self.resumed_state
        publish(self.settings, self.poc_id, seq)
        log.info("run %s %s%s", self.run_id, state, f": {error}" if error else "")
        return state

    resumed_state: str | None = None

    def _write_resume(self, detail: str) -> int | None:
        """Requeue the run (or fail it past the limit) in one transaction, then send it; a seq stand-in."""
        with self.sessions() as session, session.begin():
            run = session.get(Run, self.run_id, with_for_update=True)
            if run is None or run.state != "running" or not self._still_ours(run.celery_task_id):
                return None
            run.step, run.forward_passes = self.state.step, self.state.forward_passes
            run.progress = self._progress()
            outcome: Outcome = resume_or_fail(session, run, self.settings, "killed", detail)
            queue = run.queue
        send_resumed(self.run_id, self.poc_id, queue, outcome, self.settings)
        self.resumed_state = outcome.state
        return outcome.seqs[-1] if outcome.seqs else None

    def _write_final(
        self, state: str, error: str | None, peak: float | None, final_metrics: dict[str, Any]
    ) -> int | None:
        """Record the final state in one transaction; the event seq, or None when the row moved on."""
        with self.sessions() as session, session.begin():
            run = session.get(Run, self.run_id, with_for_update=True)
            if run is None or run.state != "running" or not self._still_ours(run.celery_task_id):
                return None
            run.state, run.error, run.finished_at = state, error, utcnow()
            run.step, run.forward_passes = self.state.step, self.state.forward_passes
            run.progress = 1.0 if state == "succeeded" else self._progress()
            run.peak_memory_mb = peak
            run.memory_kind = self.state.memory_kind or run.memory_kind
            run.final_metrics = _json_safe(final_metrics)
            run.heartbeat_at = utcnow()
            return record_run_event(session, run)

    def fail_before_start(self, reason: str) -> None:
        """Mark the claimed run failed when its child could not even be started."""
        with self.sessions() as session, session.begin():
            run = session.get(Run, self.run_id, with_for_update=True)
            if run is None or run.state != "running":
                return
            run.state, run.error, run.finished_at = "failed", reason, utcnow()
            seq = record_run_event(session, run)
        publish(self.settings, self.poc_id, seq)


def killed_from_outside(exit_info: ExitInfo, child: TrainingProcess, execution: RunExecution) -> bool:
    """The child died by SIGKILL that this worker did not send (for a cancel, a lost row or a child that
    would not exit): an operator, the OOM killer or the machine. Such a run is resumed."""
    return (
        exit_info.signal_name == "SIGKILL"
        and child.signalled != "SIGKILL"
        and execution.cancel_sent_at is None
        and not execution.killed_for_cancel
        and not execution.lost
    )


# The file the engine writes every checkpoint_every_min into checkpoint_dir, and the one at the end.
RESUME_CHECKPOINT = "resume.pt"
FINAL_CHECKPOINT = "checkpoint.pt"


def checkpoint_folder(run_id: str, settings: Settings) -> Path:
    """The run's checkpoint folder on the shared data folder (a resuming worker reads it)."""
    folder = Path(settings.checkpoints_subdir)
    return (folder if folder.is_absolute() else settings.data_dir / folder) / run_id


def engine_accepts(field_name: str) -> bool:
    """Whether the engine's RunSpec has ``field_name`` (a spec with an unknown field is refused)."""
    from common.runspec import RunSpec

    return field_name in RunSpec.model_fields


def add_checkpointing(spec: dict[str, Any], run: Run, settings: Settings) -> Path | None:
    """Ask the engine for a periodic checkpoint of a gradient run (so a resumption loses at most
    ``checkpoint_every_min`` of training), at a path on the shared data folder; return that path.

    Zeroth-order runs need none: their step log is their checkpoint. A PoC may set its own interval
    (``checkpoint_every_min`` in its settings, e.g. tiny in tests).
    """
    from common.methods import get_method

    if get_method(run.method).kind == "zeroth_order" or not engine_accepts("checkpoint_every_min"):
        return None
    folder = checkpoint_folder(run.id, settings)
    folder.mkdir(parents=True, exist_ok=True)
    spec["checkpoint_dir"] = str(folder)  # its checkpoint.pt at the end is what an export reads
    every = run.poc.settings.get("checkpoint_every_min", settings.checkpoint_every_min)
    if not every:
        return None
    spec["checkpoint_every_min"] = every
    return folder / RESUME_CHECKPOINT


def missing_dataset_reason(spec: dict[str, Any], settings: Settings) -> str | None:
    """Why an uploaded dataset cannot be read on this worker, or None when it can (or is built in).

    Uploads live in the API's ``data_dir``; a worker on another machine sees them only when that folder is
    shared (the same volume or network folder mounted at ``ZOPOC_DATA_DIR``).
    """
    dataset = str(spec.get("dataset") or "")
    if os.sep not in dataset or Path(dataset).is_file():
        return None  # a built-in's name, or a readable file
    return describe(
        "dataset_not_on_worker",
        file=Path(dataset).name,
        folder=Path(dataset).parent,
        data_dir=settings.data_dir,
    )


def model_refusal(model: str, roots) -> str | None:
    """Why this worker will not start a run of ``model``, or None: a name that looks like a path must be a
    folder under the model roots (the API checked it at launch; a PoC from before that check, or a worker
    configured with other roots, is refused here with the API's own words, never with a file error)."""
    looks_like_a_path = model.startswith(("/", "~", ".")) or "\\" in model or ".." in model.split("/")
    if looks_like_a_path and local_model_folder(model, roots) is None:
        return str(unknown_model(model, roots))
    return None


def child_environment(settings: Settings, share: RunShare | None = None) -> dict[str, str]:
    """The training child's environment: ours, offline model hubs, its share of the worker's machine (thread
    limits, the one CUDA device of its slot). The repository is on PYTHONPATH: the child runs in an empty
    folder of its own (``execute_run``)."""
    share = share or RunShare(threads=settings.train_threads, cuda_device=None)
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ) | {
        "PYTHONUNBUFFERED": "1",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "ZOPOC_METHOD_PLUGINS": settings.method_plugins,
        "PYTHONPATH": python_path,
    }
    if share.threads:
        threads = str(share.threads)
        env |= {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "ZOPOC_TORCH_THREADS": threads}
    if share.cuda_device is not None:
        env["CUDA_VISIBLE_DEVICES"] = share.cuda_device
    return env


def execute_run(
    run_id: str,
    worker_name: str | None = None,
    task_id: str | None = None,
    settings: Settings | None = None,
    command: list[str] | None = None,
) -> str | None:
    """Run ``run_id`` to its end; return its final state (None when it did not apply or was taken away).

    ``command`` replaces ``python -m worker.train`` (the spec-file and events arguments are appended).
    """
    settings = settings or get_settings()
    execution = RunExecution(run_id, worker_name or socket.gethostname(), task_id, settings)
    while True:
        # The task's message is already acknowledged: a claim lost to a database outage would leave the
        # run queued with nothing to start it, so wait for the database (up to stale_after_s).
        try:
            spec = execution.claim()
            break
        except TRANSIENT_DB_ERRORS as error:
            execution.outage.failed(error, "claiming the run")
            time.sleep(1.0)
    execution.outage.ok()
    for poc_id, seq in execution.after_claim:
        publish(settings, poc_id, seq)
    if spec is None:
        return None
    refused = model_refusal(str(spec.get("model") or ""), settings.model_roots)
    missing = refused or missing_dataset_reason(spec, settings)
    if missing:
        execution.fail_before_start(missing)
        return "failed"
    with tempfile.TemporaryDirectory(prefix=f"zopoc-run-{run_id[:8]}-") as folder:
        spec_path = Path(folder) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        # The child works in an empty folder of its own: a model or file name it is given can never
        # resolve against the worker's folder (a name shaped like "org/name" once opened var/zopoc.db).
        workdir = Path(folder) / "work"
        workdir.mkdir()
        argv = [
            *(command or [sys.executable, "-m", "worker.train"]),
            "--spec-file",
            str(spec_path),
            "--events-out",
            "-",
        ]
        share = run_share(settings, execution.device_kind)
        if share.threads and command is None:
            argv += ["--threads", str(share.threads)]
        if execution.resume_bytes is not None:
            resume_file = Path(folder) / "resume.zolog"
            resume_file.write_bytes(execution.resume_bytes)
            argv += ["--resume-file", str(resume_file)]
        elif execution.resume_path is not None:
            argv += ["--resume-file", execution.resume_path]
        try:
            child = TrainingProcess(
                argv,
                env=child_environment(settings, share),
                cwd=workdir,
                stderr_path=Path(folder) / "stderr.log",
                nice=settings.train_nice,
            )
        except OSError as error:
            execution.fail_before_start(describe("process_not_started", detail=error))
            return "failed"
        try:
            execution.relay(child)
        except BaseException:
            child.send(signal.SIGKILL)
            child.wait()
            raise
        return execution.finish(child)
