"""Passwords: change (other browser sessions end), an administrator's reset (a temporary password, the
user signed out everywhere and asked for a new one), and the first administrator's password kept out of
the log. Browser sessions on the real database, as the dashboard signs in."""

from __future__ import annotations

import logging
import stat

import sqlalchemy as sa
from fastapi.testclient import TestClient

from backend.auth import accounts
from backend.auth.bootstrap import ensure_admin
from backend.db.models import User
from tests.auth.conftest import MEMBER_PASSWORD, World
from tests.support.db import login_as

NEW_PASSWORD = "a brand new password"


def _browser(app, email: str, password: str) -> TestClient:
    client = TestClient(app)
    answer = client.post("/api/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def test_changing_my_password_ends_my_other_sessions(app, world: World):
    here, elsewhere = (
        _browser(app, world.member.email, MEMBER_PASSWORD),
        _browser(app, world.member.email, MEMBER_PASSWORD),
    )
    wrong = here.post(
        "/api/auth/password", json={"current_password": "not my password", "new_password": NEW_PASSWORD}
    )
    assert wrong.status_code == 422 and wrong.json()["detail"]["errors"][0]["field"] == "current_password"
    short = here.post(
        "/api/auth/password", json={"current_password": MEMBER_PASSWORD, "new_password": "short"}
    )
    assert short.status_code == 422
    changed = here.post(
        "/api/auth/password", json={"current_password": MEMBER_PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204, changed.text
    assert here.get("/api/auth/me").status_code == 200  # this session stays
    assert elsewhere.get("/api/auth/me").status_code == 401  # the others end at once
    with TestClient(app) as anyone:
        assert (
            anyone.post(
                "/api/auth/login", json={"email": world.member.email, "password": MEMBER_PASSWORD}
            ).status_code
            == 401
        )
    assert _browser(app, world.member.email, NEW_PASSWORD).get("/api/auth/me").status_code == 200


def test_an_administrator_resets_a_password_and_the_user_must_choose_a_new_one(app, world: World, sessions):
    admin = login_as(sessions, "owner", is_admin=True)
    member_browser = _browser(app, world.member.email, MEMBER_PASSWORD)
    with (
        TestClient(app, headers=admin.headers) as administrator,
        TestClient(app, headers=world.owner.headers) as owner,
    ):
        assert owner.post(f"/api/admin/users/{world.member.user_id}/password").status_code == 403
        assert administrator.post(f"/api/admin/users/{admin.user_id}/password").status_code == 409
        assert administrator.post("/api/admin/users/nobody/password").status_code == 404
        reset = administrator.post(f"/api/admin/users/{world.member.user_id}/password")
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["password"]
    assert len(temporary) >= 12
    assert member_browser.get("/api/auth/me").status_code == 401  # signed out everywhere
    signed_in = _browser(app, world.member.email, temporary)
    assert signed_in.get("/api/auth/me").json()["must_change_password"] is True
    assert (
        signed_in.post(
            "/api/auth/password", json={"current_password": temporary, "new_password": NEW_PASSWORD}
        ).status_code
        == 204
    )
    assert signed_in.get("/api/auth/me").json()["must_change_password"] is False


def test_the_first_password_goes_to_a_private_file_never_the_log(
    api_env, sessions, settings, tmp_path, caplog, capsys
):
    settings = settings.model_copy(
        update={"admin_password_file": tmp_path / "var" / "initial-admin-password"}
    )
    with sessions() as session:
        session.execute(sa.delete(User))
        session.commit()
        with caplog.at_level(logging.INFO):
            admin = ensure_admin(session, settings)
        password = settings.admin_password_file.read_text().strip()
        assert len(password) >= 12
        assert stat.S_IMODE(settings.admin_password_file.stat().st_mode) == 0o600
        printed = caplog.text + capsys.readouterr().err
        assert password not in printed and str(settings.admin_password_file) in printed
        assert accounts.check_password(session, settings.admin_email, password) is not None
        assert session.get(User, admin.id).must_change_password is True
        # Choosing a new password removes the file.
        from backend.auth.bootstrap import forget_first_password

        forget_first_password(settings, admin)
        assert not settings.admin_password_file.exists()


def test_production_always_sets_secure_cookies(api_env, world: World, settings):
    import pytest
    from pydantic import ValidationError

    from backend.api.main import create_app
    from backend.core.config import Settings, get_settings

    production = settings.model_copy(update={"environment": "production"})
    app = create_app(production)
    app.dependency_overrides[get_settings] = lambda: production
    with TestClient(app) as plain_http:  # even over plain HTTP (a proxy in front terminates TLS)
        answer = plain_http.post(
            "/api/auth/login", json={"email": world.member.email, "password": MEMBER_PASSWORD}
        )
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    assert len(cookies) == 2 and all("secure" in c.lower() for c in cookies), cookies
    with pytest.raises(ValidationError, match="refused in production"):
        Settings(_env_file=None, environment="production", secret_key="x" * 32, cookie_secure=False)
