"""API tests: the real app (TestClient) on a fresh database of the session's stack."""

from __future__ import annotations

import pytest

from tests.support.db import *  # noqa: F401,F403  (fixtures)


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
