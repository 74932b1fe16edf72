"""Administrators grant and withdraw administrator rights (PATCH /api/admin/users/{id} with is_admin): at
once, never their own, and zopoc always keeps an enabled administrator."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.auth import accounts
from backend.db.models import User
from tests.auth.conftest import World


def _admin(sessions, tag: str) -> tuple[str, dict[str, str]]:
    with sessions() as session:
        admin = accounts.create_user(
            session, f"admin-{tag}@zopoc.test", "a long admin password", is_admin=True
        )
        token = accounts.create_api_token(session, admin, "admin").token
        return admin.id, {"Authorization": f"Bearer {token}"}


def test_granted_rights_work_at_once_and_withdrawn_ones_stop_at_once(app, world: World, sessions):
    _, root_headers = _admin(sessions, "root")
    with (
        TestClient(app, headers=root_headers) as root,
        TestClient(app, headers=world.member.headers) as member,
    ):
        assert member.get("/api/admin/users").status_code == 403
        granted = root.patch(f"/api/admin/users/{world.member.user_id}", json={"is_admin": True})
        assert granted.status_code == 200, granted.text
        assert granted.json()["is_admin"] is True and granted.json()["disabled_at"] is None
        # The member's very next request (same token, nothing new signed) is an administrator's.
        assert member.get("/api/admin/users").status_code == 200
        assert member.get("/api/auth/me").json()["is_admin"] is True

        withdrawn = root.patch(f"/api/admin/users/{world.member.user_id}", json={"is_admin": False})
        assert withdrawn.status_code == 200 and withdrawn.json()["is_admin"] is False
        assert member.get("/api/admin/users").status_code == 403
        assert member.get("/api/pocs").status_code == 200  # still a member of their workspace
        # Withdrawing from someone who has no rights changes nothing, and says so with 200.
        again = root.patch(f"/api/admin/users/{world.member.user_id}", json={"is_admin": False})
        assert again.status_code == 200 and again.json()["is_admin"] is False


def test_an_administrator_cannot_withdraw_their_own_rights(app, world: World, sessions):
    root_id, root_headers = _admin(sessions, "self")
    _, other_headers = _admin(sessions, "other")  # another administrator exists: still refused
    with TestClient(app, headers=root_headers) as root:
        refused = root.patch(f"/api/admin/users/{root_id}", json={"is_admin": False})
        assert refused.status_code == 409
        assert refused.json()["detail"] == (
            "you cannot withdraw your own administrator rights; ask another administrator"
        )
        both = root.patch(f"/api/admin/users/{root_id}", json={"is_admin": False, "disabled": False})
        assert both.status_code == 409
        assert root.patch(f"/api/admin/users/{root_id}", json={"is_admin": True}).status_code == 200  # no-op
        assert root.get("/api/admin/users").status_code == 200
    with sessions() as session:
        assert session.get(User, root_id).is_admin is True
    # Another administrator may withdraw them.
    with TestClient(app, headers=other_headers) as other:
        assert other.patch(f"/api/admin/users/{root_id}", json={"is_admin": False}).status_code == 200
    with TestClient(app, headers=root_headers) as root:
        assert root.get("/api/admin/users").status_code == 403


def test_the_body_names_at_least_one_change_and_nothing_else(app, world: World, sessions):
    _, root_headers = _admin(sessions, "body")
    path = f"/api/admin/users/{world.member.user_id}"
    with TestClient(app, headers=root_headers) as root:
        for body in ({}, {"disabled": None}, {"is_admin": None, "disabled": None}):
            answer = root.patch(path, json=body)
            assert answer.status_code == 422, body
            assert "disabled, is_admin or both" in answer.json()["detail"]["message"]
        assert root.patch(path, json={"role": "owner"}).status_code == 422
        assert root.patch(path, json={"is_admin": "maybe"}).status_code == 422
        assert root.patch("/api/admin/users/nobody", json={"is_admin": True}).status_code == 404
        # Both at once: a disabled administrator (refused everywhere until enabled again).
        both = root.patch(path, json={"is_admin": True, "disabled": True})
        assert both.status_code == 200 and both.json()["is_admin"] is True
        assert both.json()["disabled_at"] is not None
    with TestClient(app, headers=world.member.headers) as member:
        assert member.get("/api/admin/users").status_code == 401


def test_disabling_is_unchanged_by_the_new_field(app, world: World, sessions):
    root_id, root_headers = _admin(sessions, "disable")
    with TestClient(app, headers=root_headers) as root:
        off = root.patch(f"/api/admin/users/{world.member.user_id}", json={"disabled": True})
        assert off.status_code == 200 and off.json()["disabled_at"] is not None
        assert off.json()["is_admin"] is False  # not touched
        assert root.patch(f"/api/admin/users/{root_id}", json={"disabled": True}).status_code == 409
        on = root.patch(f"/api/admin/users/{world.member.user_id}", json={"disabled": False})
        assert on.status_code == 200 and on.json()["disabled_at"] is None


def test_zopoc_keeps_at_least_one_enabled_administrator(world: World, sessions):
    # Through the API the caller is always an enabled administrator who cannot change themselves; the
    # rule also holds for any other caller of accounts.change_user (and for racing requests).
    only_id, _ = _admin(sessions, "only")
    with sessions() as session:
        for change in ({"is_admin": False}, {"disabled": True}, {"is_admin": False, "disabled": False}):
            with pytest.raises(accounts.NoAdministratorLeft):
                accounts.change_user(session, only_id, **change)
        assert session.get(User, only_id).is_admin is True
        assert session.get(User, only_id).disabled_at is None
        # A disabled administrator does not count: enabling a second one first makes the change possible.
        second = accounts.create_user(session, "second@zopoc.test", "a long admin password", is_admin=True)
        accounts.set_disabled(session, second, True)
        with pytest.raises(accounts.NoAdministratorLeft):
            accounts.change_user(session, only_id, is_admin=False)
        assert accounts.change_user(session, second.id, disabled=False) is not None
        assert accounts.change_user(session, only_id, is_admin=False).is_admin is False
        assert accounts.change_user(session, "nobody", is_admin=True) is None
