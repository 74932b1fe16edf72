"""Account tests: the API tests' fixtures (real database and broker of the session's stack), with small
limits so the rate limits and caps are reached in a few requests, and a two-workspace world."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pytest

# The shared database fixtures, imported by name so that each test package gets its own package-scoped
# database (pytest finds fixtures by the names a conftest module holds).
from tests.support.db import (  # noqa: F401
    api_env,
    clean_tables,
    client,
    database_url,
    owner,
    sessions,
    settings,
    test_stack,
    workspace_id,
)
from tests.support.db import Login, login_as

LOGIN_PER_EMAIL = 4
LAUNCH_PER_MINUTE = 4
MAX_ACTIVE_RUNS = 5
EDITOR_MAX_STEPS = 50
MAX_UPLOAD_ROWS = 40
MEMBER_PASSWORD = "the member's password"


@pytest.fixture(scope="package")
def api_env_extra() -> dict[str, str]:
    return {
        "ZOPOC_LOGIN_RATE_LIMIT": f"{LOGIN_PER_EMAIL}/minute",
        "ZOPOC_LOGIN_IP_RATE_LIMIT": "1000/minute",
        "ZOPOC_LAUNCH_RATE_LIMIT": f"{LAUNCH_PER_MINUTE}/minute",
        "ZOPOC_MAX_ACTIVE_RUNS_PER_USER": str(MAX_ACTIVE_RUNS),
        "ZOPOC_MAX_STEPS_BY_ROLE": json.dumps({"editor": EDITOR_MAX_STEPS, "owner": 10_000}),
        "ZOPOC_MAX_UPLOAD_ROWS": str(MAX_UPLOAD_ROWS),
        "ZOPOC_MAX_UPLOAD_MB": "0.05",
    }


@pytest.fixture
def app(api_env):
    from backend.api.main import create_app

    return create_app()


@pytest.fixture
def anonymous(app):
    """A TestClient without credentials."""
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


def csv_file(rows: int = 12, name: str = "tickets.csv") -> dict:
    """A small valid labelled CSV as the ``files=`` of an upload."""
    lines = ["text,label"] + [
        f"ticket number {i} is {'good' if i % 2 else 'bad'},{'pos' if i % 2 else 'neg'}" for i in range(rows)
    ]
    return {"file": (name, io.BytesIO("\n".join(lines).encode()), "text/csv")}


@dataclass
class World:
    """Workspace A with an owner, an editor, a viewer and a spare member; workspace B with its owner.

    A holds a PoC (two queued runs), an uploaded dataset, a shared report and a pending invitation, all
    made through the API.
    """

    owner: Login
    editor: Login
    viewer: Login
    member: Login
    outsider: Login
    poc_id: str
    run_ids: list[str]
    dataset_id: str
    report_token: str
    builtin_dataset_id: str
    invite_id: str


@pytest.fixture
def world(app, sessions) -> World:
    from fastapi.testclient import TestClient

    owner = login_as(sessions, "owner")
    editor = login_as(sessions, "editor", owner.workspace_id)
    viewer = login_as(sessions, "viewer", owner.workspace_id)
    member = login_as(sessions, "viewer", owner.workspace_id)
    with sessions() as session:
        from backend.auth.secrets import hash_password
        from backend.db.models import User

        session.get(User, member.user_id).password_hash = hash_password(MEMBER_PASSWORD)
        session.commit()
    outsider = login_as(sessions, "owner")
    with TestClient(app, headers=owner.headers) as http:
        builtin = next(
            d["id"] for d in http.get("/api/datasets").json()["data"] if d["name"] == "demo-sentiment"
        )
        dataset = http.post("/api/datasets", files=csv_file())
        assert dataset.status_code == 201, dataset.text
        poc = http.post(
            "/api/pocs", json={"name": "A's PoC", "model": "tiny-bert", "dataset_id": builtin, "steps": 5}
        )
        assert poc.status_code == 201, poc.text
        report = http.post(f"/api/pocs/{poc.json()['id']}/reports", json={"language": "en"})
        assert report.status_code == 201, report.text
        invited = http.post(
            f"/api/workspaces/{owner.workspace_id}/invites",
            json={"email": f"invited-{owner.user_id[:8]}@zopoc.test", "role": "editor"},
        )
        assert invited.status_code == 201, invited.text
        invite_id = http.get(f"/api/workspaces/{owner.workspace_id}/invites").json()["data"][0]["id"]
    return World(
        owner,
        editor,
        viewer,
        member,
        outsider,
        poc.json()["id"],
        [r["id"] for r in poc.json()["runs"]],
        dataset.json()["id"],
        report.json()["token"],
        builtin,
        invite_id,
    )
