"""Sign-in limits count failures per (account, client) and per client, in Redis: a stranger guessing at an
address cannot lock its owner out, and a trusted proxy's X-Forwarded-For names the client."""

from __future__ import annotations

import os
from unittest import mock

from fastapi.testclient import TestClient

from backend.core.config import get_settings
from tests.auth.conftest import LOGIN_PER_EMAIL, MEMBER_PASSWORD, World

GUESSER = ("203.0.113.5", 40000)
OWNER_ELSEWHERE = ("198.51.100.7", 40000)


def _sign_in(client: TestClient, email: str, password: str, **kwargs) -> int:
    return client.post("/api/auth/login", json={"email": email, "password": password}, **kwargs).status_code


def test_guessing_locks_the_guessing_client_out_not_the_owner(app, world: World):
    with TestClient(app, client=GUESSER) as guesser, TestClient(app, client=OWNER_ELSEWHERE) as owner:
        for _ in range(LOGIN_PER_EMAIL):
            assert _sign_in(guesser, world.member.email, "wrong guess!") == 401
        # The guesser is stopped even with the right password: guessing on learns nothing.
        refused = guesser.post(
            "/api/auth/login", json={"email": world.member.email, "password": MEMBER_PASSWORD}
        )
        assert refused.status_code == 429 and refused.json()["detail"]["limit"] == "login"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # The owner, from their own address, signs in while the guessing goes on.
        assert _sign_in(owner, world.member.email, MEMBER_PASSWORD) == 200
        assert _sign_in(guesser, world.member.email, "wrong guess!") == 429
        assert _sign_in(owner, world.member.email, MEMBER_PASSWORD) == 200


def test_successful_sign_ins_are_not_counted(app, world: World):
    with TestClient(app, client=OWNER_ELSEWHERE) as owner:
        for _ in range(LOGIN_PER_EMAIL * 2):
            assert _sign_in(owner, world.member.email, MEMBER_PASSWORD) == 200


def test_failures_from_one_client_over_many_accounts_are_limited(app, world: World, settings):
    strict = settings.model_copy(update={"login_ip_rate_limit": "3/minute"})
    app.dependency_overrides[get_settings] = lambda: strict
    try:
        with TestClient(app, client=GUESSER) as guesser, TestClient(app, client=OWNER_ELSEWHERE) as owner:
            for email in (world.owner.email, world.editor.email, world.viewer.email):
                assert _sign_in(guesser, email, "wrong guess!") == 401
            assert _sign_in(guesser, world.member.email, MEMBER_PASSWORD) == 429
            assert _sign_in(owner, world.member.email, MEMBER_PASSWORD) == 200
    finally:
        app.dependency_overrides.clear()


def test_a_trusted_proxy_names_the_client_and_no_one_else_can(api_env, world: World):
    from backend.api.main import create_app

    proxy, stranger = ("192.0.2.1", 40000), ("192.0.2.2", 40000)
    with mock.patch.dict(os.environ, {"ZOPOC_TRUSTED_PROXIES": '["192.0.2.1"]'}):
        get_settings.cache_clear()
        app = create_app()
    try:
        with TestClient(app, client=proxy) as via_proxy, TestClient(app, client=stranger) as direct:
            behind = {"X-Forwarded-For": "203.0.113.77"}
            for _ in range(LOGIN_PER_EMAIL):
                assert _sign_in(via_proxy, world.member.email, "wrong guess!", headers=behind) == 401
            assert _sign_in(via_proxy, world.member.email, MEMBER_PASSWORD, headers=behind) == 429
            # Another client behind the same proxy is not that client.
            assert (
                _sign_in(
                    via_proxy,
                    world.member.email,
                    MEMBER_PASSWORD,
                    headers={"X-Forwarded-For": "203.0.113.78"},
                )
                == 200
            )
            # An untrusted caller's X-Forwarded-For is ignored: it cannot pose as the locked-out client.
            assert _sign_in(direct, world.member.email, MEMBER_PASSWORD, headers=behind) == 200
    finally:
        get_settings.cache_clear()
