"""PoC and run life cycle: validate, create, enqueue, cancel, retry, delete. Knows nothing of HTTP.

The database row is the truth about a run; the service only creates runs (queued), cancels them and hands
them to the workers (``backend.dispatch``). Enqueueing happens after the commit, so a task never looks
for a row that is not there yet. Refusals are ``backend.errors`` exceptions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.limits import check_budget, reserve_runs
from backend.catalog import ModelInfo, UnknownModelError, resolve_hyperparams, resolve_model
from backend.core.config import Settings
from backend.db.models import FINISHED_STATES, Dataset, Poc, Report, Run, utcnow
from backend.dispatch import enqueue_run
from backend.errors import Conflict, Invalid, Problem
from backend.events import publish, record_run_event
from backend.schemas import PocCreate
from backend.workers import refuse_unserved
from common.methods import get_method
from common.reasons import describe
from common.runspec import GENERATION_DEFAULTS, run_settings_fields

log = logging.getLogger(__name__)


def poc_settings(body: PocCreate, dataset: Dataset | None = None) -> dict:
    """What the PoC row stores as its settings: every run setting, and the device kind; the task type is
    the dataset's."""
    settings = body.model_dump(include={*run_settings_fields(), "device"})
    if dataset is not None:
        settings["task_type"] = task_type_of(dataset)
        if settings["task_type"] == "generation":
            settings |= {k: v for k, v in GENERATION_DEFAULTS.items() if k not in body.model_fields_set}
    return settings


def validate_poc(
    body: PocCreate, session: Session, workspace_id: str | None = None, model_roots: Sequence[Path] = ()
) -> tuple[Dataset, list[tuple[str, dict]]]:
    """Check everything a PoC needs; raise one Invalid listing every problem, or return what to create."""
    problems: list[Problem] = []
    model = None
    try:
        model = resolve_model(body.model, model_roots)
    except UnknownModelError as exc:
        problems.append(Problem("model", str(exc)))

    dataset = session.get(Dataset, body.dataset_id)
    if dataset is not None and dataset.workspace_id not in (None, workspace_id):
        dataset = None  # another workspace's upload: as if it did not exist
    if dataset is None:
        problems.append(Problem("dataset_id", f"no dataset with id {body.dataset_id!r}"))
    else:
        problems.extend(_task_problems(body, dataset, model))

    if body.steps is None and body.max_minutes is None:
        problems.append(Problem("steps", "give a budget: steps, max_minutes or both"))
    seen: set[str] = set()
    methods: list[tuple[str, dict]] = []
    for i, choice in enumerate(body.methods):
        if choice.method in seen:
            problems.append(Problem(f"methods[{i}].method", f"{choice.method} is listed twice"))
            continue
        seen.add(choice.method)
        if model is None:
            continue
        given = choice.model_dump(exclude={"method"}, exclude_none=True)
        resolved, found = resolve_hyperparams(choice.method, given, model)
        problems.extend(Problem(f"methods[{i}].{p.field}", p.problem) for p in found)
        methods.append((choice.method, resolved))
    if problems:
        raise Invalid(problems)
    assert dataset is not None
    return dataset, methods


def task_type_of(dataset: Dataset) -> str:
    """The task a PoC on ``dataset`` trains: its kind decides (pairs are written, labelled texts classified)."""
    return "generation" if dataset.kind == "generation" else "classification"


def _task_problems(body: PocCreate, dataset: Dataset, model: ModelInfo | None) -> list[Problem]:
    """What stops this model and these settings from training the dataset's kind of task."""
    task = task_type_of(dataset)
    problems = []
    if "task_type" in body.model_fields_set and body.task_type != task:
        problems.append(
            Problem("task_type", f"{dataset.name!r} is a {task} dataset: its PoCs are {task} PoCs")
        )
    if task == "generation" and model is not None and model.kind == "encoder":
        problems.append(
            Problem(
                "model",
                f"a generation PoC needs a decoder (a causal language model); {model.id} is an encoder",
            )
        )
    if task != "generation" and body.zo_objective != "loss":
        problems.append(
            Problem("zo_objective", "−F1 as the objective scores generations: a generation dataset only")
        )
    return problems


def _new_run(poc: Poc, method: str, hyperparams: dict, attempt: int, launched_by: str) -> Run:
    settings = poc.settings
    return Run(
        poc=poc,
        method=method,
        hyperparams=hyperparams,
        state="queued",
        attempt=attempt,
        total_steps=settings.get("steps"),
        queue=settings.get("device", "cpu"),
        launched_by=launched_by,
    )


@dataclass(frozen=True)
class Launcher:
    """Who launches runs: the caller, and their role in the PoC's workspace (its budget caps apply)."""

    user_id: str
    email: str
    role: str


def create_poc(
    body: PocCreate, session: Session, settings: Settings, launcher: Launcher, *, workspace_id: str
) -> Poc:
    """Check the launcher's caps and the PoC; insert it with one queued run per method in one transaction
    (holding the launcher's lock, so parallel launches cannot pass the run cap together), commit, enqueue."""
    check_budget(settings, launcher.role, body.steps, body.max_minutes)
    if body.device == "gpu":  # a CPU run waits for the next CPU worker; a GPU may never come
        refuse_unserved(session, settings, "gpu")
    dataset, methods = validate_poc(body, session, workspace_id, settings.model_roots)
    reserve_runs(session, settings, launcher.user_id, len(methods))
    poc = Poc(
        name=body.name.strip(),
        model=body.model.strip(),
        dataset_id=dataset.id,
        workspace_id=workspace_id,
        settings=poc_settings(body, dataset),
        created_by=launcher.email,
        state="queued",
    )
    session.add(poc)
    runs = [
        _new_run(poc, method, hyperparams, attempt=1, launched_by=launcher.user_id)
        for method, hyperparams in methods
    ]
    session.add_all(runs)
    for run in runs:
        record_run_event(session, run)
    session.commit()
    for run in runs:
        enqueue(session, run, settings)
    publish(settings, poc.id)
    return poc


def enqueue(session: Session, run: Run, settings: Settings) -> None:
    """Hand a committed queued run to the workers; a broker failure fails the run with a reason."""
    try:
        run.celery_task_id = enqueue_run(run.id, run.queue, settings)
    except Exception:  # no broker: the run must not stay queued forever
        log.exception("could not queue run %s", run.id)
        session.refresh(run)
        if run.state == "queued":
            run.state, run.finished_at = "failed", utcnow()
            # The broker's own error (addresses, hosts) goes to the log; members read this sentence.
            run.error = describe("broker_refused")
            record_run_event(session, run)
    session.commit()


def cancel_run(run: Run, session: Session, settings: Settings) -> Run:
    """Cancel a run: a queued one at once, a running one by flagging it for its worker to end."""
    if run.state in FINISHED_STATES:
        raise Conflict(
            f"run {run.id} has already finished ({run.state})",
            code="run_already_finished",
            params={"state": run.state},
        )
    # Conditional updates: a worker may claim the run (queued -> running) at this very moment, and a
    # running run must never be marked cancelled behind its worker's back.
    cancelled_at_once = session.execute(  # an UPDATE answers with a cursor result, which has a rowcount
        sa.update(Run)
        .where(Run.id == run.id, Run.state == "queued")
        .values(
            state="cancelled",
            cancel_requested=True,
            finished_at=utcnow(),
            error=sa.func.coalesce(Run.error, describe("cancelled_before_start")),
        )
    ).rowcount  # type: ignore[attr-defined]
    if not cancelled_at_once:
        # Its worker reads the flag with every batch it writes (backend.dispatch: why no message).
        session.execute(
            sa.update(Run).where(Run.id == run.id, Run.state == "running").values(cancel_requested=True)
        )
    session.refresh(run)
    record_run_event(session, run)
    session.commit()
    publish(settings, run.poc_id)
    return run


def retry_run(run: Run, session: Session, settings: Settings, launcher: Launcher) -> Run:
    """A new queued run (attempt + 1) of the same PoC, method and hyperparameters; the old one stays.

    The same caps as a launch: the launcher's role's budget caps for the PoC's budget, and the launcher's
    run cap, checked under their lock; the PoC's row is locked too, so two retries of one run cannot
    both start a new attempt."""
    if run.state not in FINISHED_STATES:
        raise Conflict(
            f"run {run.id} is still {run.state}; cancel it before retrying",
            code="run_not_finished",
            params={"state": run.state},
        )
    poc = run.poc
    check_budget(settings, launcher.role, poc.settings.get("steps"), poc.settings.get("max_minutes"))
    if run.queue == "gpu":
        refuse_unserved(session, settings, "gpu")
    reserve_runs(session, settings, launcher.user_id, 1)
    session.execute(sa.select(Poc.id).where(Poc.id == poc.id).with_for_update())
    siblings = session.scalars(
        sa.select(Run)
        .where(Run.poc_id == poc.id, Run.method == run.method)
        .execution_options(populate_existing=True)
    ).all()
    newest = max(siblings, key=lambda r: r.attempt)
    if newest.state not in FINISHED_STATES:
        session.rollback()
        raise Conflict(
            f"{run.method} already has a newer attempt that is {newest.state}",
            code="newer_attempt_exists",
            params={"method": run.method, "state": newest.state},
        )
    takes = get_method(run.method).defaults
    hyperparams = {k: v for k, v in run.hyperparams.items() if k in takes}
    new = _new_run(poc, run.method, hyperparams, attempt=newest.attempt + 1, launched_by=launcher.user_id)
    session.add(new)
    record_run_event(session, new)
    session.commit()
    enqueue(session, new, settings)
    publish(settings, run.poc_id)
    return new


def delete_poc(poc: Poc, session: Session, settings: Settings) -> None:
    """Cancel the PoC's unfinished runs, revoke its share links, then hide it (the rows stay for audits)."""
    for run in poc.runs:
        if run.state not in FINISHED_STATES:
            cancel_run(run, session, settings)
    # A deleted PoC's reports must stop answering: a link shared for a year would otherwise outlive it.
    session.execute(
        sa.update(Report)
        .where(Report.poc_id == poc.id, Report.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    poc.deleted_at = utcnow()
    session.commit()
