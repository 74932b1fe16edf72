"""An open event stream ends within seconds once its caller loses access: signed out, removed from the
workspace, disabled. And a user holds a bounded number of streams. On a real uvicorn with Postgres and
Redis, the streams read with browser sessions (cookies) and API tokens as the dashboard and scripts do."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.support.stack import Stack, live_stack

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

RECHECK_S = 1.0
STREAMS_PER_USER = 3
# Re-check interval, one disconnect check and the scheduling slack of a busy 2-core machine.
ENDS_WITHIN_S = 8.0


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    extra = {
        "ZOPOC_EVENTS_ACCESS_RECHECK_S": str(RECHECK_S),
        "ZOPOC_MAX_EVENT_STREAMS_PER_USER": str(STREAMS_PER_USER),
    }
    with live_stack(worker=False, extra_env=extra) as running:
        yield running


@dataclass
class Member:
    user_id: str
    email: str
    password: str


@dataclass
class Stream:
    """A stream read in a thread until the server ends it."""

    response: httpx.Response
    ended_at: float | None = None
    lines: list[str] = field(default_factory=list)

    def follow(self) -> None:
        try:
            for line in self.response.iter_lines():
                self.lines.append(line)
        except httpx.HTTPError:
            pass
        self.ended_at = time.monotonic()


@pytest.fixture(scope="module")
def poc_id(stack: Stack) -> str:
    with stack.client() as admin:
        dataset = next(d for d in admin.get("/api/datasets").json()["data"] if d["name"] == "demo-sentiment")
        body = {
            "name": "streamed",
            "model": "tiny-bert",
            "dataset_id": dataset["id"],
            "methods": [{"method": "lozo"}],
            "steps": 3,
        }
        answer = admin.post("/api/pocs", json=body)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]


def _member(stack: Stack, poc_id: str, role: str = "viewer") -> Member:
    from backend.auth import accounts
    from backend.db.models import Poc

    password = secrets.token_urlsafe(12)
    with stack.session() as session:
        user = accounts.create_user(session, f"m-{secrets.token_hex(4)}@stack.test", password)
        accounts.set_role(session, session.get(Poc, poc_id).workspace_id, user.id, role)
        return Member(user.id, user.email, password)


@contextlib.contextmanager
def _signed_in(stack: Stack, member: Member) -> Iterator[httpx.Client]:
    """A browser session: signed in with e-mail and password, the CSRF cookie copied into the header."""
    with httpx.Client(base_url=stack.base_url, timeout=httpx.Timeout(30, read=30)) as client:
        answer = client.post("/api/auth/login", json={"email": member.email, "password": member.password})
        assert answer.status_code == 200, answer.text
        client.headers["X-CSRF-Token"] = client.cookies.get("zopoc_csrf") or ""
        yield client


def _open(client: httpx.Client, poc_id: str) -> Stream:
    response = client.send(client.build_request("GET", f"/api/pocs/{poc_id}/events"), stream=True)
    assert response.status_code == 200, response.read()[:300]
    stream = Stream(response)
    threading.Thread(target=stream.follow, daemon=True).start()
    time.sleep(RECHECK_S * 2)
    assert stream.ended_at is None, "the stream is open while access lasts"
    return stream


def _ends_soon(stream: Stream, since: float) -> float:
    deadline = since + ENDS_WITHIN_S + 5
    while stream.ended_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stream.ended_at is not None, "the stream went on after access was lost"
    return stream.ended_at - since


def test_a_stream_ends_when_its_browser_session_signs_out(stack, poc_id):
    member = _member(stack, poc_id)
    with _signed_in(stack, member) as browser:
        stream = _open(browser, poc_id)
        assert browser.post("/api/auth/logout").status_code == 204
        assert _ends_soon(stream, time.monotonic()) <= ENDS_WITHIN_S
        stream.response.close()


def test_a_stream_ends_when_its_reader_leaves_the_workspace(stack, poc_id):
    member = _member(stack, poc_id)
    with _signed_in(stack, member) as browser, stack.client() as admin:
        stream = _open(browser, poc_id)
        workspace_id = next(w["id"] for w in admin.get("/api/workspaces").json()["data"])  # the PoC's
        removed = admin.delete(f"/api/workspaces/{workspace_id}/members/{member.user_id}")
        assert removed.status_code == 204, removed.text
        assert _ends_soon(stream, time.monotonic()) <= ENDS_WITHIN_S
        stream.response.close()


def test_a_stream_ends_when_its_reader_is_disabled(stack, poc_id):
    member = _member(stack, poc_id)
    with _signed_in(stack, member) as browser, stack.client() as admin:
        token = browser.post("/api/auth/tokens", json={"name": "script"}).json()["token"]
        with httpx.Client(
            base_url=stack.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30, read=30),
        ) as script:
            by_cookie, by_token = _open(browser, poc_id), _open(script, poc_id)
            assert (
                admin.patch(f"/api/admin/users/{member.user_id}", json={"disabled": True}).status_code == 200
            )
            disabled_at = time.monotonic()
            assert _ends_soon(by_cookie, disabled_at) <= ENDS_WITHIN_S
            assert _ends_soon(by_token, disabled_at) <= ENDS_WITHIN_S
            by_cookie.response.close()
            by_token.response.close()


def test_a_user_holds_a_bounded_number_of_streams(stack, poc_id):
    member = _member(stack, poc_id)
    with _signed_in(stack, member) as browser:
        streams = [_open(browser, poc_id) for _ in range(STREAMS_PER_USER)]
        refused = browser.get(f"/api/pocs/{poc_id}/events")
        assert refused.status_code == 429 and refused.json()["detail"]["limit"] == "event_streams"
        streams[0].response.close()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # the slot is given back once the server sees the close
            answer = browser.send(browser.build_request("GET", f"/api/pocs/{poc_id}/events"), stream=True)
            status = answer.status_code
            answer.close()
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200
        for stream in streams[1:]:
            stream.response.close()
