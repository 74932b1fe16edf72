"""API tests: the real app (TestClient) on a fresh database of the session's stack."""

from __future__ import annotations

import pytest

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
def builtin_dataset_id(client) -> str:
    """The id of the built-in demo dataset (registered at start-up)."""
    data = client.get("/api/datasets").json()["data"]
    return next(d["id"] for d in data if d["name"] == "demo-sentiment")


@pytest.fixture
def make_poc(client, builtin_dataset_id):
    """Create a PoC through the API (defaults: tiny-bert, LOZO + AdamW, 5 steps); return its body."""

    def make(**overrides) -> dict:
        body = {"name": "test poc", "model": "tiny-bert", "dataset_id": builtin_dataset_id, "steps": 5}
        response = client.post("/api/pocs", json=body | overrides)
        assert response.status_code == 201, response.text
        return response.json()

    return make
