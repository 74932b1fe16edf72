"""Role x route: every API route of the app, called by anonymous, viewer, editor, owner and a user of
another workspace, is allowed or refused with the right status (401, 403, or 404 for another
workspace's resources). The routes come from the app itself, so a new route without a rule fails here
(and the app refuses to start, see test_every_route_has_a_rule)."""

from __future__ import annotations

import secrets

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from backend.auth import accounts
from backend.auth.policy import RULES, api_routes, bind_rules
from tests.auth.conftest import MEMBER_PASSWORD, World, csv_file

CALLERS = ("anonymous", "viewer", "editor", "owner", "outsider")
RANK = {"viewer": 1, "editor": 2, "owner": 3}
RESOURCE_PARAMS = ("poc_id", "run_id", "dataset_id", "workspace_id")
# Requests that change what later requests of the same caller need: sent last, in this order.
LAST = (
    "/api/runs/{run_id}/cancel",
    "/api/runs/{run_id}/retry",
    "/api/pocs/{poc_id}/reports/{report_ref}",
    "/api/workspaces/{workspace_id}/members/{user_id}",
    "/api/auth/logout",
    "/api/pocs/{poc_id}",
)


def expected(level: str, caller: str, path: str) -> int | None:
    """The refusal status ``caller`` gets (None: allowed)."""
    if level == "public":
        return None
    if caller == "anonymous":
        return 401
    if level == "user":
        return None
    if level == "admin":
        return 403  # none of the callers is an administrator
    names_resource = any("{" + p + "}" in path for p in RESOURCE_PARAMS)
    if caller == "outsider":
        # Another workspace's resource looks missing; without one in the path the outsider acts in
        # their own workspace, where they are the owner.
        return 404 if names_resource else None
    return None if RANK[caller] >= RANK[level] else 403


def fill(path: str, world: World, caller_token_id: str) -> str:
    values = {
        "poc_id": world.poc_id,
        "run_id": world.run_ids[0],
        "dataset_id": world.dataset_id,
        "workspace_id": world.owner.workspace_id,
        "token": world.report_token,
        "report_ref": world.report_token,
        "user_id": world.member.user_id,
        "token_id": caller_token_id,
        "invite_id": world.invite_id,
    }
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def request_for(client: TestClient, method: str, path: str, template: str, world: World):
    """Send a plausible request to the route: valid bodies where the route takes one."""
    bodies = {
        ("POST", "/api/auth/login"): {"email": world.member.email, "password": MEMBER_PASSWORD},
        ("POST", "/api/auth/invites/accept"): {
            "token": "zpi_unknown-invitation",
            "password": "long enough pw",
        },
        ("POST", "/api/auth/tokens"): {"name": "matrix"},
        # A wrong current password: allowed to ask (422), changes nothing.
        ("POST", "/api/auth/password"): {"current_password": "not it", "new_password": "long enough pw"},
        ("POST", "/api/admin/invites"): {"email": f"new-{secrets.token_hex(3)}@zopoc.test"},
        ("POST", "/api/workspaces"): {"name": "another"},
        ("PATCH", "/api/admin/users/{user_id}"): {"disabled": False},
        ("PUT", "/api/workspaces/{workspace_id}/members/{user_id}"): {"role": "viewer"},
        ("POST", "/api/workspaces/{workspace_id}/invites"): {
            "email": f"ws-{secrets.token_hex(3)}@zopoc.test"
        },
        # An account that is not a member of A yet (the outsider's, in their own workspace B).
        ("POST", "/api/workspaces/{workspace_id}/members"): {"email": world.outsider.email, "role": "viewer"},
        ("POST", "/api/models/check"): {"model": "tiny-bert"},
        ("POST", "/api/estimates/memory"): {"model": "tiny-bert", "methods": ["lozo"]},
        ("POST", "/api/pocs"): {
            "name": "matrix",
            "model": "tiny-bert",
            "dataset_id": world.builtin_dataset_id,
            "steps": 5,
            "methods": [{"method": "lozo"}],
        },
        ("POST", "/api/pocs/{poc_id}/reports"): {"language": "en"},
    }
    kwargs: dict = {}
    if (method, template) in bodies:
        kwargs["json"] = bodies[(method, template)]
    if (method, template) == ("POST", "/api/datasets"):
        kwargs["files"] = csv_file()
    if template == "/api/pocs/{poc_id}/events":
        # Not a stream that never ends: a bad resume point answers 422 once access is granted.
        kwargs["headers"] = {"Last-Event-ID": "not-an-event-id"}
    if template in ("/api/reports/{token}.pdf", "/api/reports/{token}.png"):
        path = path.replace(world.report_token, "x" * 20)  # no Chromium here: unknown token, 404
    return client.request(method, path, **kwargs)


def routes_in_order(app) -> list[tuple[str, str]]:
    pairs = sorted((method, info.path) for info in api_routes(app) for method in info.methods)
    return sorted(pairs, key=lambda mp: LAST.index(mp[1]) + 1 if mp[1] in LAST and mp[0] != "GET" else 0)


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_answers_each_role_as_its_rule_says(app, world: World, sessions, caller):
    login = {
        "viewer": world.viewer,
        "editor": world.editor,
        "owner": world.owner,
        "outsider": world.outsider,
    }.get(caller)
    headers = login.headers if login else {}
    spare_token_id = "no-such-token"
    if login:
        with sessions() as session:
            user = session.get(accounts.User, login.user_id)
            spare_token_id = accounts.create_api_token(session, user, "spare").row.id
    mismatches = []
    with TestClient(app, headers=headers) as client:
        for method, template in routes_in_order(app):
            rule = RULES[(method, template)]
            want = expected(rule.level, caller, template)
            answer = request_for(client, method, fill(template, world, spare_token_id), template, world)
            client.cookies.clear()  # the login route's session cookie must not sign the caller in
            got = answer.status_code
            if want is None:
                ok = got not in (401, 403) and not (got == 404 and rule.level in RANK)
            else:
                ok = got == want
            if not ok:
                mismatches.append(
                    f"{caller} {method} {template}: want {want or 'allowed'}, got {got} {answer.text[:160]}"
                )
    assert not mismatches, "\n".join(mismatches)


def test_every_route_has_a_rule(app):
    assert bind_rules(app) == []
    served = {(m, info.path) for info in api_routes(app) for m in info.methods}
    assert served == set(RULES), "rules for routes that do not exist: " + str(set(RULES) - served)


def test_a_route_without_a_rule_stops_the_app(api_env, monkeypatch):
    from backend.api import main

    original = main.api_router

    def with_extra_route() -> APIRouter:
        router = original()
        router.add_api_route("/pocs/{poc_id}/secret", lambda poc_id: {}, methods=["GET"])
        return router

    monkeypatch.setattr(main, "api_router", with_extra_route)
    with pytest.raises(RuntimeError, match="GET /api/pocs/{poc_id}/secret"):
        main.create_app()


def test_share_token_routes_only_read():
    token_routes = [
        key
        for key, rule in RULES.items()
        if rule.level == "public"
        and key not in {("POST", "/api/auth/login"), ("POST", "/api/auth/invites/accept")}
    ]
    assert token_routes and all(method == "GET" for method, _ in token_routes)
