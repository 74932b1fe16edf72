"""Owners add people who already have an account (by e-mail address), and see and cancel pending
invitations; administrators see and cancel every pending invitation."""

from __future__ import annotations

import datetime as dt
import typing

from fastapi.testclient import TestClient

from backend.auth import accounts
from backend.db.models import Invite
from tests.auth.conftest import World


def _admin_headers(sessions, tag: str) -> dict[str, str]:
    with sessions() as session:
        admin = accounts.create_user(
            session, f"admin-{tag}@zopoc.test", "a long admin password", is_admin=True
        )
        return {"Authorization": f"Bearer {accounts.create_api_token(session, admin, 'admin').token}"}


def _invite(client: TestClient, workspace_id: str, email: str, role: str = "viewer") -> dict:
    answer = client.post(f"/api/workspaces/{workspace_id}/invites", json={"email": email, "role": role})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _accept(app, token: str):
    with TestClient(app) as anonymous:
        return anonymous.post(
            "/api/auth/invites/accept", json={"token": token, "password": "a long password 1"}
        )


# --- adding an existing account -------------------------------------------------------------------


def test_owner_adds_an_existing_account_by_email_who_then_sees_the_workspace(app, world: World):
    a = world.owner.workspace_id
    with TestClient(app, headers=world.owner.headers) as owner:
        added = owner.post(
            f"/api/workspaces/{a}/members", json={"email": world.outsider.email.upper(), "role": "editor"}
        )
    assert added.status_code == 201, added.text
    assert {
        "user_id": world.outsider.user_id,
        "email": world.outsider.email,
        "name": "",
        "role": "editor",
    } in added.json()["data"]
    assert added.json()["count"] == 5
    with TestClient(app, headers=world.outsider.headers) as newcomer:
        roles = {w["id"]: w["role"] for w in newcomer.get("/api/workspaces").json()["data"]}
        assert roles == {world.outsider.workspace_id: "owner", a: "editor"}
        pocs = newcomer.get("/api/pocs", headers={"X-Zopoc-Workspace": a})
        assert pocs.status_code == 200 and [p["id"] for p in pocs.json()["data"]] == [world.poc_id]


def test_adding_answers_404_for_an_unknown_address_and_409_for_a_member(app, world: World):
    a = world.owner.workspace_id
    with TestClient(app, headers=world.owner.headers) as owner:
        unknown = owner.post(f"/api/workspaces/{a}/members", json={"email": "nobody@zopoc.test"})
        assert unknown.status_code == 404
        assert unknown.json()["detail"]["message"] == (
            "email: no account has the e-mail address nobody@zopoc.test; invite them instead"
        )
        member = owner.post(
            f"/api/workspaces/{a}/members", json={"email": world.viewer.email, "role": "owner"}
        )
        assert member.status_code == 409
        assert member.json()["detail"]["message"] == (
            f"email: {world.viewer.email} is already a member of this workspace; change their role instead"
        )
        assert owner.post(f"/api/workspaces/{a}/members", json={"email": "no address"}).status_code == 422
        roles = {m["email"]: m["role"] for m in owner.get(f"/api/workspaces/{a}/members").json()["data"]}
    assert roles[world.viewer.email] == "viewer"  # the refused request changed nothing


def test_only_this_workspaces_owners_may_add(app, world: World):
    a = world.owner.workspace_id
    body = {"email": world.outsider.email, "role": "owner"}
    with TestClient(app, headers=world.editor.headers) as editor:
        refused = editor.post(f"/api/workspaces/{a}/members", json=body)
        assert refused.status_code == 403
    with TestClient(app, headers=world.outsider.headers) as outsider:
        # Another workspace's owner cannot add themselves (or anyone) into A: A looks missing.
        assert outsider.post(f"/api/workspaces/{a}/members", json=body).status_code == 404
        assert outsider.get("/api/pocs", headers={"X-Zopoc-Workspace": a}).status_code == 403
    with TestClient(app, headers=world.owner.headers) as owner:
        emails = {m["email"] for m in owner.get(f"/api/workspaces/{a}/members").json()["data"]}
    assert world.outsider.email not in emails


# --- pending invitations --------------------------------------------------------------------------


def test_owners_see_pending_invitations_only_and_never_the_link(app, world: World, sessions):
    a = world.owner.workspace_id
    with TestClient(app, headers=world.owner.headers) as owner:
        fresh = _invite(owner, a, "Fresh@zopoc.test", "editor")
        used = _invite(owner, a, "used@zopoc.test")
        expired = _invite(owner, a, "expired@zopoc.test")
        cancelled = _invite(owner, a, "cancelled@zopoc.test")
        assert _accept(app, used["token"]).status_code == 201
        with sessions() as session:
            row = session.query(Invite).filter_by(email="expired@zopoc.test").one()
            row.expires_at = accounts.utcnow() - dt.timedelta(seconds=1)
            session.commit()
        listed = owner.get(f"/api/workspaces/{a}/invites").json()
        cancel_id = next(i["id"] for i in listed["data"] if i["email"] == "cancelled@zopoc.test")
        assert owner.delete(f"/api/workspaces/{a}/invites/{cancel_id}").status_code == 204
        listed = owner.get(f"/api/workspaces/{a}/invites")
    assert listed.status_code == 200
    emails = [i["email"] for i in listed.json()["data"]]
    assert "fresh@zopoc.test" in emails and listed.json()["count"] == len(emails) == 2  # and the world's
    assert not {"used@zopoc.test", "expired@zopoc.test", "cancelled@zopoc.test"} & set(emails)
    row = next(i for i in listed.json()["data"] if i["email"] == "fresh@zopoc.test")
    assert row["role"] == "editor" and row["workspace_id"] == a and row["invited_by"] == world.owner.email
    assert row["is_admin"] is False
    assert dt.datetime.fromisoformat(row["expires_at"]) == dt.datetime.fromisoformat(fresh["expires_at"])
    for secret in (fresh["token"], used["token"], expired["token"], cancelled["token"]):
        assert secret not in listed.text
    assert "token" not in row and "url" not in row


def test_a_cancelled_invitation_is_refused_at_once_with_a_clear_message(app, world: World):
    a = world.owner.workspace_id
    with TestClient(app, headers=world.owner.headers) as owner:
        invite = _invite(owner, a, "changed-mind@zopoc.test", "editor")
        invite_id = next(
            i["id"]
            for i in owner.get(f"/api/workspaces/{a}/invites").json()["data"]
            if i["email"] == "changed-mind@zopoc.test"
        )
        assert owner.delete(f"/api/workspaces/{a}/invites/{invite_id}").status_code == 204
        assert owner.delete(f"/api/workspaces/{a}/invites/{invite_id}").status_code == 204  # twice: no harm
    refused = _accept(app, invite["token"])
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "this invitation was cancelled; ask the person who invited you for a new one"
    )
    with TestClient(app, headers=world.owner.headers) as owner:
        emails = {m["email"] for m in owner.get(f"/api/workspaces/{a}/members").json()["data"]}
        assert "changed-mind@zopoc.test" not in emails
        # An accepted invitation cannot be cancelled any more: the person is a member now.
        used = _invite(owner, a, "quick@zopoc.test")
        used_id = next(
            i["id"]
            for i in owner.get(f"/api/workspaces/{a}/invites").json()["data"]
            if i["email"] == "quick@zopoc.test"
        )
        assert _accept(app, used["token"]).status_code == 201
        late = owner.delete(f"/api/workspaces/{a}/invites/{used_id}")
        assert late.status_code == 409 and "already accepted" in late.json()["detail"]
        assert owner.delete(f"/api/workspaces/{a}/invites/no-such-invite").status_code == 404


def test_viewers_and_editors_cannot_list_or_cancel_invitations(app, world: World):
    a = world.owner.workspace_id
    for login in (world.viewer, world.editor):
        with TestClient(app, headers=login.headers) as client:
            assert client.get(f"/api/workspaces/{a}/invites").status_code == 403
            assert client.delete(f"/api/workspaces/{a}/invites/{world.invite_id}").status_code == 403
    with TestClient(app, headers=world.owner.headers) as owner:
        pending = owner.get(f"/api/workspaces/{a}/invites").json()["data"]
        assert [i["id"] for i in pending] == [world.invite_id]


def test_workspaces_see_and_cancel_only_their_own_invitations(app, world: World):
    a, b = world.owner.workspace_id, world.outsider.workspace_id
    with TestClient(app, headers=world.outsider.headers) as other:
        theirs = _invite(other, b, "b-guest@zopoc.test")
        listed = other.get(f"/api/workspaces/{b}/invites").json()["data"]
        assert [i["email"] for i in listed] == ["b-guest@zopoc.test"]  # not A's
        assert other.get(f"/api/workspaces/{a}/invites").status_code == 404
        assert other.delete(f"/api/workspaces/{a}/invites/{world.invite_id}").status_code == 404
        # Nor through their own workspace's path: A's invitation is not in B.
        assert other.delete(f"/api/workspaces/{b}/invites/{world.invite_id}").status_code == 404
    with TestClient(app, headers=world.owner.headers) as owner:
        pending = owner.get(f"/api/workspaces/{a}/invites").json()["data"]
        assert [i["id"] for i in pending] == [world.invite_id]
        assert owner.delete(f"/api/workspaces/{a}/invites/{listed[0]['id']}").status_code == 404
    assert _accept(app, theirs["token"]).status_code == 201


def test_administrators_see_and_cancel_every_pending_invitation(app, world: World, sessions):
    root = _admin_headers(sessions, world.owner.user_id[:8])
    with TestClient(app, headers=root) as admin:
        site = admin.post("/api/admin/invites", json={"email": "site-guest@zopoc.test", "is_admin": True})
        assert site.status_code == 201
        with TestClient(app, headers=world.outsider.headers) as other:
            _invite(other, world.outsider.workspace_id, "b-guest@zopoc.test", "editor")
        listed = admin.get("/api/admin/invites")
        assert listed.status_code == 200
        rows = {i["email"]: i for i in listed.json()["data"]}
        assert {"site-guest@zopoc.test", "b-guest@zopoc.test"} <= set(rows)
        assert any(i["id"] == world.invite_id for i in rows.values())
        assert rows["site-guest@zopoc.test"]["workspace_id"] is None
        assert rows["site-guest@zopoc.test"]["workspace_name"] is None
        assert rows["site-guest@zopoc.test"]["is_admin"] is True
        assert rows["b-guest@zopoc.test"]["workspace_name"] == f"workspace of {world.outsider.email}"
        assert site.json()["token"] not in listed.text

        assert admin.delete(f"/api/admin/invites/{rows['site-guest@zopoc.test']['id']}").status_code == 204
        assert admin.delete(f"/api/admin/invites/{world.invite_id}").status_code == 204
        assert admin.delete("/api/admin/invites/no-such-invite").status_code == 404
        left = {i["email"] for i in admin.get("/api/admin/invites").json()["data"]}
        assert "site-guest@zopoc.test" not in left and "b-guest@zopoc.test" in left
    assert _accept(app, site.json()["token"]).status_code == 400
    with TestClient(app, headers=world.owner.headers) as owner:
        assert owner.get(f"/api/workspaces/{world.owner.workspace_id}/invites").json()["count"] == 0
        assert owner.get("/api/admin/invites").status_code == 403
        assert owner.delete(f"/api/admin/invites/{world.invite_id}").status_code == 403


# --- why an invitation is refused: a code beside the English sentence ----------------------------


def test_each_refused_invitation_names_its_reason_in_a_code(app, world: World, sessions):
    a = world.owner.workspace_id
    with TestClient(app, headers=world.owner.headers) as owner:
        used = _invite(owner, a, "code-used@zopoc.test")
        expired = _invite(owner, a, "code-expired@zopoc.test")
        cancelled = _invite(owner, a, "code-cancelled@zopoc.test")
        taken = _invite(owner, a, "code-taken@zopoc.test")
        assert _accept(app, used["token"]).status_code == 201
        cancel_id = next(
            i["id"]
            for i in owner.get(f"/api/workspaces/{a}/invites").json()["data"]
            if i["email"] == "code-cancelled@zopoc.test"
        )
        assert owner.delete(f"/api/workspaces/{a}/invites/{cancel_id}").status_code == 204
    with sessions() as session:
        row = session.query(Invite).filter_by(email="code-expired@zopoc.test").one()
        row.expires_at = accounts.utcnow() - dt.timedelta(seconds=1)
        session.commit()
        # The address got an account another way (an administrator's site invitation, say) meanwhile.
        accounts.create_user(session, "code-taken@zopoc.test", "a long password 2")
    cases = {
        "zpi_no-such-invitation": ("invite_unknown", "this invitation is unknown or was already used"),
        used["token"]: ("invite_used", "this invitation is unknown or was already used"),
        expired["token"]: ("invite_expired", "this invitation has expired; ask for a new one"),
        cancelled["token"]: (
            "invite_cancelled",
            "this invitation was cancelled; ask the person who invited you for a new one",
        ),
        taken["token"]: (
            "invite_account_exists",
            "code-taken@zopoc.test already has an account; sign in instead",
        ),
    }
    for token, (code, detail) in cases.items():
        refused = _accept(app, token)
        assert refused.status_code == 400, refused.text
        assert refused.json() == {"detail": detail, "code": code}
    with TestClient(app, headers=world.owner.headers) as owner:  # no refused one made a member
        emails = {m["email"] for m in owner.get(f"/api/workspaces/{a}/members").json()["data"]}
    assert "code-used@zopoc.test" in emails
    assert not {"code-expired@zopoc.test", "code-cancelled@zopoc.test", "code-taken@zopoc.test"} & emails


def test_the_refusal_codes_are_in_the_openapi_document(app):
    from backend.auth.schemas import InviteProblemCode

    with TestClient(app) as client:
        spec = client.get("/api/openapi.json").json()
    answer = spec["paths"]["/api/auth/invites/accept"]["post"]["responses"]["400"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = spec["components"]["schemas"][ref]
    assert set(schema["required"]) == {"detail", "code"}
    assert schema["properties"]["code"]["enum"] == list(typing.get_args(InviteProblemCode))
    assert "invite_cancelled" in answer["description"]
