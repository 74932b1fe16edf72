"""One workspace never sees another's PoCs, datasets, runs or reports, in lists or by id."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.auth.conftest import World, csv_file


def test_other_workspace_sees_nothing_of_a(app, world: World):
    with TestClient(app, headers=world.outsider.headers) as b:
        # B has its own PoC and upload, so its lists are not trivially empty.
        b_dataset = b.post("/api/datasets", files=csv_file(name="b.csv")).json()["id"]
        b_poc = b.post(
            "/api/pocs",
            json={
                "name": "B's PoC",
                "model": "tiny-bert",
                "dataset_id": world.builtin_dataset_id,
                "steps": 5,
                "methods": [{"method": "lozo"}],
            },
        ).json()["id"]

        pocs = [p["id"] for p in b.get("/api/pocs").json()["data"]]
        datasets = {d["id"]: d for d in b.get("/api/datasets").json()["data"]}
        assert pocs == [b_poc]
        assert b_dataset in datasets and world.dataset_id not in datasets
        assert world.builtin_dataset_id in datasets  # built-ins are everyone's

        for path in (
            f"/api/pocs/{world.poc_id}",
            f"/api/pocs/{world.poc_id}/runs",
            f"/api/pocs/{world.poc_id}/metrics",
            f"/api/pocs/{world.poc_id}/roi",
            f"/api/pocs/{world.poc_id}/reports",
            f"/api/runs/{world.run_ids[0]}",
            f"/api/runs/{world.run_ids[0]}/metrics.csv",
            f"/api/datasets/{world.dataset_id}",
            f"/api/workspaces/{world.owner.workspace_id}/members",
        ):
            answer = b.get(path)
            assert answer.status_code == 404, (path, answer.text)
            assert answer.json()["detail"].endswith("not found")  # the same as an id that does not exist

        # Naming A's upload in a PoC of B is refused like an unknown dataset; nothing is created.
        answer = b.post(
            "/api/pocs", json={"name": "x", "model": "tiny-bert", "dataset_id": world.dataset_id, "steps": 5}
        )
        assert answer.status_code == 422 and "dataset_id" in answer.text
        # Asking for A explicitly is refused too.
        assert b.get("/api/pocs", headers={"X-Zopoc-Workspace": world.owner.workspace_id}).status_code == 403

    with TestClient(app, headers=world.viewer.headers) as a:
        assert [p["id"] for p in a.get("/api/pocs").json()["data"]] == [world.poc_id]
        assert a.get(f"/api/pocs/{b_poc}").status_code == 404
        assert a.get(f"/api/datasets/{b_dataset}").status_code == 404
        reports = a.get(f"/api/pocs/{world.poc_id}/reports").json()["data"]
        assert [r["token_prefix"] for r in reports] == [world.report_token[:8]]


def test_member_of_two_workspaces_picks_one_with_a_header(app, world: World, sessions):
    from backend.auth import accounts

    with sessions() as session:
        accounts.set_role(session, world.outsider.workspace_id, world.viewer.user_id, "editor")
    with TestClient(app, headers=world.viewer.headers) as client:
        workspaces = {w["id"]: w["role"] for w in client.get("/api/workspaces").json()["data"]}
        assert workspaces == {world.owner.workspace_id: "viewer", world.outsider.workspace_id: "editor"}
        in_b = {"X-Zopoc-Workspace": world.outsider.workspace_id}
        body = {
            "name": "in B",
            "model": "tiny-bert",
            "dataset_id": world.builtin_dataset_id,
            "steps": 5,
            "methods": [{"method": "lozo"}],
        }
        assert client.post("/api/pocs", json=body).status_code == 403  # viewer in A (the first workspace)
        created = client.post("/api/pocs", json=body, headers=in_b)
        assert created.status_code == 201, created.text
        listed = client.get("/api/pocs", headers=in_b).json()["data"]
        assert [p["id"] for p in listed] == [created.json()["id"]]
        assert created.json()["id"] not in client.get("/api/pocs").text
