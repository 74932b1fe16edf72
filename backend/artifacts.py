"""What a run leaves to download: its ZO step log and a model folder of its final weights. Knows nothing
of HTTP.

* The **step log** (``common.steplog``, 28 bytes a step plus a JSON header) is built from the ``zo_steps``
  rows and the header the engine announced; with the start model it rebuilds the weights exactly
  (``python -m worker.train replay``).
* The **model folder** (a zip of what ``save_pretrained`` writes, with the tokenizer) is prepared by a
  worker (``EXPORT_TASK``): a ZO run is replayed from its step log, a gradient run exported from its final
  checkpoint. ``runs.export_state`` says where it is: ``queued`` → ``running`` → ``ready`` | ``failed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.core.config import Settings
from backend.db.models import FINISHED_STATES, Run, ZoStep
from backend.errors import Conflict
from backend.resume import resume_log
from common.methods import get_method
from common.steplog import RECORD_BYTES, StepLogHeader, encode

EXPORT_STATES = ("queued", "running", "ready", "failed")


@dataclass(frozen=True)
class StepLogInfo:
    steps: int
    bytes: int
    filename: str
    rebuild_command: str


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "run"


def steplog_filename(run: Run) -> str:
    return f"{_slug(run.poc.name)}-{run.method}-{run.id[:8]}.zolog"


def rebuild_command(run: Run) -> str:
    """The command that rebuilds the run's weights from its downloaded step log, as a model folder."""
    return (
        f"python -m worker.train replay --log {steplog_filename(run)} "
        f"--out {_slug(run.poc.name)}-{run.method}-{run.id[:8]}"
    )


def _require_steplog(run: Run) -> dict:
    if get_method(run.method).kind != "zeroth_order":
        raise Conflict(
            f"{run.method} is not a zeroth-order method: its run has no step log",
            code="steplog_not_zo",
            params={"method": run.method},
        )
    if not run.steplog_header:
        # 409, not 404: a 404 means "no such run, or not yours" to every client.
        raise Conflict(
            "this run has no step log yet: its training process has not started stepping",
            code="steplog_missing",
        )
    return run.steplog_header


def steplog_info(session: Session, run: Run) -> StepLogInfo:
    """Size and name of the run's step log without building it."""
    header = _require_steplog(run)
    steps = session.scalar(sa.select(sa.func.count()).where(ZoStep.run_id == run.id)) or 0
    empty = len(encode(StepLogHeader.from_dict(header), []))
    return StepLogInfo(steps, empty + RECORD_BYTES * steps, steplog_filename(run), rebuild_command(run))


def steplog_bytes(session: Session, run: Run) -> bytes:
    """The run's binary step log (``common.steplog.encode``)."""
    _require_steplog(run)
    log = resume_log(session, run)
    assert log is not None  # a header exists (checked above)
    return log


def exports_folder(settings: Settings) -> Path:
    folder = Path(settings.exports_subdir)
    return folder if folder.is_absolute() else settings.data_dir / folder


def export_file(run_id: str, settings: Settings) -> Path:
    """Where the model folder's zip of ``run_id`` goes (on the data folder the API and workers share)."""
    return exports_folder(settings) / f"{run_id}.zip"


def request_export(session: Session, run: Run) -> bool:
    """Mark a finished run's model folder as queued (commit, then send ``EXPORT_TASK``); False when one
    is already queued, running or ready (nothing to send)."""
    if run.state not in FINISHED_STATES:
        raise Conflict(
            f"run {run.id} is still {run.state}: a model folder is prepared once it has finished",
            code="export_not_finished",
            params={"state": run.state},
        )
    if get_method(run.method).kind == "zeroth_order":
        _require_steplog(run)
    elif run.state != "succeeded":
        raise Conflict(
            f"only a run that succeeded has final weights to export ({run.method} keeps none otherwise)",
            code="export_no_weights",
            params={"method": run.method},
        )
    if run.export_state in ("queued", "running", "ready"):
        return False
    run.export_state, run.export_error, run.export_bytes, run.export_path = "queued", None, None, None
    session.commit()
    return True


def export_download(run: Run) -> Path:
    """The ready zip of the run's model folder, or a refusal that says why not."""
    if run.export_state != "ready" or not run.export_path or not Path(run.export_path).is_file():
        raise Conflict("no model folder of this run is ready; prepare one first", code="export_not_ready")
    return Path(run.export_path)
