"""Prepare a run's model folder: rebuild its final weights with the engine's tools in a child process and
zip what ``save_pretrained`` wrote (``backend.artifacts``, ``EXPORT_TASK``).

A ZO run is replayed from its step log (``python -m worker.train replay --log F --out DIR``: the start
model plus the recorded steps give the trained weights bit for bit); a gradient run is exported from the
final checkpoint its engine wrote into the run's checkpoint folder (``python -m worker.train export``).
The row's ``export_state`` moves ``queued`` → ``running`` → ``ready`` | ``failed``; the zip lands on the data
folder the API serves it from, written under a temporary name and renamed, so a half-written zip is never
served.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from backend.artifacts import export_file
from backend.core.config import Settings, get_settings
from backend.db.models import Run
from backend.db.session import make_sessionmaker
from backend.resume import resume_log
from common.methods import get_method
from worker.execution.runner import FINAL_CHECKPOINT, checkpoint_folder, child_environment
from worker.slots import run_share

log = logging.getLogger(__name__)

# Seconds a rebuild may take before it is given up (a replay costs about a forward pass a step).
EXPORT_TIMEOUT_S = 3 * 3600


def _tail(text: str, n_lines: int = 5) -> str:
    return "\n".join([line for line in text.splitlines() if line.strip()][-n_lines:])


def _set(settings: Settings, run_id: str, **values) -> None:
    with make_sessionmaker(settings.database_url)() as session, session.begin():
        run = session.get(Run, run_id, with_for_update=True)
        if run is not None:
            for key, value in values.items():
                setattr(run, key, value)


def export_run(run_id: str, settings: Settings | None = None, python: str | None = None) -> str | None:
    """Build run ``run_id``'s model folder zip; return the final export state (None: nothing to do)."""
    settings = settings or get_settings()
    sessions = make_sessionmaker(settings.database_url)
    with sessions() as session, session.begin():
        run = session.get(Run, run_id, with_for_update=True)
        if run is None or run.export_state != "queued":
            return None
        run.export_state = "running"
        zeroth_order = get_method(run.method).kind == "zeroth_order"
        log_bytes = resume_log(session, run) if zeroth_order else None
    with tempfile.TemporaryDirectory(prefix=f"zopoc-export-{run_id[:8]}-") as folder:
        out = Path(folder) / "model"
        command = [python or sys.executable, "-m", "worker.train"]
        if zeroth_order:
            if log_bytes is None:
                _set(settings, run_id, export_state="failed", export_error="the run has no step log")
                return "failed"
            log_path = Path(folder) / "steps.zolog"
            log_path.write_bytes(log_bytes)
            command += ["replay", "--log", str(log_path), "--out", str(out)]
        else:
            checkpoint = checkpoint_folder(run_id, settings) / FINAL_CHECKPOINT
            if not checkpoint.is_file():
                missing = f"the run's final checkpoint is not on this worker ({checkpoint})"
                _set(settings, run_id, export_state="failed", export_error=missing)
                return "failed"
            command += ["export", "--checkpoint", str(checkpoint), "--out", str(out)]
        # A slot of the worker like a run: on a worker of several slots it takes only its share of the cores.
        share = run_share(settings, "cpu")
        if share.threads:
            command += ["--threads", str(share.threads)]
        try:
            done = subprocess.run(
                command,
                cwd=folder,
                env=child_environment(settings, share),
                capture_output=True,
                text=True,
                timeout=EXPORT_TIMEOUT_S,
            )
        except (OSError, subprocess.TimeoutExpired) as failure:
            _set(
                settings, run_id, export_state="failed", export_error=f"the rebuild did not finish: {failure}"
            )
            return "failed"
        if done.returncode != 0 or not out.is_dir():
            reason = f"the rebuild exited with code {done.returncode}: {_tail(done.stderr or done.stdout)}"
            _set(settings, run_id, export_state="failed", export_error=reason)
            log.warning("export of run %s failed: %s", run_id, reason)
            return "failed"
        target = export_file(run_id, settings)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(shutil.make_archive(str(Path(folder) / "model-zip"), "zip", root_dir=out))
        staged = target.with_suffix(".zip.partial")
        shutil.copyfile(partial, staged)
        os.replace(staged, target)
    size = target.stat().st_size
    _set(
        settings, run_id, export_state="ready", export_path=str(target), export_bytes=size, export_error=None
    )
    log.info("model folder of run %s ready: %s (%d bytes)", run_id, target, size)
    return "ready"
