"""Limits (sign-in and launch rates, concurrent runs, budget caps), share links without login, uploads
whose names try to leave the data folder or whose size and rows are over the caps."""

from __future__ import annotations

import io

import sqlalchemy as sa
from fastapi.testclient import TestClient

from backend.auth.secrets import digest
from backend.db.models import Dataset, Report
from tests.auth.conftest import (
    EDITOR_MAX_STEPS,
    LAUNCH_PER_MINUTE,
    LOGIN_PER_EMAIL,
    MAX_ACTIVE_RUNS,
    MAX_UPLOAD_ROWS,
    MEMBER_PASSWORD,
    World,
    csv_file,
)
from tests.support.db import count_rows, files_under, login_as


def _poc(world: World, methods=("lozo",), steps: int = 5) -> dict:
    return {
        "name": "limits",
        "model": "tiny-bert",
        "dataset_id": world.builtin_dataset_id,
        "steps": steps,
        "methods": [{"method": m} for m in methods],
    }


def test_login_rate_limit_answers_429_with_retry_after(anonymous, world: World):
    for _ in range(LOGIN_PER_EMAIL):
        assert (
            anonymous.post(
                "/api/auth/login", json={"email": world.member.email, "password": "wrong guess!"}
            ).status_code
            == 401
        )
    # Over the limit even with the right password: a guesser learns nothing more.
    answer = anonymous.post(
        "/api/auth/login", json={"email": world.member.email, "password": MEMBER_PASSWORD}
    )
    assert answer.status_code == 429
    assert 1 <= int(answer.headers["retry-after"]) <= 60
    assert answer.json()["detail"]["limit"] == "login"
    assert f"{LOGIN_PER_EMAIL}/minute" in answer.json()["detail"]["message"]
    # Another account is not locked out by it.
    assert (
        anonymous.post(
            "/api/auth/login", json={"email": world.owner.email, "password": "wrong guess!"}
        ).status_code
        == 401
    )


def test_launch_rate_limit_per_user(app, world: World, sessions):
    editor = login_as(sessions, "editor", world.owner.workspace_id)
    with TestClient(app, headers=editor.headers) as client:
        for _ in range(LAUNCH_PER_MINUTE):
            answer = client.post("/api/pocs", json=_poc(world))
            assert answer.status_code == 201, answer.text
            for run in answer.json()["runs"]:  # keep under the concurrent-run cap
                client.post(f"/api/runs/{run['id']}/cancel")
        refused = client.post("/api/pocs", json=_poc(world))
        assert refused.status_code == 429 and refused.json()["detail"]["limit"] == "launch"
        assert int(refused.headers["retry-after"]) >= 1
    with TestClient(app, headers=world.editor.headers) as other:  # a colleague still launches
        assert other.post("/api/pocs", json=_poc(world)).status_code == 201


def test_concurrent_run_cap_per_user(app, world: World):
    with TestClient(app, headers=world.editor.headers) as client:
        first = client.post("/api/pocs", json=_poc(world, ("lozo", "adamw", "mezo")))
        assert first.status_code == 201, first.text
        answer = client.post("/api/pocs", json=_poc(world, ("lozo", "adamw", "mezo")))
        assert answer.status_code == 429 and answer.json()["detail"]["limit"] == "concurrent_runs"
        message = answer.json()["detail"]["message"]
        assert f"at most {MAX_ACTIVE_RUNS}" in message and "cancel" in message
        # Cancelling frees the slots; the cancelled run can then be retried (a new active run).
        run = first.json()["runs"][0]
        assert client.post(f"/api/runs/{run['id']}/cancel").status_code == 200
        assert client.post("/api/pocs", json=_poc(world, ("lozo", "adamw", "mezo"))).status_code == 201  # 5
        retry = client.post(f"/api/runs/{run['id']}/retry")
        assert retry.status_code == 429 and retry.json()["detail"]["limit"] == "concurrent_runs"


def test_budget_cap_per_role(app, world: World):
    body = _poc(world, steps=EDITOR_MAX_STEPS + 1)
    with TestClient(app, headers=world.editor.headers) as editor:
        answer = editor.post("/api/pocs", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"]["errors"][0]["field"] == "steps"
        assert f"{EDITOR_MAX_STEPS} steps" in answer.json()["detail"]["message"]
        assert editor.post("/api/pocs", json=_poc(world, steps=EDITOR_MAX_STEPS)).status_code == 201
    with TestClient(app, headers=world.owner.headers) as owner:
        assert owner.post("/api/pocs", json=body).status_code == 201


def test_share_link_reads_without_login_and_revoking_is_immediate(app, anonymous, world: World, sessions):
    token = world.report_token
    assert anonymous.get(f"/r/{token}").status_code == 200
    assert anonymous.get(f"/api/reports/{token}").json()["token"] == token
    assert anonymous.get(f"/api/reports/{token}.html").status_code == 200
    # A token lets nobody change anything: no unsafe route takes only a token, and the PoC routes
    # need an account.
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        assert anonymous.request(method, f"/api/reports/{token}").status_code in (401, 405)
    assert anonymous.delete(f"/api/pocs/{world.poc_id}/reports/{token}").status_code == 401
    assert anonymous.post(f"/api/pocs/{world.poc_id}/reports", json={}).status_code == 401
    with TestClient(app, headers=world.viewer.headers) as viewer:  # viewers cannot revoke either
        assert viewer.delete(f"/api/pocs/{world.poc_id}/reports/{token}").status_code == 403
    with TestClient(app, headers=world.editor.headers) as editor:
        assert editor.delete(f"/api/pocs/{world.poc_id}/reports/{token}").status_code == 204
    assert anonymous.get(f"/r/{token}").status_code == 404
    assert anonymous.get(f"/api/reports/{token}").status_code == 404
    with sessions() as session:
        assert (
            session.scalar(sa.select(Report.revoked_at).where(Report.token_hash == digest(token))) is not None
        )


def test_upload_names_cannot_reach_the_file_system(app, world: World, settings, tmp_path):
    outside_before = set(files_under(settings.data_dir.parent))
    with TestClient(app, headers=world.editor.headers) as client:
        names = [
            "../../escape.csv",
            "..\\..\\escape.csv",
            "/etc/cron.d/escape.csv",
            "a/../../b.csv",
            "con.csv",
            "%2e%2e%2fescape.csv",
            "x\u202egnp.csv",
            ".csv",
        ]
        stored = []
        for name in names:
            answer = client.post("/api/datasets", files=csv_file(name=name))
            assert answer.status_code in (201, 422), (name, answer.text)
            if answer.status_code == 201:
                stored.append(answer.json()["id"])
        assert stored  # most of them are fine CSV files under an odd name
    new_files = set(files_under(settings.data_dir.parent)) - outside_before
    data_dir = settings.data_dir.resolve()
    assert new_files and all(p.resolve().is_relative_to(data_dir) for p in new_files)
    for path in new_files:
        assert "escape" not in path.name and ".." not in path.name and "\\" not in path.name
    from backend.db.session import make_sessionmaker

    with make_sessionmaker()() as session:
        for dataset in session.scalars(sa.select(Dataset).where(Dataset.id.in_(stored))):
            assert (data_dir / dataset.path).resolve().is_relative_to(data_dir)
            assert dataset.path.startswith("uploads/") and "escape" not in dataset.path


def test_upload_caps_refuse_before_storing(app, world: World, sessions, settings):
    before = count_rows(sessions, Dataset), files_under(settings.data_dir)
    with TestClient(app, headers=world.editor.headers) as client:
        too_many = client.post("/api/datasets", files=csv_file(rows=MAX_UPLOAD_ROWS + 1))
        assert too_many.status_code == 422 and str(MAX_UPLOAD_ROWS) in too_many.text
        big = b"text,label\n" + b"".join(b"x" * 500 + b",pos\n" for _ in range(200))  # ~100 kB > 0.05 MB
        too_big = client.post("/api/datasets", files={"file": ("big.csv", io.BytesIO(big), "text/csv")})
        assert too_big.status_code == 413 and "MB" in too_big.json()["detail"]
        assert (count_rows(sessions, Dataset), files_under(settings.data_dir)) == before  # nothing kept
        # A JSONL file is data, never code: a pickle-like or YAML-like payload is just a bad row.
        evil = (
            b'{"text": "!!python/object/apply:os.system [\\"touch /tmp/zopoc-pwned\\"]", "label": "a"}\n'
        ) * 3
        answer = client.post(
            "/api/datasets", files={"file": ("evil.jsonl", io.BytesIO(evil), "application/json")}
        )
        assert answer.status_code in (201, 422)
    import os

    assert not os.path.exists("/tmp/zopoc-pwned")


def test_rate_limits_let_requests_through_while_their_redis_is_away(settings):
    from backend.auth.limits import hit
    from tests.support.stack import free_port

    away = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    for _ in range(3):
        hit(away, "login", "1/minute", "ip:somewhere")  # no 429 and no 500: nothing could be counted
