"""Runs: get, cancel, retry; download the step log, prepare and download the model folder."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import FileResponse, Response

from backend import artifacts

from backend import pocs as service
from backend.api.deps import AccessDep, RunDep, SessionDep, SettingsDep
from backend.api.errors import CONFLICT, NOT_FOUND
from backend.api.routes.pocs import launcher
from backend.db.models import Run
from backend.dispatch import enqueue_export
from backend.schemas import ExportPublic, RunPublic, StepLogPublic

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


# --- downloads: the step log and the model folder ------------------------------------------------------


def _export_public(run: Run) -> ExportPublic:
    return ExportPublic(run_id=run.id, state=run.export_state, bytes=run.export_bytes, error=run.export_error)


@router.get(
    "/{run_id}/steplog/info",
    response_model=StepLogPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Size of a ZO run's step log and the command that rebuilds its weights",
)
def get_steplog_info(run: RunDep, session: SessionDep) -> StepLogPublic:
    info = artifacts.steplog_info(session, run)
    return StepLogPublic(
        run_id=run.id,
        steps=info.steps,
        bytes=info.bytes,
        filename=info.filename,
        rebuild_command=info.rebuild_command,
    )


@router.get(
    "/{run_id}/steplog",
    response_class=Response,
    responses={
        **NOT_FOUND,
        **CONFLICT,
        200: {"content": {"application/octet-stream": {}}, "description": "the binary step log"},
    },
    summary="Download a ZO run's step log",
    description="The binary log of `common/steplog.py` (28 bytes a step after a JSON header). The header "
    "`X-Zopoc-Rebuild-Command` holds the command that rebuilds the weights from it.",
)
def get_steplog(run: RunDep, session: SessionDep) -> Response:
    data = artifacts.steplog_bytes(session, run)
    return Response(
        content=data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{artifacts.steplog_filename(run)}"',
            "X-Zopoc-Rebuild-Command": artifacts.rebuild_command(run),
        },
    )


@router.get(
    "/{run_id}/export",
    response_model=ExportPublic,
    responses=NOT_FOUND,
    summary="Where the preparation of a run's model folder stands",
)
def get_export(run: RunDep) -> ExportPublic:
    return _export_public(run)


@router.post(
    "/{run_id}/export",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExportPublic,
    responses={**NOT_FOUND, **CONFLICT},
    summary="Prepare a model folder (zip) of a finished run's final weights",
    description="A worker rebuilds the weights (a ZO run from its step log, a gradient run from its final "
    "checkpoint) and saves them as a folder transformers loads. Asking again while one is queued, "
    "running or ready changes nothing.",
)
def post_export(run: RunDep, session: SessionDep, settings: SettingsDep) -> ExportPublic:
    if artifacts.request_export(session, run):
        try:
            enqueue_export(run.id, run.queue, settings)
        except Exception as error:  # the broker refused: say so on the row, the user may ask again
            run.export_state, run.export_error = "failed", f"could not be queued: {error}"
            session.commit()
    return _export_public(run)


@router.get(
    "/{run_id}/export/download",
    response_class=FileResponse,
    responses={
        **NOT_FOUND,
        **CONFLICT,
        200: {"content": {"application/zip": {}}, "description": "the model folder"},
    },
    summary="Download a run's prepared model folder (zip)",
)
def download_export(run: RunDep) -> FileResponse:
    path = artifacts.export_download(run)
    name = artifacts.steplog_filename(run).removesuffix(".zolog") + "-model.zip"
    return FileResponse(path, media_type="application/zip", filename=name)
