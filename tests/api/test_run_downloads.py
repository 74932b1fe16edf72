"""Downloads of a run: its ZO step log (binary, named, with the rebuild command) and the model folder's
preparation (queued on the real broker; tests/service/test_service_export.py runs the worker's side)."""

from __future__ import annotations

import math

from backend.db.models import Run
from backend.ingest import write_zo_steps
from common.steplog import StepLogHeader, StepRecord, decode


def finish(sessions, run_id: str, state: str = "succeeded", header: bool = True) -> list[StepRecord]:
    records = [
        StepRecord(step, 1.0 / (3 * step), -math.inf if step == 2 else 0.25, 1e-3) for step in (1, 2, 3)
    ]
    with sessions() as session, session.begin():
        run = session.get(Run, run_id)
        run.state = state
        if header:
            run.steplog_header = StepLogHeader(
                method=run.method, seed=0, model="tiny-bert", lr=1e-3, zo_eps=1e-3
            ).to_dict()
            write_zo_steps(session, run_id, records)
    return records


def test_a_zo_runs_step_log_downloads_with_its_size_name_and_rebuild_command(client, make_poc, sessions):
    lozo = make_poc(name="log test", methods=[{"method": "lozo"}])["runs"][0]
    records = finish(sessions, lozo["id"])
    info = client.get(f"/api/runs/{lozo['id']}/steplog/info")
    assert info.status_code == 200, info.text
    body = info.json()
    response = client.get(f"/api/runs/{lozo['id']}/steplog")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["content-disposition"] == f'attachment; filename="{body["filename"]}"'
    assert body["filename"] == f"log-test-lozo-{lozo['id'][:8]}.zolog"
    assert response.headers["x-zopoc-rebuild-command"] == body["rebuild_command"]
    assert body["rebuild_command"].startswith(
        f"python -m worker.train replay --log {body['filename']} --out "
    )
    assert (body["steps"], body["bytes"]) == (3, len(response.content))
    header, back = decode(response.content)
    assert header.method == "lozo" and back == records


def test_a_gradient_run_has_no_step_log_and_a_zo_run_none_before_it_steps(client, make_poc, sessions):
    lozo, adamw = make_poc(name="no log")["runs"]
    answer = client.get(f"/api/runs/{adamw['id']}/steplog")
    assert answer.status_code == 409 and answer.json()["code"] == "steplog_not_zo"
    answer = client.get(f"/api/runs/{lozo['id']}/steplog/info")
    assert answer.status_code == 409 and answer.json()["code"] == "steplog_missing"


def test_model_folder_is_prepared_once_for_a_finished_run(client, make_poc, sessions):
    lozo = make_poc(name="export", methods=[{"method": "lozo"}])["runs"][0]
    early = client.post(f"/api/runs/{lozo['id']}/export")
    assert early.status_code == 409 and early.json()["code"] == "export_not_finished"
    assert client.get(f"/api/runs/{lozo['id']}/export").json() == {
        "run_id": lozo["id"],
        "state": None,
        "bytes": None,
        "error": None,
    }
    finish(sessions, lozo["id"])
    first = client.post(f"/api/runs/{lozo['id']}/export")
    assert first.status_code == 202 and first.json()["state"] == "queued"
    again = client.post(f"/api/runs/{lozo['id']}/export")
    assert again.status_code == 202 and again.json()["state"] == "queued"
    assert client.get(f"/api/runs/{lozo['id']}").json()["export_state"] == "queued"
    missing = client.get(f"/api/runs/{lozo['id']}/export/download")
    assert missing.status_code == 409 and missing.json()["code"] == "export_not_ready"


def test_a_failed_gradient_run_has_no_weights_to_export(client, make_poc, sessions):
    adamw = make_poc(name="failed", methods=[{"method": "adamw"}])["runs"][0]
    finish(sessions, adamw["id"], state="failed", header=False)
    answer = client.post(f"/api/runs/{adamw['id']}/export")
    assert answer.status_code == 409 and answer.json()["code"] == "export_no_weights"
