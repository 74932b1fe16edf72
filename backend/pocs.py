"""PoC and run life cycle on the API side: validate, create, enqueue, cancel, retry, delete.

The database row is the truth about a run; the API only creates runs (queued), cancels them and asks the
workers to start or stop (``worker.dispatch``). Enqueueing happens after the commit, so a task never looks
for a row that is not there yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from fastapi import HTTPException, status
from sqlalchemy.orm import Session

from backend.api.errors import problem
from backend.api.schemas import PocCreate
from backend.catalog import METHODS_BY_NAME, UnknownModelError, resolve_hyperparams, resolve_model
from backend.core.config import Settings
from backend.db.models import FINISHED_STATES, Dataset, Poc, Run, utcnow
from backend.events import add_run_event, announce

log = logging.getLogger(__name__)

SETTINGS_FIELDS = ("steps", "max_minutes", "batch_size", "seed", "k_shot", "eval_every", "device")


def latest_runs(runs: Sequence[Run]) -> list[Run]:
    """The newest attempt of each method (a retry replaces the run it retries), in creation order."""
    newest: dict[str, Run] = {}
    for run in sorted(runs, key=lambda r: (r.created_at, r.attempt)):
        newest[run.method] = run
    return list(newest.values())


def poc_state(runs: Sequence[Run]) -> str:
    """One state for the PoC, from the newest attempt of each method.

    All runs in one state: that state. Some still queued or running: "running" (or "queued" if nothing
    started). All finished but differently: "mixed".
    """
    states = {run.state for run in latest_runs(runs)}
    if not states:
        return "queued"
    if len(states) == 1:
        return states.pop()
    if states & {"running", "queued"}:
        return "running"
    return "mixed"


def validate_poc(body: PocCreate, session: Session,
                 workspace_id: str | None = None) -> tuple[Dataset, list[tuple[str, dict]]]:
    """Check everything a PoC needs; raise one 4xx listing every problem, or return what to create."""
    errors: list[dict] = []
    model = None
    try:
        model = resolve_model(body.model)
    except UnknownModelError as exc:
        errors.append({"row": None, "field": "model", "problem": str(exc)})

    from backend.datasets import ensure_builtin_datasets

    dataset = session.get(Dataset, body.dataset_id)
    if dataset is None and ensure_builtin_datasets(session):
        dataset = session.get(Dataset, body.dataset_id)
    if dataset is not None and dataset.workspace_id not in (None, workspace_id):
        dataset = None  # another workspace's upload: as if it did not exist
    if dataset is None:
        errors.append({"row": None, "field": "dataset_id",
                       "problem": f"no dataset with id {body.dataset_id!r}"})

    if body.steps is None and body.max_minutes is None:
        errors.append({"row": None, "field": "steps",
                       "problem": "give a budget: steps, max_minutes or both"})
    seen: set[str] = set()
    methods: list[tuple[str, dict]] = []
    for i, choice in enumerate(body.methods):
        if choice.method in seen:
            errors.append({"row": None, "field": f"methods[{i}].method",
                           "problem": f"{choice.method} is listed twice"})
            continue
        seen.add(choice.method)
        if model is None:
            continue
        given = choice.model_dump(exclude={"method"}, exclude_none=True)
        resolved, problems = resolve_hyperparams(choice.method, given, model)
        errors.extend({"row": None, "field": f"methods[{i}].{p.field}", "problem": p.problem}
                      for p in problems)
        methods.append((choice.method, resolved))
    if errors:
        message = "; ".join(f"{e['field']}: {e['problem']}" for e in errors[:3])
        raise problem(status.HTTP_422_UNPROCESSABLE_CONTENT, message, errors)
    return dataset, methods


def _new_run(poc: Poc, method: str, hyperparams: dict, attempt: int) -> Run:
    settings = poc.settings
    return Run(poc=poc, method=method, hyperparams=hyperparams, state="queued", attempt=attempt,
               total_steps=settings.get("steps"), queue=settings.get("device", "cpu"))


def create_poc(body: PocCreate, session: Session, settings: Settings, created_by: str = "local", *,
               workspace_id: str) -> Poc:
    """Validate, insert the PoC with one queued run per method in one transaction, commit, enqueue."""
    dataset, methods = validate_poc(body, session, workspace_id)
    poc = Poc(name=body.name.strip(), model=body.model.strip(), dataset_id=dataset.id,
              workspace_id=workspace_id,
              settings=body.model_dump(include=set(SETTINGS_FIELDS)), created_by=created_by)
    session.add(poc)
    runs = [_new_run(poc, method, hyperparams, attempt=1) for method, hyperparams in methods]
    session.add_all(runs)
    for run in runs:
        add_run_event(session, run)
    session.commit()
    for run in runs:
        enqueue(session, run)
    announce(settings, poc.id)
    return poc


def enqueue(session: Session, run: Run) -> None:
    """Hand a committed queued run to the workers; a broker failure fails the run with a reason."""
    try:
        from worker.dispatch import enqueue_run

        run.celery_task_id = enqueue_run(run.id, run.queue)
    except Exception as exc:  # no broker: the run must not stay queued forever
        log.exception("could not queue run %s", run.id)
        session.refresh(run)
        if run.state == "queued":
            run.state, run.finished_at = "failed", utcnow()
            run.error = ("could not be queued: the task broker did not accept it "
                         f"({exc.__class__.__name__}: {exc})")
            add_run_event(session, run)
    session.commit()


def cancel_run(run: Run, session: Session, settings: Settings) -> Run:
    """Cancel a run: a queued one at once, a running one by asking its worker to end the child."""
    if run.state in FINISHED_STATES:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"run {run.id} has already finished ({run.state})")
    # Conditional updates: a worker may claim the run (queued -> running) at this very moment, and a
    # running run must never be marked cancelled behind its worker's back.
    cancelled_at_once = session.execute(
        sa.update(Run).where(Run.id == run.id, Run.state == "queued")
        .values(state="cancelled", cancel_requested=True, finished_at=utcnow(),
                error=sa.func.coalesce(Run.error, "cancelled before it started"))
    ).rowcount
    if not cancelled_at_once:
        session.execute(sa.update(Run).where(Run.id == run.id, Run.state == "running")
                        .values(cancel_requested=True))
    session.refresh(run)
    add_run_event(session, run)
    session.commit()
    try:
        from worker.dispatch import request_cancel

        request_cancel(run.id)
    except Exception:  # the flag in the database is what the worker honours
        log.exception("cancel nudge for run %s failed", run.id)
    announce(settings, run.poc_id)
    return run


def retry_run(run: Run, session: Session, settings: Settings) -> Run:
    """A new queued run (attempt + 1) of the same PoC, method and hyperparameters; the old one stays."""
    if run.state not in FINISHED_STATES:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"run {run.id} is still {run.state}; cancel it before retrying")
    siblings = [r for r in run.poc.runs if r.method == run.method]
    newest = max(siblings, key=lambda r: r.attempt)
    if newest.state not in FINISHED_STATES:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            detail=f"{run.method} already has a newer attempt that is {newest.state}")
    hyperparams = {k: v for k, v in run.hyperparams.items() if k in METHODS_BY_NAME[run.method].defaults}
    new = _new_run(run.poc, run.method, hyperparams, attempt=newest.attempt + 1)
    session.add(new)
    add_run_event(session, new)
    session.commit()
    enqueue(session, new)
    announce(settings, run.poc_id)
    return new


def delete_poc(poc: Poc, session: Session, settings: Settings) -> None:
    """Cancel the PoC's unfinished runs, then hide it (the rows stay for reports and audits)."""
    for run in poc.runs:
        if run.state not in FINISHED_STATES:
            cancel_run(run, session, settings)
    poc.deleted_at = utcnow()
    session.commit()
