"""Request bodies are refused before they are read: by the declared length, by the bytes streamed, and
when the caller is not signed in. Against a real uvicorn (Postgres, Redis), over raw sockets, so that
"not read" means what it says: the server answers while the client has sent only the headers.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.stack import Stack, live_stack

pytestmark = [pytest.mark.slow]

JSON_LIMIT_KB = 16
UPLOAD_LIMIT_MB = 1


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    extra = {"ZOPOC_MAX_BODY_KB": str(JSON_LIMIT_KB), "ZOPOC_MAX_UPLOAD_MB": str(UPLOAD_LIMIT_MB)}
    with live_stack(worker=False, extra_env=extra) as running:
        yield running


def _answer_to_headers(stack: Stack, head: str, timeout_s: float = 15.0) -> tuple[bytes, float]:
    """Send only ``head`` (request line and headers, no body); return what the server answered (until it
    closed the connection or went quiet) and the seconds that took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", stack.port), timeout=timeout_s) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
                if b"\r\n\r\n" in received and _complete(received):
                    break
        except TimeoutError:
            pass
    return received, time.monotonic() - started


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ")[1])


def test_an_anonymous_upload_is_refused_before_its_body_is_sent(stack):
    head = (
        "POST /api/datasets HTTP/1.1\nHost: test\nContent-Type: multipart/form-data; boundary=zz\n"
        "Content-Length: 62914560\n"
    )
    answer, seconds = _answer_to_headers(stack, head)
    assert _status(answer) == 401, answer[:300]
    assert b"connection: close" in answer.lower()
    assert seconds < 10


def test_an_anonymous_json_body_is_refused_before_it_is_sent(stack):
    head = "POST /api/pocs HTTP/1.1\nHost: test\nContent-Type: application/json\nContent-Length: 31457280\n"
    answer, _ = _answer_to_headers(stack, head)
    assert _status(answer) == 401, answer[:300]
    # A forged session cookie is no credential either.
    answer, _ = _answer_to_headers(stack, head + "Cookie: zopoc_session=zps_forged\nX-CSRF-Token: x\n")
    assert _status(answer) == 401, answer[:300]


def test_a_signed_in_body_over_its_route_limit_is_refused_by_its_length(stack):
    token = stack.auth_headers()["Authorization"]
    head = (
        f"POST /api/pocs HTTP/1.1\nHost: test\nAuthorization: {token}\nContent-Type: application/json\n"
        f"Content-Length: {JSON_LIMIT_KB * 1024 + 1}\n"
    )
    answer, seconds = _answer_to_headers(stack, head)
    assert _status(answer) == 413, answer[:300]
    assert f"limit of {JSON_LIMIT_KB:g} KiB".encode() in answer
    assert seconds < 10
    # The upload route takes more than a JSON route, and less than twice its own limit.
    upload = (
        f"POST /api/datasets HTTP/1.1\nHost: test\nAuthorization: {token}\n"
        f"Content-Type: multipart/form-data; boundary=zz\nContent-Length: {2 * UPLOAD_LIMIT_MB * 2**20}\n"
    )
    answer, _ = _answer_to_headers(stack, upload)
    assert _status(answer) == 413, answer[:300]


def test_a_streamed_body_is_cut_off_at_the_limit(stack):
    sent, chunks = 0, 16384  # 64 MiB offered; the socket buffers hold a few MiB at most

    def body() -> Iterator[bytes]:  # chunked: no length to check up front
        nonlocal sent
        for _ in range(chunks):
            sent += 4096
            yield b" " * 4096

    with httpx.Client(base_url=stack.base_url, headers=stack.auth_headers(), timeout=30) as client:
        try:
            answer = client.post("/api/pocs", content=body(), headers={"Content-Type": "application/json"})
        except (httpx.WriteError, httpx.RemoteProtocolError):  # closed while the client still wrote
            answer = None
        if answer is not None:
            assert answer.status_code == 413, answer.text
            assert f"limit of {JSON_LIMIT_KB:g} KiB" in answer.json()["detail"]
        assert sent < chunks * 4096 / 4
        # A body within the limit still reaches the route (422: not a PoC).
        assert client.post("/api/pocs", json={"name": "x"}).status_code == 422
