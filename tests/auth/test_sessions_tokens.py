"""Browser sessions (cookie flags, CSRF, logout), personal API tokens, invites and the first admin."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from backend.auth import accounts
from backend.auth.bootstrap import ensure_admin
from backend.auth.secrets import digest
from backend.db.models import ApiToken, AuthSession, Invite, User
from tests.auth.conftest import MEMBER_PASSWORD, World


def member_login(world: World) -> dict[str, str]:
    return {"email": world.member.email, "password": MEMBER_PASSWORD}


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_login_sets_httponly_lax_cookies_secure_on_https(app, world: World):
    with TestClient(app, base_url="https://zopoc.example") as client:
        answer = client.post("/api/auth/login", json=member_login(world))
        assert answer.status_code == 200, answer.text
        cookies = _set_cookies(answer)
        session, csrf = cookies["zopoc_session"].lower(), cookies["zopoc_csrf"].lower()
        assert "httponly" in session and "samesite=lax" in session
        assert "secure" in session and "path=/" in session
        assert "httponly" not in csrf and "samesite=lax" in csrf and "secure" in csrf
        assert answer.json()["csrf_token"] == client.cookies["zopoc_csrf"]
        assert client.get("/api/auth/me").json()["email"] == world.member.email
    with TestClient(app, base_url="http://localhost") as client:
        answer = client.post("/api/auth/login", json=member_login(world))
        assert "secure" not in _set_cookies(answer)["zopoc_session"].lower()  # plain-HTTP laptop install


def test_wrong_password_and_unknown_email_look_the_same(anonymous, world: World):
    wrong = anonymous.post("/api/auth/login", json={"email": world.member.email, "password": "nope nope"})
    unknown = anonymous.post("/api/auth/login", json={"email": "nobody@zopoc.test", "password": "nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "zopoc_session" not in anonymous.cookies


def test_csrf_header_is_required_on_changes_with_a_session_cookie(app, world: World, sessions):
    with TestClient(app) as client:
        csrf = client.post("/api/auth/login", json=member_login(world)).json()["csrf_token"]
        assert client.get("/api/pocs").status_code == 200  # reads need no token
        refused = client.post("/api/auth/tokens", json={"name": "cli"})
        assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
        assert (
            client.post(
                "/api/auth/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": "0" * 64}
            ).status_code
            == 403
        )
        # Another session's token does not fit this session.
        with TestClient(app) as other:
            other_csrf = other.post("/api/auth/login", json=member_login(world)).json()["csrf_token"]
        assert (
            client.post(
                "/api/auth/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": other_csrf}
            ).status_code
            == 403
        )
        with sessions() as session:
            assert (
                session.scalar(sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.name == "cli"))
                == 0
            )
        made = client.post("/api/auth/tokens", json={"name": "cli"}, headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201

        # Logout ends the session on the server: the old cookie no longer works.
        cookie = client.cookies["zopoc_session"]
        assert client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        client.cookies.set("zopoc_session", cookie)
        assert client.get("/api/auth/me").status_code == 401
        with sessions() as session:
            assert session.get(AuthSession, digest(cookie)) is None


def test_an_expired_session_is_refused_and_forgotten_at_the_next_sign_in(app, world: World, sessions):
    import datetime as dt

    with TestClient(app) as client:
        client.post("/api/auth/login", json=member_login(world))
        cookie = client.cookies["zopoc_session"]
        with sessions() as session:
            row = session.get(AuthSession, digest(cookie))
            row.expires_at = accounts.utcnow() - dt.timedelta(seconds=1)
            session.commit()
        assert client.get("/api/auth/me").status_code == 401
    with TestClient(app) as other:  # anyone's sign-in clears out every expired session
        assert other.post("/api/auth/login", json=member_login(world)).status_code == 200
        with sessions() as session:
            assert session.get(AuthSession, digest(cookie)) is None
            expired_left = session.scalar(
                sa.select(sa.func.count())
                .select_from(AuthSession)
                .where(AuthSession.expires_at <= accounts.utcnow())
            )
            assert expired_left == 0


def test_api_token_is_shown_once_hashed_at_rest_and_revocable(app, world: World, sessions):
    with TestClient(app, headers=world.editor.headers) as client:
        made = client.post("/api/auth/tokens", json={"name": "nightly script"})
        assert made.status_code == 201
        token, token_id = made.json()["token"], made.json()["id"]
        listed = client.get("/api/auth/tokens").json()["data"]
        assert token_id in [t["id"] for t in listed] and token not in str(listed)
    with sessions() as session:
        row = session.get(ApiToken, token_id)
        assert token not in (row.token_hash, row.prefix, row.name) and len(row.token_hash) == 64
    bearer = {"Authorization": f"Bearer {token}"}
    with TestClient(app, headers=bearer) as script:
        assert script.get("/api/auth/me").json()["email"] == world.editor.email
        assert script.delete(f"/api/auth/tokens/{token_id}").status_code == 204
        answer = script.get("/api/pocs")
        assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    with TestClient(app, headers={"Authorization": "Bearer zpt_made-up"}) as forged:
        assert forged.get("/api/pocs").status_code == 401
    with TestClient(app, headers=world.outsider.headers) as other:  # cannot revoke someone else's token
        assert other.delete(f"/api/auth/tokens/{world.owner.token}").status_code == 404


def test_admin_invites_a_user_who_joins_with_the_invited_role(app, world: World, sessions):
    with sessions() as session:
        admin = accounts.create_user(session, "root@zopoc.test", "a long admin password", is_admin=True)
        admin_token = accounts.create_api_token(session, admin, "admin").token
    with TestClient(app, headers=world.owner.headers) as owner:
        assert owner.post("/api/admin/invites", json={"email": "x@zopoc.test"}).status_code == 403
        # An owner invites into their own workspace.
        invite = owner.post(
            f"/api/workspaces/{world.owner.workspace_id}/invites",
            json={"email": "Analyst@zopoc.test", "role": "editor"},
        )
        assert invite.status_code == 201, invite.text
    with TestClient(app, headers={"Authorization": f"Bearer {admin_token}"}) as root:
        site = root.post("/api/admin/invites", json={"email": "newcomer@zopoc.test"})
        assert site.status_code == 201
        assert root.post("/api/admin/invites", json={"email": world.viewer.email}).status_code == 409
    with sessions() as session:  # the invitation token is stored hashed only
        assert invite.json()["token"] not in str(session.scalars(sa.select(Invite.token_hash)).all())
    with TestClient(app) as anonymous:
        short = anonymous.post(
            "/api/auth/invites/accept", json={"token": invite.json()["token"], "password": "short"}
        )
        assert short.status_code == 422
        joined = anonymous.post(
            "/api/auth/invites/accept",
            json={"token": invite.json()["token"], "password": "analyst password 1"},
        )
        assert joined.status_code == 201, joined.text
        assert joined.json()["workspaces"] == [
            {"id": world.owner.workspace_id, "name": joined.json()["workspaces"][0]["name"], "role": "editor"}
        ]
        again = anonymous.post(
            "/api/auth/invites/accept",
            json={"token": invite.json()["token"], "password": "analyst password 1"},
        )
        assert again.status_code == 400 and "already used" in again.json()["detail"]
        login = anonymous.post(
            "/api/auth/login", json={"email": "analyst@zopoc.test", "password": "analyst password 1"}
        )
        assert login.status_code == 200 and login.json()["workspaces"][0]["role"] == "editor"
        newcomer = anonymous.post(
            "/api/auth/invites/accept", json={"token": site.json()["token"], "password": "newcomer password"}
        )
        assert [w["role"] for w in newcomer.json()["workspaces"]] == ["owner"]  # a workspace of their own


def test_admin_disables_a_user_everywhere_at_once_and_enables_them_again(app, world: World, sessions):
    with sessions() as session:
        admin = accounts.create_user(
            session, f"root-{world.member.user_id[:6]}@zopoc.test", "a long admin password", is_admin=True
        )
        admin_id, admin_token = admin.id, accounts.create_api_token(session, admin, "admin").token
    with TestClient(app) as browser:
        browser.post("/api/auth/login", json=member_login(world))
        assert browser.get("/api/auth/me").status_code == 200
        with TestClient(app, headers={"Authorization": f"Bearer {admin_token}"}) as root:
            off = root.patch(f"/api/admin/users/{world.member.user_id}", json={"disabled": True})
            assert off.status_code == 200 and off.json()["disabled_at"] is not None
            # The member's open browser session, a new sign-in and their API token: all refused at once.
            assert browser.get("/api/auth/me").status_code == 401
            assert browser.post("/api/auth/login", json=member_login(world)).status_code == 401
            with TestClient(app, headers=world.member.headers) as script:
                assert script.get("/api/pocs").status_code == 401
            assert root.patch(f"/api/admin/users/{admin_id}", json={"disabled": True}).status_code == 409
            assert root.patch("/api/admin/users/nobody", json={"disabled": True}).status_code == 404
            on = root.patch(f"/api/admin/users/{world.member.user_id}", json={"disabled": False})
            assert on.status_code == 200 and on.json()["disabled_at"] is None
        assert browser.post("/api/auth/login", json=member_login(world)).status_code == 200
    with sessions() as session:
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(AuthSession)
                .where(AuthSession.user_id == world.member.user_id)
            )
            == 1
        )


def test_admin_sees_every_workspace_with_its_owners_and_pocs(app, world: World, sessions):
    with sessions() as session:
        admin = accounts.create_user(
            session, f"site-{world.owner.user_id[:6]}@zopoc.test", "a long admin password", is_admin=True
        )
        admin_token = accounts.create_api_token(session, admin, "admin").token
    with TestClient(app, headers={"Authorization": f"Bearer {admin_token}"}) as root:
        listed = root.get("/api/admin/workspaces")
    assert listed.status_code == 200
    rows = {w["id"]: w for w in listed.json()["data"]}
    a, b = rows[world.owner.workspace_id], rows[world.outsider.workspace_id]  # neither has the admin
    assert (a["members"], a["owners"], a["pocs"]) == (4, [world.owner.email], 1)
    assert (b["members"], b["owners"], b["pocs"]) == (1, [world.outsider.email], 0)
    with TestClient(app, headers=world.owner.headers) as owner:
        assert owner.get("/api/admin/workspaces").status_code == 403


def test_first_admin_has_no_fixed_password(api_env, sessions, settings, tmp_path):
    settings = settings.model_copy(update={"admin_password_file": tmp_path / "first-password"})
    with sessions() as session:
        for user in session.scalars(sa.select(User)):
            session.delete(user)
        session.commit()
        admin = ensure_admin(session, settings)
        password = settings.admin_password_file.read_text().strip()
        assert admin.is_admin and len(password) >= 12
        assert accounts.check_password(session, settings.admin_email, password) is not None
        assert ensure_admin(session, settings) is None  # only on first start
        workspaces = accounts.memberships_of(session, admin.id)
        assert [m.role for m in workspaces] == ["owner"]
        # A second fresh install gets a different password.
        session.delete(admin)
        session.commit()
        ensure_admin(session, settings)
        assert settings.admin_password_file.read_text().strip() != password
        # A configured password is used and written nowhere.
        settings.admin_password_file.unlink()
        session.execute(sa.delete(User))
        session.commit()
        ensure_admin(session, settings.model_copy(update={"admin_password": "configured secret 123"}))
        assert not settings.admin_password_file.exists()
        assert accounts.check_password(session, settings.admin_email, "configured secret 123") is not None
