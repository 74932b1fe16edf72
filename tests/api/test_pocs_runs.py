"""PoCs and runs: create (validated, queued on the real broker), list, get, delete, cancel, retry."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from kombu import Connection

from backend.core.config import VAR_DIR
from backend.db.models import Poc, PocEvent, Run
from common.runspec import RunSettings
from tests.support.db import count_rows

UNKNOWN = "00000000-0000-0000-0000-000000000000"


def queued_messages(settings, kind: str = "cpu") -> int:
    """Messages waiting in the broker queue of ``kind`` (no worker consumes them in these tests)."""
    from backend.dispatch import queue_name

    with Connection(settings.broker_url, transport_options=settings.broker_transport_options()) as connection:
        # Not passive: kombu's Redis transport misses prefixed queues on a passive declare.
        _name, count, _consumers = connection.default_channel.queue_declare(queue=queue_name(kind, settings))
        return count


def test_create_poc_queues_one_run_per_method(client, make_poc, sessions, settings, builtin_dataset_id):
    before = queued_messages(settings)
    poc = make_poc(
        name="sentiment PoC", methods=[{"method": "lozo", "rank": 4}, {"method": "adamw", "lr": 2e-5}]
    )
    assert poc["state"] == "queued"
    assert (poc["name"], poc["model"], poc["dataset_id"], poc["dataset_name"]) == (
        "sentiment PoC",
        "tiny-bert",
        builtin_dataset_id,
        "demo-sentiment",
    )
    # Every run setting is stored (the defaults of common.runspec where the body gave none), and the device.
    assert poc["settings"] == {**RunSettings(steps=5).model_dump(), "device": "cpu"}
    lozo, adamw = poc["runs"]
    assert (lozo["method"], lozo["state"], lozo["attempt"], lozo["total_steps"]) == ("lozo", "queued", 1, 5)
    assert lozo["hyperparams"] == {"lr": None, "zo_eps": 1e-3, "weight_decay": 0.0, "rank": 4, "nu": 50}
    assert adamw["hyperparams"] == {"lr": 2e-5, "weight_decay": 0.0}
    with sessions() as session:
        runs = session.scalars(sa.select(Run).where(Run.poc_id == poc["id"])).all()
        assert all(r.celery_task_id for r in runs)
        events = session.scalars(sa.select(PocEvent).where(PocEvent.poc_id == poc["id"])).all()
        assert [(e.kind, e.payload["state"]) for e in events] == [("run", "queued"), ("run", "queued")]
    assert queued_messages(settings) == before + 2


def test_the_zo_step_bound_goes_to_zeroth_order_runs_only(
    client, make_poc, sessions, settings, builtin_dataset_id
):
    from worker.execution.spec import build_spec

    poc = make_poc(methods=[{"method": "lozo"}, {"method": "mezo"}, {"method": "adamw"}], zo_clip=2.0)
    assert poc["settings"]["zo_clip"] == 2.0
    with sessions() as session:
        runs = session.scalars(sa.select(Run).where(Run.poc_id == poc["id"])).all()
        specs = {run.method: build_spec(run, settings) for run in runs}
    assert specs["lozo"]["zo_clip"] == specs["mezo"]["zo_clip"] == 2.0 and "zo_clip" not in specs["adamw"]
    body = {"name": "x", "model": "tiny-bert", "dataset_id": builtin_dataset_id, "steps": 5, "zo_clip": 0.5}
    refused = client.post("/api/pocs", json=body)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["detail"]["errors"]] == ["zo_clip"]


def test_default_methods_are_lozo_and_adamw(make_poc):
    assert [r["method"] for r in make_poc()["runs"]] == ["lozo", "adamw"]


def test_get_and_list_pocs(client, make_poc):
    first = make_poc(name="alpha one")
    second = make_poc(name="beta two", model="tiny-gpt2")
    fetched = client.get(f"/api/pocs/{first['id']}").json()
    assert fetched["id"] == first["id"] and fetched["runs"] == first["runs"]
    assert fetched["last_event_seq"] > 0
    assert [p["id"] for p in client.get("/api/pocs").json()["data"]] == [second["id"], first["id"]]
    assert client.get("/api/pocs", params={"q": "ALPHA"}).json()["data"][0]["id"] == first["id"]
    assert client.get("/api/pocs", params={"q": "gpt2"}).json()["count"] == 1
    page = client.get("/api/pocs", params={"limit": 1, "offset": 1}).json()
    assert page["count"] == 2 and [p["id"] for p in page["data"]] == [first["id"]]
    runs = client.get(f"/api/pocs/{first['id']}/runs").json()
    assert runs["count"] == 2 and [r["id"] for r in runs["data"]] == [r["id"] for r in first["runs"]]


def test_list_filters_by_derived_state(client, make_poc):
    queued = make_poc(name="q")
    mixed = make_poc(name="m")
    for run in mixed["runs"]:
        client.post(f"/api/runs/{run['id']}/cancel")
    assert client.get(f"/api/pocs/{mixed['id']}").json()["state"] == "cancelled"
    body = client.get("/api/pocs", params={"state": "queued"}).json()
    assert (body["count"], body["data"][0]["id"]) == (1, queued["id"])
    assert client.get("/api/pocs", params={"state": "cancelled"}).json()["data"][0]["id"] == mixed["id"]
    assert client.get("/api/pocs", params={"state": "bogus"}).status_code == 422


def test_delete_cancels_runs_and_hides_the_poc(client, make_poc, sessions):
    poc = make_poc()
    assert client.delete(f"/api/pocs/{poc['id']}").status_code == 204
    assert client.get(f"/api/pocs/{poc['id']}").json() == {"detail": f"PoC {poc['id']} not found"}
    assert client.get(f"/api/runs/{poc['runs'][0]['id']}").status_code == 404
    assert client.get("/api/pocs").json()["count"] == 0
    with sessions() as session:
        runs = session.scalars(sa.select(Run).where(Run.poc_id == poc["id"]))
        assert {r.state for r in runs} == {"cancelled"}
    assert client.delete(f"/api/pocs/{poc['id']}").status_code == 404


BAD_POCS = [
    (
        {"model": "nobody-knows"},
        "model",
        (
            "unknown model 'nobody-knows': use a built-in model (minilm, smollm2-135m, gemma3-270m, tiny-bert, tiny-gpt2), "
            "a Hugging Face id such as 'org/name', or a folder with config.json under the server's model folders "
            f"({VAR_DIR / 'models'})"
        ),
    ),
    (
        {"methods": [{"method": "lozo", "lr": 0.5}]},
        "methods[0].lr",
        "0.5 is out of range for LOZO: allowed 1e-09 to 0.01",
    ),
    (
        {"methods": [{"method": "adamw", "lr": 0}]},
        "methods[0].lr",
        "0 is out of range for AdamW: allowed 1e-08 to 0.1",
    ),
    (
        {"methods": [{"method": "mezo", "zo_eps": 1.0}]},
        "methods[0].zo_eps",
        "1 is out of range for MeZO: allowed 1e-06 to 0.1",
    ),
    (
        {"methods": [{"method": "lozo", "rank": 33}]},
        "methods[0].rank",
        "rank 33 is larger than the smallest layer dimension (32) of tiny-bert",
    ),
    ({"methods": [{"method": "adamw", "rank": 2}]}, "methods[0].rank", "AdamW takes no parameter 'rank'"),
    ({"methods": [{"method": "lozo"}, {"method": "lozo"}]}, "methods[1].method", "lozo is listed twice"),
    ({"dataset_id": UNKNOWN}, "dataset_id", f"no dataset with id '{UNKNOWN}'"),
    ({"steps": None, "max_minutes": None}, "steps", "give a budget: steps, max_minutes or both"),
]


@pytest.mark.parametrize(
    ("change", "field", "problem"), BAD_POCS, ids=[b[1] + ":" + b[2][:20] for b in BAD_POCS]
)
def test_bad_poc_is_refused_and_writes_nothing(
    client, sessions, settings, builtin_dataset_id, change, field, problem
):
    before = (
        count_rows(sessions, Poc),
        count_rows(sessions, Run),
        count_rows(sessions, PocEvent),
        queued_messages(settings),
    )
    body = {"name": "bad", "model": "tiny-bert", "dataset_id": builtin_dataset_id, "steps": 5} | change
    response = client.post("/api/pocs", json=body)
    assert response.status_code == 422
    assert response.json() == {
        "detail": {
            "message": f"{field}: {problem}",
            "errors": [{"row": None, "field": field, "problem": problem}],
        }
    }
    after = (
        count_rows(sessions, Poc),
        count_rows(sessions, Run),
        count_rows(sessions, PocEvent),
        queued_messages(settings),
    )
    assert after == before


def test_schema_errors_use_the_same_shape(client, sessions):
    response = client.post(
        "/api/pocs", json={"name": "x", "dataset_id": "d", "methods": [{"method": "adam"}], "batch_size": 0}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    problems = {e["field"]: e["problem"] for e in detail["errors"]}
    assert set(problems) == {"methods.0.method", "batch_size"}
    assert problems["batch_size"] == "Input should be greater than or equal to 1"
    assert problems["methods.0.method"].startswith("unknown method 'adam'; choose one of lozo")
    assert count_rows(sessions, Poc) == 0


def test_unknown_ids_are_404(client):
    for method, path in [
        ("get", f"/api/pocs/{UNKNOWN}"),
        ("delete", f"/api/pocs/{UNKNOWN}"),
        ("get", f"/api/runs/{UNKNOWN}"),
        ("post", f"/api/runs/{UNKNOWN}/cancel"),
        ("post", f"/api/runs/{UNKNOWN}/retry"),
        ("get", f"/api/pocs/{UNKNOWN}/metrics"),
        ("get", f"/api/runs/{UNKNOWN}/metrics.csv"),
        ("get", f"/api/pocs/{UNKNOWN}/runs"),
    ]:
        response = getattr(client, method)(path)
        assert response.status_code == 404, path
        assert response.json()["detail"].endswith(f"{UNKNOWN} not found")


def test_cancel_a_queued_run(client, make_poc, sessions):
    run = make_poc()["runs"][0]
    body = client.post(f"/api/runs/{run['id']}/cancel").json()
    assert (body["state"], body["cancel_requested"], body["error"]) == (
        "cancelled",
        True,
        "cancelled before it started",
    )
    assert body["finished_at"] is not None
    assert client.get(f"/api/runs/{run['id']}").json() == body
    with sessions() as session:
        run_event, poc_event = session.scalars(
            sa.select(PocEvent).order_by(PocEvent.seq.desc()).limit(2)
        ).all()[::-1]
        assert (run_event.kind, run_event.run_id, run_event.payload["state"]) == (
            "run",
            run["id"],
            "cancelled",
        )
        # the other run is still queued: the PoC's stored state moved from queued to running (one finished)
        assert (poc_event.kind, poc_event.payload) == ("poc", {"id": run["poc_id"], "state": "running"})
    again = client.post(f"/api/runs/{run['id']}/cancel")
    assert again.status_code == 409
    assert again.json() == {
        "detail": f"run {run['id']} has already finished (cancelled)",
        "code": "run_already_finished",
        "params": {"state": "cancelled"},
    }


def test_cancel_a_running_run_only_flags_it(client, make_poc, sessions):
    run = make_poc()["runs"][0]
    with sessions() as session, session.begin():
        session.get(Run, run["id"]).state = "running"  # as a worker would have set it
    body = client.post(f"/api/runs/{run['id']}/cancel").json()
    assert (body["state"], body["cancel_requested"]) == ("running", True)  # the worker ends the child


def test_retry_makes_a_new_attempt(client, make_poc, settings):
    poc = make_poc(methods=[{"method": "lozo", "rank": 1}])
    run = poc["runs"][0]
    running = client.post(f"/api/runs/{run['id']}/retry")
    assert running.status_code == 409
    assert running.json() == {
        "detail": f"run {run['id']} is still queued; cancel it before retrying",
        "code": "run_not_finished",
        "params": {"state": "queued"},
    }
    client.post(f"/api/runs/{run['id']}/cancel")
    before = queued_messages(settings)
    response = client.post(f"/api/runs/{run['id']}/retry")
    assert response.status_code == 201
    new = response.json()
    assert new["id"] != run["id"]
    assert (new["method"], new["attempt"], new["state"], new["hyperparams"]) == (
        "lozo",
        2,
        "queued",
        run["hyperparams"],
    )
    assert queued_messages(settings) == before + 1
    poc = client.get(f"/api/pocs/{poc['id']}").json()
    assert [r["attempt"] for r in poc["runs"]] == [1, 2]
    assert poc["state"] == "queued"  # derived from the newest attempt
    again = client.post(f"/api/runs/{run['id']}/retry")  # the old attempt again: the new one is still queued
    assert again.status_code == 409
    assert again.json() == {
        "detail": "lozo already has a newer attempt that is queued",
        "code": "newer_attempt_exists",
        "params": {"method": "lozo", "state": "queued"},
    }


def test_cancel_never_overrides_a_worker_that_just_claimed_the_run(make_poc, sessions, settings):
    from backend.pocs import cancel_run

    run_id = make_poc()["runs"][0]["id"]
    with sessions() as api_session:
        run = api_session.get(Run, run_id)  # the API read it while still queued...
        assert run.state == "queued"
        with sessions() as worker_session, worker_session.begin():
            worker_session.get(Run, run_id).state = "running"  # ...then a worker claimed it
        cancel_run(run, api_session, settings)
    with sessions() as session:
        stored = session.get(Run, run_id)
        assert (stored.state, stored.cancel_requested, stored.finished_at) == ("running", True, None)


def test_every_run_setting_reaches_the_engine_through_one_path(client, make_poc, sessions, settings):
    """What a PoC sets (any RunSettings field) is in each run's engine spec, unchanged, and that spec is valid."""
    from common.runspec import RunSpec
    from worker.execution.spec import build_spec

    chosen = {
        "eval_size": 40,
        "max_length": 48,
        "dtype": "bfloat16",
        "head_init": "random",
        "k_shot": 8,
        "template": "{text} Overall: {mask}.",
        "label_words": ["awful", "lovely"],
        "calibration": "contextual",
        "val_size": 16,
    }
    poc = make_poc(methods=[{"method": "lozo"}, {"method": "adamw"}], **chosen)
    with sessions() as session:
        for run in session.scalars(sa.select(Run).where(Run.poc_id == poc["id"])):
            spec = build_spec(run, settings)
            assert {k: spec[k] for k in chosen} == chosen
            assert RunSpec.from_dict(spec).label_words == ["awful", "lovely"]


def test_a_run_the_broker_refuses_fails_without_the_brokers_words(client, settings, builtin_dataset_id):
    from backend.core.config import get_settings

    away = settings.model_copy(update={"broker_url": "redis://127.0.0.1:1/0"})
    client.app.dependency_overrides[get_settings] = lambda: away
    try:
        answer = client.post(
            "/api/pocs",
            json={
                "name": "no broker",
                "model": "tiny-bert",
                "steps": 5,
                "dataset_id": builtin_dataset_id,
                "methods": [{"method": "lozo"}],
            },
        )
    finally:
        client.app.dependency_overrides.clear()
    assert answer.status_code == 201, answer.text
    run = client.get(f"/api/runs/{answer.json()['runs'][0]['id']}").json()
    assert run["state"] == "failed"
    assert run["error"] == "could not be queued: the task broker did not accept it; retry the run"
