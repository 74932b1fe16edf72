"""Property-based fuzz of every operation in the OpenAPI schema against the running server: no 5xx, ever.

Schemathesis generates valid and invalid inputs (path, query, headers, bodies) from the schema the server
publishes; each case is sent over HTTP to a live uvicorn on Postgres + Redis. Bounded for CI:
``ZOPOC_FUZZ_EXAMPLES`` cases at most per operation (default 10). The SSE stream never ends by design, so
its operation is fuzzed separately below, reading only the status line and first bytes.
"""

from __future__ import annotations

import contextlib
import os
import re
import time

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

EXAMPLES = int(os.environ.get("ZOPOC_FUZZ_EXAMPLES", "10"))
SSE_PATH = r"/pocs/\{poc_id\}/events$"

SSE_ROUTE = re.compile(SSE_PATH)
SSE_LABEL = "GET /api/pocs/{poc_id}/events"
tried: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def print_case_count():
    started = time.monotonic()
    yield
    total = sum(tried.values())
    print(
        f"\n[fuzz] {total} cases over {len(tried)} operations in {time.monotonic() - started:.0f} s, "
        f"zero 5xx answers required"
    )
    for label, count in sorted(tried.items()):
        print(f"[fuzz]   {count:4d}  {label}")


def fuzz_operation(operation, base_url: str, headers: dict[str, str]) -> list[str]:
    """Send up to EXAMPLES valid and invalid cases of one operation; return the 5xx failures found."""
    failures: list[str] = []
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case) -> None:
        tried[operation.label] = tried.get(operation.label, 0) + 1
        try:
            case.call_and_validate(
                base_url=base_url, headers=headers, checks=[not_a_server_error], timeout=30
            )
        except (Exception, BaseExceptionGroup) as error:  # collect every failing input, report them all
            failures.append(f"{operation.label}: {type(error).__name__}: {str(error)[:1500]}")

    send()
    return failures


def test_no_operation_answers_5xx(api_schema, fuzz_stack, fuzz_headers):
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15, "the schema lists the API's operations"
    for operation in operations:
        if SSE_ROUTE.search(operation.path):
            continue
        failures += fuzz_operation(operation, fuzz_stack.base_url, fuzz_headers)
    if failures:
        print(f"[fuzz] server log tail:\n{fuzz_stack.api_log()[-6000:]}")
    assert not failures, "\n\n".join(failures[:20])


# What a client can put in a header at all: visible latin-1 characters and spaces.
HEADER_TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=40
)


@given(
    last_event_id=st.one_of(st.none(), HEADER_TEXT, st.from_regex(r"\A[0-9]{1,25}(\.[0-9]{1,12})?\Z")),
    after=st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=12)),
    poc_id=st.one_of(st.just("existing"), st.text(min_size=1, max_size=40)),
)
@example(last_event_id="9999999999999999999", after=None, poc_id="existing")  # above Postgres's bigint
@example(last_event_id="9223372036854775807.999999999", after=None, poc_id="existing")
@example(last_event_id="1", after=None, poc_id="existing")  # the batched stream's ids: "<seq>"
@example(last_event_id="0.0", after=None, poc_id="existing")  # not an id of this stream
@example(last_event_id=None, after=2**63, poc_id="existing")
@example(last_event_id=None, after=2**70, poc_id="existing")
@settings(
    max_examples=EXAMPLES * 2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_event_stream_never_answers_5xx(
    last_event_id, after, poc_id, fuzz_stack, fuzz_headers, existing_poc_id
):
    headers = dict(fuzz_headers)
    if last_event_id is not None and last_event_id.strip(" \t"):
        # HTTP trims a header value's outer whitespace; h11 refuses to send it untrimmed.
        headers["Last-Event-ID"] = last_event_id.strip(" \t").encode("latin-1")
    params = {} if after is None else {"after": str(after)}
    target = existing_poc_id if poc_id == "existing" else poc_id
    tried[SSE_LABEL] = tried.get(SSE_LABEL, 0) + 1
    url = f"{fuzz_stack.base_url}/api/pocs/{quote(target)}/events"
    log_before = len(fuzz_stack.api_log())
    timeout = httpx.Timeout(10, read=1)
    with httpx.stream("GET", url, headers=headers, params=params, timeout=timeout) as response:
        assert response.status_code < 500, (response.status_code, response.read()[:500], url, headers, params)
        if response.status_code == 200:
            # Read until the first event (the replay ran) or a quiet second (nothing to replay); the
            # stream itself never ends, and an error inside it would cut it off (RemoteProtocolError).
            with contextlib.suppress(httpx.ReadTimeout):
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        break
    errors = fuzz_stack.api_log()[log_before:]
    assert "Traceback" not in errors, (url, headers, params, errors[-3000:])


def quote(value: str) -> str:
    from urllib.parse import quote as url_quote

    return url_quote(value, safe="")


@pytest.fixture(scope="module")
def existing_poc_id(fuzz_stack, fuzz_headers) -> str:
    """A real PoC (queued runs only: no worker), so the stream's valid path is fuzzed too."""
    with httpx.Client(base_url=fuzz_stack.base_url, timeout=30, headers=fuzz_headers) as client:
        dataset = next(d for d in client.get("/api/datasets").json()["data"] if d["name"] == "demo-sentiment")
        body = {
            "name": "fuzz target",
            "model": "tiny-bert",
            "dataset_id": dataset["id"],
            "methods": [{"method": "lozo"}],
            "steps": 3,
        }
        response = client.post("/api/pocs", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]
