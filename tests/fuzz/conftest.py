"""The running server the fuzz tests talk to: a live stack (real uvicorn, Postgres, Redis) without a worker.

No worker runs: a PoC the fuzzer happens to create stays queued instead of training on the shared CPU.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis

from tests.faults.support import auth_headers
from tests.support.stack import Stack, live_stack


@pytest.fixture(scope="session")
def fuzz_stack() -> Iterator[Stack]:
    with live_stack(worker=False) as stack:
        yield stack


@pytest.fixture(scope="session")
def fuzz_headers(fuzz_stack: Stack) -> dict[str, str]:
    """An admin's API token when the API has accounts, so the fuzzer reaches past the 401s."""
    return auth_headers(fuzz_stack)


@pytest.fixture(scope="session")
def api_schema(fuzz_stack: Stack):
    """The server's own OpenAPI document, as served at /api/openapi.json."""
    return schemathesis.openapi.from_url(f"{fuzz_stack.base_url}/api/openapi.json")
