"""The per-user run cap and the role budget caps hold on every way to launch (a new PoC, a retry), count
by who launched, and hold under parallel launches (Postgres: the launcher's row is locked)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import sqlalchemy as sa
from fastapi.testclient import TestClient

from backend.core.config import get_settings
from backend.db.models import Run
from tests.auth.conftest import EDITOR_MAX_STEPS, MAX_ACTIVE_RUNS, World


def _poc(world: World, methods=("lozo",), steps: int = 5) -> dict:
    return {
        "name": "caps",
        "model": "tiny-bert",
        "dataset_id": world.builtin_dataset_id,
        "steps": steps,
        "methods": [{"method": m} for m in methods],
    }


def _cancelled_run(client: TestClient, world: World, steps: int = 5) -> str:
    answer = client.post("/api/pocs", json=_poc(world, steps=steps))
    assert answer.status_code == 201, answer.text
    run_id = answer.json()["runs"][0]["id"]
    assert client.post(f"/api/runs/{run_id}/cancel").status_code == 200
    return run_id


def test_a_retry_is_held_to_the_retrying_role_budget_cap(app, world: World):
    with (
        TestClient(app, headers=world.owner.headers) as owner,
        TestClient(app, headers=world.editor.headers) as editor,
    ):
        big = _cancelled_run(owner, world, steps=EDITOR_MAX_STEPS + 1)  # within the owner's cap
        refused = editor.post(f"/api/runs/{big}/retry")
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"]["errors"][0]["field"] == "steps"
        assert owner.post(f"/api/runs/{big}/retry").status_code == 201


def test_the_run_cap_counts_the_runs_each_user_launched(app, world: World, sessions):
    with (
        TestClient(app, headers=world.owner.headers) as owner,
        TestClient(app, headers=world.editor.headers) as editor,
    ):
        to_retry = _cancelled_run(owner, world)
        # The owner has the world's two queued runs; three more and the owner is at the cap.
        full = owner.post("/api/pocs", json=_poc(world, ("lozo", "adamw", "mezo")))
        assert full.status_code == 201, full.text
        assert owner.post("/api/pocs", json=_poc(world)).status_code == 429
        # The editor's retry of the owner's run is the editor's launch: the owner's runs do not count.
        retried = editor.post(f"/api/runs/{to_retry}/retry")
        assert retried.status_code == 201, retried.text
        with sessions() as session:
            assert session.get(Run, retried.json()["id"]).launched_by == world.editor.user_id
        # ...and it counts against the editor: four more and the editor is at the cap too.
        assert editor.post("/api/pocs", json=_poc(world, ("lozo", "adamw", "mezo", "sgd"))).status_code == 201
        refused = editor.post("/api/pocs", json=_poc(world))
        assert refused.status_code == 429 and refused.json()["detail"]["limit"] == "concurrent_runs"


def test_parallel_launches_do_not_pass_the_cap_together(app, world: World, sessions, settings):
    # No launch rate limit here: only the run cap may refuse.
    app.dependency_overrides[get_settings] = lambda: settings.model_copy(
        update={"launch_rate_limit": "1000/minute"}
    )
    launches = MAX_ACTIVE_RUNS * 3
    start = Barrier(launches)

    def launch(_index: int) -> int:
        with TestClient(app, headers=world.editor.headers) as client:
            start.wait()
            return client.post("/api/pocs", json=_poc(world)).status_code

    try:
        with ThreadPoolExecutor(launches) as pool:
            answers = list(pool.map(launch, range(launches)))
    finally:
        app.dependency_overrides.clear()
    assert sorted(set(answers)) == [201, 429], answers
    assert answers.count(201) == MAX_ACTIVE_RUNS, answers
    with sessions() as session:
        active = session.scalar(
            sa.select(sa.func.count())
            .select_from(Run)
            .where(Run.launched_by == world.editor.user_id, Run.state.in_(("queued", "running")))
        )
    assert active == MAX_ACTIVE_RUNS
