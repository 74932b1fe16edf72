"""End to end on the live stack: the real engine runs a LOZO + AdamW PoC, then ROI and a shared report are
built from what the worker wrote (metric points, packed evaluation bits, final metrics)."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.support.stack import Stack, live_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Stack:
    with live_stack() as running:
        yield running


def test_report_of_a_real_poc(stack):
    with stack.client() as client:
        dataset_id = next(
            d["id"] for d in client.get("/api/datasets").json()["data"] if d["name"] == "demo-sentiment"
        )
        poc = client.post(
            "/api/pocs",
            json={
                "name": "live report",
                "model": "tiny-bert",
                "dataset_id": dataset_id,
                "methods": [{"method": "lozo"}, {"method": "adamw"}],
                "steps": 6,
                "batch_size": 4,
                "k_shot": 4,
                "eval_every": 3,
                "seed": 0,
                "device": "cpu",
            },
        ).json()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            runs = client.get(f"/api/pocs/{poc['id']}").json()["runs"]
            if all(r["state"] in ("succeeded", "failed", "cancelled") for r in runs):
                break
            time.sleep(0.5)
        assert [r["state"] for r in runs] == ["succeeded", "succeeded"], stack.worker_log()[-3000:]

        roi = client.get(f"/api/pocs/{poc['id']}/roi").json()
        assert {r["method"] for r in roi["rows"]} == {"lozo", "adamw"}
        comparison = roi["comparison"]
        n_eval = runs[0]["final_metrics"]["n_eval"]
        assert comparison is not None and comparison["n"] == n_eval  # the worker's packed bits, decoded
        rows = {r["method"]: r for r in roi["rows"]}
        for run in runs:  # accuracy read from the bits equals what the engine reported
            assert rows[run["method"]]["accuracy"]["value"] == pytest.approx(run["final_metrics"]["acc_end"])
            assert rows[run["method"]]["gain_p_value"] is not None
        assert roi["verdict"]["code"] in ("zo_better", "zo_worse", "no_significant_difference")

        links = client.post(f"/api/pocs/{poc['id']}/reports", json={"language": "ja"}).json()
    page = httpx.get(stack.base_url + links["url"])  # no credentials: the share link alone
    assert page.status_code == 200 and roi["verdict"]["ja"][:20] in page.text
    snapshot = httpx.get(f"{stack.base_url}/api/reports/{links['token']}").json()["snapshot"]
    for run in snapshot["runs"]:
        assert set(run["series"]) == {"loss", "accuracy", "memory"}
        assert run["series"]["loss"]["step"] == [1, 2, 3, 4, 5, 6]
    assert [row["measured_mb"] > 0 for row in snapshot["memory"]] == [True, True]
