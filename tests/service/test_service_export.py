"""A finished run's model folder: the real engine trains, the worker's export rebuilds the weights (a ZO
run by replaying its stored step log, AdamW from its final checkpoint) and zips the folder; the folder's
``weights_sha256`` is the one the run finished with."""

from __future__ import annotations

import json
import zipfile

import pytest

from backend.artifacts import steplog_info
from backend.db.models import Run
from worker.execution.export import export_run
from worker.execution.runner import execute_run


@pytest.mark.parametrize("method", ["lozo", "adamw"])
def test_export_rebuilds_the_final_weights_as_a_model_folder(sessions, make_run, settings, method):
    run = make_run(method=method, steps=6)
    assert execute_run(run.id, settings=settings) == "succeeded"
    with sessions() as session, session.begin():
        done = session.get(Run, run.id)
        finished_sha = done.final_metrics["weights_sha256"]
        if method == "lozo":
            info = steplog_info(session, done)
            assert info.steps == 6 and info.bytes > 6 * 28
        done.export_state = "queued"

    assert export_run(run.id, settings=settings) == "ready"
    with sessions() as session:
        ready = session.get(Run, run.id)
        assert ready.export_state == "ready" and ready.export_error is None
        with zipfile.ZipFile(ready.export_path) as folder:
            names = set(folder.namelist())
            meta = json.loads(folder.read("zopoc.json"))
        assert ready.export_bytes > 0
    assert "config.json" in names and any(n.endswith(".safetensors") for n in names)
    assert meta["weights_sha256"] == finished_sha, "the folder holds the weights the run ended with"
    assert export_run(run.id, settings=settings) is None, "a ready export is not prepared again"
