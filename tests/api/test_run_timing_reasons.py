"""A PoC's timing (ETA from each run's own pace, queue positions, sequential runs) and coded run reasons."""

from __future__ import annotations

import pytest

from backend.db.models import MetricPoint, Run


def start_run(sessions, run_id: str, steps_elapsed: list[tuple[int, float]]) -> None:
    """Arrange a running run with stored train/loss points at (step, elapsed_s), as its worker writes them."""
    with sessions() as session, session.begin():
        run = session.get(Run, run_id)
        run.state, run.step = "running", steps_elapsed[-1][0]
        for step, elapsed in steps_elapsed:
            session.add(
                MetricPoint(
                    run_id=run_id,
                    name="train/loss",
                    step=step,
                    elapsed_s=elapsed,
                    forward_passes=2 * step,
                    value=0.5,
                )
            )


def test_queued_runs_have_their_position_in_the_queue(client, make_poc):
    first = make_poc(steps=100)
    second = make_poc(steps=100)
    timing = client.get(f"/api/pocs/{second['id']}").json()["timing"]
    # The first PoC's two runs are ahead in the same queue; no run has a pace yet.
    positions = sorted(t["queue_position"] for t in timing["runs"].values())
    assert positions == [3, 4]
    assert timing["remaining_s"] is None and timing["sequential"] is False
    listed = {p["id"]: p["timing"] for p in client.get("/api/pocs").json()["data"]}
    assert sorted(t["queue_position"] for t in listed[first["id"]]["runs"].values()) == [1, 2]


def test_eta_comes_from_the_runs_own_pace(client, make_poc, sessions):
    poc = make_poc(steps=100, eval_every=1000)
    running, queued = poc["runs"][0]["id"], poc["runs"][1]["id"]
    start_run(sessions, running, [(5, 12.0), (10, 20.0)])  # 2.0 s per step at its newest point
    timing = client.get(f"/api/pocs/{poc['id']}").json()["timing"]
    assert timing["runs"][running] == {
        "s_per_step": 2.0,
        "eta_s": pytest.approx(180.0),
        "queue_position": None,
    }
    # The queued run starts after it (sequential): its time is estimated at the PoC's measured pace.
    assert timing["runs"][queued]["queue_position"] == 1
    assert timing["runs"][queued]["eta_s"] == pytest.approx(200.0)
    assert timing["sequential"] is True
    assert timing["remaining_s"] == pytest.approx(380.0)


def test_runs_side_by_side_end_with_the_longest(client, make_poc, sessions):
    poc = make_poc(steps=100, eval_every=1000)
    a, b = (r["id"] for r in poc["runs"])
    start_run(sessions, a, [(50, 50.0)])  # 1 s/step, 50 left
    start_run(sessions, b, [(10, 30.0)])  # 3 s/step, 90 left
    timing = client.get(f"/api/pocs/{poc['id']}").json()["timing"]
    assert timing["sequential"] is False
    assert timing["remaining_s"] == pytest.approx(270.0)


def test_a_finished_poc_has_no_timing(client, make_poc):
    poc = make_poc()
    for run in poc["runs"]:
        client.post(f"/api/runs/{run['id']}/cancel")
    assert client.get(f"/api/pocs/{poc['id']}").json()["timing"] is None


def test_a_stop_reason_comes_with_its_code_and_the_english_text(client, make_poc, sessions):
    poc = make_poc()
    cancelled = client.post(f"/api/runs/{poc['runs'][0]['id']}/cancel").json()
    assert (cancelled["error"], cancelled["error_code"], cancelled["error_params"]) == (
        "cancelled before it started",
        "cancelled_before_start",
        {},
    )
    with sessions() as session, session.begin():
        run = session.get(Run, poc["runs"][1]["id"])
        run.state, run.error = "failed", "diverged: loss became nan at step 12"
    body = client.get(f"/api/runs/{poc['runs'][1]['id']}").json()
    assert (body["error_code"], body["error_params"]) == ("diverged", {"loss": "nan", "step": "12"})
    with sessions() as session, session.begin():
        session.get(Run, poc["runs"][1]["id"]).error = "an operator's own words"
    body = client.get(f"/api/runs/{poc['runs'][1]['id']}").json()
    assert (body["error"], body["error_code"], body["error_params"]) == ("an operator's own words", None, {})


def test_queued_runs_take_the_slot_that_frees_first():
    from backend.timing import lanes_finish_s

    assert lanes_finish_s([180.0], [200.0]) == 380.0, "one slot: one after another"
    assert lanes_finish_s([100.0, 300.0], [150.0]) == 300.0, "the queued run fits in the slot freed at 100 s"
    assert lanes_finish_s([100.0, 120.0], [150.0, 50.0]) == 250.0
    assert lanes_finish_s([50.0, 70.0], []) == 70.0
    assert lanes_finish_s([], [10.0, 20.0]) == 30.0
