"""Runs that outlive their worker: a run whose worker vanished, or whose training process was killed from
outside (SIGKILL, the kernel's OOM killer), goes back to the queue and continues where it was.

One decision for both places that notice a loss (the stale-run sweep, ``backend.sweep``, and the worker
that saw its child die, ``worker.execution.runner``): while ``resumes < max_resumes`` the run is made
``queued`` again with a fresh task id, ``resumes`` counts up, and a ``resumed`` event goes into the PoC's
history (a resumption of the same run, not a new attempt: ``attempt`` is unchanged). Past the limit it is
failed with the reason code ``run_resume_limit``. A run whose user asked to cancel is cancelled, never
resumed.

The next worker that claims a resumed run hands the engine ``--resume-file``: for a zeroth-order run the
step log rebuilt from the ``zo_steps`` rows (:func:`resume_log`), for a gradient run its latest periodic
checkpoint. Metric points, evaluations and steps are keyed by (run, name|kind, step) and inserted with
``ON CONFLICT DO NOTHING``, so what the resumed process reports again is neither doubled nor changed.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import PocEvent, Run, utcnow
from backend.dispatch import enqueue_run
from backend.events import publish, record_run_event
from backend.ingest import add_event, read_zo_steps
from common.steplog import StepLogHeader, encode

log = logging.getLogger(__name__)

RESUME_LIMIT_CODE = "run_resume_limit"
RESUME_LIMIT_REASON = (
    "the run lost its {cause} {times} and was resumed {resumes} of at most {limit} times; "
    "it was stopped this time: {detail}"
)
# What lost the run, as the event and the reason code's parameters name it.
CAUSES = ("lost_worker", "killed")
CAUSE_WORDS = {"lost_worker": "worker", "killed": "training process"}


@dataclass
class Outcome:
    """What :func:`resume_or_fail` did: the new state, the task id to send (resumed) and the event seqs."""

    state: str
    task_id: str | None
    seqs: list[int]


def resume_or_fail(session: Session, run: Run, settings: Settings, cause: str, detail: str) -> Outcome:
    """Requeue ``run`` (locked, ``running``, in the caller's transaction) or fail or cancel it.

    ``cause`` is one of ``CAUSES``; ``detail`` the English sentence of what happened (kept as ``error``
    when the run is failed). Send the returned ``task_id`` with :func:`send_resumed` after the commit.
    """
    now = utcnow()
    if run.cancel_requested:
        run.state, run.finished_at = "cancelled", now
        return Outcome("cancelled", None, [record_run_event(session, run)])
    if run.resumes < settings.max_resumes:
        task_id = str(uuid.uuid4())
        run.resumes += 1
        run.state, run.celery_task_id = "queued", task_id
        run.heartbeat_at, run.worker = None, None
        seqs = [
            add_event(
                session,
                run.poc_id,
                run.id,
                "resumed",
                {
                    "run_id": run.id,
                    "resumes": run.resumes,
                    "max_resumes": settings.max_resumes,
                    "step": run.step,
                    "cause": cause,
                    "detail": detail,
                },
            ),
            record_run_event(session, run),
        ]
        log.warning(
            "run %s lost its %s at step %d (%s); resumed (%d of %d)",
            run.id,
            CAUSE_WORDS[cause],
            run.step,
            detail,
            run.resumes,
            settings.max_resumes,
        )
        return Outcome("queued", task_id, seqs)
    run.state, run.finished_at = "failed", now
    if settings.max_resumes == 0:  # resuming is turned off: the loss itself is the reason
        run.error, run.error_code, run.error_params = detail, f"run_{cause}", {"cause": cause}
        return Outcome("failed", None, [record_run_event(session, run)])
    lost = run.resumes + 1
    run.error = RESUME_LIMIT_REASON.format(
        cause=CAUSE_WORDS[cause],
        times="once" if lost == 1 else f"{lost} times",
        resumes=run.resumes,
        limit=settings.max_resumes,
        detail=detail,
    )
    run.error_code = RESUME_LIMIT_CODE
    run.error_params = {"cause": cause, "resumes": run.resumes, "max_resumes": settings.max_resumes}
    return Outcome("failed", None, [record_run_event(session, run)])


def send_resumed(run_id: str, poc_id: str, queue: str, outcome: Outcome, settings: Settings) -> None:
    """After the commit: announce the outcome's events and send a resumed run to its queue."""
    for seq in outcome.seqs:
        publish(settings, poc_id, seq)
    if outcome.task_id is not None:
        enqueue_run(run_id, queue, settings, task_id=outcome.task_id)


def resume_log(session: Session, run: Run) -> bytes | None:
    """The step log of a zeroth-order run from its stored header and ``zo_steps`` rows; None without a
    header (the engine never announced one: the run had not started stepping)."""
    if not run.steplog_header:
        return None
    return encode(StepLogHeader.from_dict(run.steplog_header), read_zo_steps(session, run.id))


def resumption_steps(session: Session, run_ids: Collection[str]) -> dict[str, list[int]]:
    """Run id -> the steps at which it went back to the queue, in order (its ``resumed`` events): where the
    charts mark a resumption."""
    if not run_ids:
        return {}
    events = session.scalars(
        sa.select(PocEvent)
        .where(PocEvent.kind == "resumed", PocEvent.run_id.in_(list(run_ids)))
        .order_by(PocEvent.seq)
    ).all()
    steps: dict[str, list[int]] = {}
    for event in events:
        if event.run_id is not None:
            steps.setdefault(event.run_id, []).append(int(event.payload.get("step") or 0))
    return steps
