"""Reports tests: the API tests' database fixtures, and a finished PoC to share."""

import pytest

from tests.estimates.factory import add_finished_poc

# The shared database fixtures, imported by name so that each test package gets its own package-scoped
# database (pytest finds fixtures by the names a conftest module holds).
from tests.support.db import (  # noqa: F401
    api_env,
    api_env_extra,
    clean_tables,
    client,
    database_url,
    owner,
    sessions,
    settings,
    test_stack,
    workspace_id,
)


@pytest.fixture
def finished_poc(sessions, workspace_id) -> str:
    """The id of a finished LOZO + AdamW PoC on MiniLM, in the signed-in client's workspace."""
    with sessions() as session:
        return add_finished_poc(session, workspace_id)


@pytest.fixture
def anonymous(client):
    """A client of the same app with no credentials at all: what a share link's reader has."""
    from fastapi.testclient import TestClient

    return TestClient(client.app)


@pytest.fixture
def shared(client, finished_poc) -> dict:
    """A report of ``finished_poc`` created through the API (English, 14 days)."""
    answer = client.post(f"/api/pocs/{finished_poc}/reports", json={"language": "en", "expires_in_days": 14})
    assert answer.status_code == 201, answer.text
    return answer.json() | {"poc_id": finished_poc}
