"""Runs: get, cancel, retry."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend import pocs as service
from backend.api.deps import AccessDep, RunDep, SessionDep, SettingsDep
from backend.api.errors import CONFLICT, NOT_FOUND
from backend.api.routes.pocs import launcher
from backend.schemas import RunPublic

router = APIRouter(prefix="/runs", tags=["runs"])


@router.get("/{run_id}", response_model=RunPublic, responses=NOT_FOUND, summary="One run")
def get_run(run: RunDep) -> RunPublic:
    return RunPublic.model_validate(run)


@router.post(
    "/{run_id}/cancel",
    response_model=RunPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Cancel a run",
    description="A queued run is cancelled at once; a running one gets `cancel_requested` and its "
    "worker ends the training process (the state turns `cancelled` shortly after).",
)
def cancel_run(run: RunDep, session: SessionDep, settings: SettingsDep) -> RunPublic:
    return RunPublic.model_validate(service.cancel_run(run, session, settings))


@router.post(
    "/{run_id}/retry",
    status_code=status.HTTP_201_CREATED,
    response_model=RunPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Run a finished run's method again (a new attempt)",
)
def retry_run(run: RunDep, session: SessionDep, settings: SettingsDep, access: AccessDep) -> RunPublic:
    return RunPublic.model_validate(service.retry_run(run, session, settings, launcher(access)))
