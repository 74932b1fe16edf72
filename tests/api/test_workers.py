"""Worker presence: which device kinds are served, on the session's real database, through the API."""

from __future__ import annotations

import datetime as dt

from backend.db.models import Worker
from backend.dispatch import queue_name
from backend.workers import announce, served_kinds, withdraw


def _launch_body(dataset_id: str, device: str) -> dict:
    return {
        "name": f"on {device}",
        "model": "tiny-bert",
        "dataset_id": dataset_id,
        "methods": [{"method": "lozo"}],
        "steps": 3,
        "device": device,
    }


def test_served_kinds_count_live_workers_of_this_deployment_only(sessions, settings):
    with sessions() as session:
        announce(session, "cpu-1", [queue_name("cpu", settings)])
        announce(session, "both", [queue_name("cpu", settings), queue_name("gpu", settings)])
        announce(session, "other-deployment", ["someone-else-gpu"])
        assert served_kinds(session, settings) == {"cpu": 2, "gpu": 1}
        # A worker not seen for three presence intervals is gone.
        stale = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=3 * settings.worker_presence_s + 1)
        session.get(Worker, "both").last_seen_at = stale
        session.commit()
        assert served_kinds(session, settings) == {"cpu": 1, "gpu": 0}
        announce(session, "both", [queue_name("gpu", settings)])  # back, now on the GPU queue only
        assert served_kinds(session, settings) == {"cpu": 1, "gpu": 1}
        withdraw(session, "both")
        assert served_kinds(session, settings) == {"cpu": 1, "gpu": 0}


def test_a_gpu_launch_is_refused_without_a_gpu_worker(client, sessions, settings, builtin_dataset_id):
    refused = client.post("/api/pocs", json=_launch_body(builtin_dataset_id, "gpu"))
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "no_worker_for_device"
    assert refused.json()["params"] == {"device": "gpu"}
    assert client.get("/api/pocs").json()["data"] == [], "nothing was created"

    with sessions() as session:
        announce(session, "gpu-box", [queue_name("gpu", settings)])
    answer = client.get("/api/workers").json()
    assert answer["served"] == {"cpu": 0, "gpu": 1}
    assert [(w["name"], w["device_kinds"]) for w in answer["data"]] == [("gpu-box", ["gpu"])]
    accepted = client.post("/api/pocs", json=_launch_body(builtin_dataset_id, "gpu"))
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["runs"][0]["state"] == "queued"


def test_a_cpu_launch_queues_even_before_a_cpu_worker_is_online(client, builtin_dataset_id):
    # The CPU queue is served by every deployment (the embedded default starts a worker itself); a run
    # sent while it restarts is taken when it is back.
    answer = client.post("/api/pocs", json=_launch_body(builtin_dataset_id, "cpu"))
    assert answer.status_code == 201, answer.text


def test_workers_list_their_slots_and_the_slots_serving_each_kind(client, sessions, settings):
    with sessions() as session:
        announce(session, "cpu-box", [queue_name("cpu", settings)], slots=8)
        announce(session, "gpu-box", [queue_name("gpu", settings)], slots=4)
        announce(session, "old-worker", [queue_name("cpu", settings)])  # before slots: one run at a time
    answer = client.get("/api/workers").json()
    assert answer["served"] == {"cpu": 2, "gpu": 1}
    assert answer["slots"] == {"cpu": 9, "gpu": 4}
    assert {w["name"]: w["slots"] for w in answer["data"]} == {"cpu-box": 8, "gpu-box": 4, "old-worker": 1}
    with sessions() as session:
        announce(session, "cpu-box", [queue_name("cpu", settings)], slots=2)  # restarted with fewer
    assert client.get("/api/workers").json()["slots"] == {"cpu": 3, "gpu": 4}
