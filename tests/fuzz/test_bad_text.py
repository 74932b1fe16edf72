"""Regression of what the fuzzer found: a NUL character anywhere in the input was a 500 (Postgres refuses
NUL in text). Each of these must now be a 4xx saying what is wrong, and the server log stays clean."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

NUL_REQUESTS = [
    ("POST", "/api/auth/login", {"json": {"email": "a\x00b@example.org", "password": "x"}}),
    ("GET", "/api/pocs", {"params": {"q": "a\x00"}}),
    ("GET", "/api/pocs/a%00b", {}),
    ("GET", "/api/runs/a%00b", {}),
    ("GET", "/api/datasets/a%00b", {}),
    ("POST", "/api/auth/tokens", {"json": {"name": "t\x00"}}),
    (
        "POST",
        "/api/datasets",
        {"files": {"file": ("x.csv", b"text,label\nhello,pos\nbye,neg\n" * 5)}, "data": {"name": "d\x00"}},
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs"), NUL_REQUESTS, ids=[f"{m} {p}" for m, p, _ in NUL_REQUESTS]
)
def test_nul_characters_are_a_4xx(method, path, kwargs, fuzz_stack, fuzz_headers):
    log_before = len(fuzz_stack.api_log())
    with httpx.Client(base_url=fuzz_stack.base_url, headers=fuzz_headers, timeout=30) as client:
        response = client.request(method, path, **kwargs)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in fuzz_stack.api_log()[log_before:]
