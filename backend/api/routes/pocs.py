"""PoCs: create (validated, runs queued), list, get, delete; a PoC's runs."""

from __future__ import annotations

from typing import Annotated, cast

import sqlalchemy as sa
from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from backend import pocs as service
from backend.api.deps import AccessDep, PocDep, SessionDep, SettingsDep
from backend.api.errors import INVALID, NOT_FOUND
from backend.auth.policy import Access
from backend.db.models import Poc, PocEvent
from backend.schemas import (
    PocCreate,
    PocPublic,
    PocsPublic,
    PocState,
    PocTiming,
    RunPublic,
    RunsPublic,
)
from backend.resume import resumption_steps
from backend.timing import poc_timings

router = APIRouter(prefix="/pocs", tags=["pocs"])


def launcher(access: Access) -> service.Launcher:
    """The caller as the one who launches runs (their role: in the workspace of the PoC)."""
    return service.Launcher(user_id=access.signed_in.id, email=access.signed_in.email, role=access.role or "")


def last_event_seqs(session: Session, poc_ids: list[str]) -> dict[str, int]:
    """The newest event seq of each PoC (one grouped query on the (poc_id, seq) index)."""
    if not poc_ids:
        return {}
    rows = session.execute(
        sa.select(PocEvent.poc_id, sa.func.max(PocEvent.seq))
        .where(PocEvent.poc_id.in_(poc_ids))
        .group_by(PocEvent.poc_id)
    )
    return {poc_id: seq for poc_id, seq in rows}


def poc_public(
    poc: Poc,
    last_event_seq: int = 0,
    timing: PocTiming | None = None,
    resumed: dict[str, list[int]] | None = None,
) -> PocPublic:
    resumed = resumed or {}
    return PocPublic(
        id=poc.id,
        name=poc.name,
        model=poc.model,
        dataset_id=poc.dataset_id,
        dataset_name=poc.dataset.name,
        state=cast(PocState, poc.state),  # the column holds one of the states
        created_at=poc.created_at,
        created_by=poc.created_by,
        settings=poc.settings,
        runs=[
            RunPublic.model_validate(r).model_copy(update={"resumed_at_steps": resumed.get(r.id, [])})
            for r in poc.runs
        ],
        last_event_seq=last_event_seq,
        timing=timing,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PocPublic,
    responses=INVALID,
    summary="Create a PoC and queue one run per method",
    description="Everything is checked first (model, dataset, every hyperparameter against its "
    "range, LOZO rank against the model's layers); on any problem nothing is written.",
)
def create_poc(body: PocCreate, session: SessionDep, settings: SettingsDep, access: AccessDep) -> PocPublic:
    poc = service.create_poc(body, session, settings, launcher(access), workspace_id=access.workspace)
    return poc_public(
        poc, last_event_seqs(session, [poc.id]).get(poc.id, 0), poc_timings(session, [poc]).get(poc.id)
    )


@router.get("", response_model=PocsPublic, summary="PoCs, newest first")
def list_pocs(
    session: SessionDep,
    access: AccessDep,
    q: Annotated[str | None, Query(max_length=200, description="part of the name or model")] = None,
    state: Annotated[PocState | None, Query(description="only PoCs in this derived state")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1, description="rows to skip (a BIGINT in SQL)")] = 0,
) -> PocsPublic:
    query = sa.select(Poc).where(Poc.deleted_at.is_(None), Poc.workspace_id == access.workspace_id)
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(
            sa.or_(sa.func.lower(Poc.name).like(pattern), sa.func.lower(Poc.model).like(pattern))
        )
    query = query.order_by(Poc.created_at.desc(), Poc.id)
    if state is not None:
        query = query.where(Poc.state == state)
    count = session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    pocs = session.scalars(query.limit(limit).offset(offset)).all()
    seqs = last_event_seqs(session, [p.id for p in pocs])
    timings = poc_timings(session, pocs)
    data = [poc_public(p, seqs.get(p.id, 0), timings.get(p.id)) for p in pocs]
    return PocsPublic(data=data, count=count or 0)


@router.get("/{poc_id}", response_model=PocPublic, responses=NOT_FOUND, summary="One PoC with its runs")
def get_poc(poc: PocDep, session: SessionDep) -> PocPublic:
    # Read before the runs: the stream started after this seq repeats rather than misses a change.
    seq = last_event_seqs(session, [poc.id]).get(poc.id, 0)
    session.expire(poc, ["runs"])
    resumed = resumption_steps(session, [r.id for r in poc.runs if r.resumes])
    return poc_public(poc, seq, poc_timings(session, [poc]).get(poc.id), resumed)


@router.get(
    "/{poc_id}/runs",
    response_model=RunsPublic,
    responses=NOT_FOUND,
    summary="Every run of a PoC, retries included, oldest first",
)
def list_runs(poc: PocDep) -> RunsPublic:
    return RunsPublic(data=[RunPublic.model_validate(r) for r in poc.runs], count=len(poc.runs))


@router.delete(
    "/{poc_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=NOT_FOUND,
    summary="Delete a PoC (its unfinished runs are cancelled first)",
)
def delete_poc(poc: PocDep, session: SessionDep, settings: SettingsDep) -> Response:
    service.delete_poc(poc, session, settings)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
