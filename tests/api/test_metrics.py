"""Metric series for charts (downsampled, never truncated) and the CSV export, on points written by the
worker's real ingestion path (backend.ingest)."""

from __future__ import annotations

import csv
import io
import math
import random

import sqlalchemy as sa

from backend.db.models import MetricPoint
from backend.ingest import Point, write_points


def _ingest(sessions, run_id: str, points: list[Point], batch: int = 5000) -> None:
    with sessions() as session:
        for start in range(0, len(points), batch):
            write_points(session, run_id, points[start : start + batch])
            session.commit()


def _loss_curve(n: int, seed: int = 0) -> list[Point]:
    rng = random.Random(seed)
    return [
        Point("train/loss", step, step * 0.25, 2 * step, 1.0 / (1 + step / 500) + rng.uniform(-0.05, 0.05))
        for step in range(n)
    ]


def test_long_series_keeps_first_last_and_extremes(client, make_poc, sessions):
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    points = _loss_curve(40_000)  # a span above the raw-read limit: the rollups answer
    points[12_345] = Point("train/loss", 12_345, 12_345 * 0.25, 24_690, 9.5)  # a spike
    points[31_000] = Point("train/loss", 31_000, 31_000 * 0.25, 62_000, -3.0)  # a dip
    _ingest(sessions, run_id, points)

    body = client.get(
        f"/api/pocs/{poc['id']}/metrics", params={"names": "train/loss", "max_points": 500}
    ).json()
    assert body["x"] == "step"
    series = body["runs"][run_id]["train/loss"]
    assert 250 <= len(series["x"]) <= 500
    assert series["x"][0] == 0 and series["y"][0] == points[0].value
    assert series["x"][-1] == 39_999 and series["y"][-1] == points[-1].value
    assert series["x"] == sorted(set(series["x"]))
    assert max(series["y"]) == 9.5 and series["x"][series["y"].index(9.5)] == 12_345
    assert min(series["y"]) == -3.0 and series["x"][series["y"].index(-3.0)] == 31_000
    # Every point shown is a real point of the run.
    by_step = {p.step: p.value for p in points}
    assert all(by_step[x] == y for x, y in zip(series["x"], series["y"], strict=True))
    # The other runs of the PoC have no points yet.
    assert body["runs"][poc["runs"][1]["id"]] == {}


def test_other_x_axes_use_the_same_points(client, make_poc, sessions):
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    _ingest(sessions, run_id, _loss_curve(20_000, seed=1))
    by_step = client.get(f"/api/pocs/{poc['id']}/metrics", params={"max_points": 300}).json()
    url = f"/api/pocs/{poc['id']}/metrics"
    by_time = client.get(url, params={"x": "elapsed_s", "max_points": 300}).json()
    by_fwd = client.get(url, params={"x": "forward_passes", "max_points": 300}).json()
    steps = by_step["runs"][run_id]["train/loss"]["x"]
    assert by_time["runs"][run_id]["train/loss"]["x"] == [s * 0.25 for s in steps]
    assert by_fwd["runs"][run_id]["train/loss"]["x"] == [2 * s for s in steps]
    assert by_time["runs"][run_id]["train/loss"]["y"] == by_step["runs"][run_id]["train/loss"]["y"]


def test_short_and_sparse_series_come_back_whole(client, make_poc, sessions):
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    loss = _loss_curve(120)
    accuracy = [
        Point("eval/accuracy", step, step * 0.3, step * 2, 0.5 + step / 10_000) for step in range(0, 3001, 50)
    ]
    nan = [Point("zo/projected_grad", 0, 0.0, 0, 1.5), Point("zo/projected_grad", 1, 0.25, 2, None)]
    _ingest(sessions, run_id, loss + accuracy + nan)
    body = client.get(f"/api/pocs/{poc['id']}/metrics").json()["runs"][run_id]
    assert set(body) == {"train/loss", "eval/accuracy", "zo/projected_grad"}  # every name by default
    assert body["train/loss"] == {"x": [p.step for p in loss], "y": [p.value for p in loss]}
    assert all(type(x) is int for x in body["train/loss"]["x"])  # steps stay integers in the JSON
    assert body["eval/accuracy"] == {"x": [p.step for p in accuracy], "y": [p.value for p in accuracy]}
    assert body["zo/projected_grad"] == {"x": [0, 1], "y": [1.5, None]}


def test_points_without_rollups_are_still_downsampled_correctly(client, make_poc, sessions):
    # Rows written by some other path (no rollups): the query falls back to one scan, same guarantees.
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    values = [math.sin(step / 700) for step in range(10_000)]
    values[7_777] = 42.0
    with sessions() as session, session.begin():
        session.execute(
            sa.insert(MetricPoint),
            [
                {
                    "run_id": run_id,
                    "name": "train/loss",
                    "step": s,
                    "elapsed_s": s / 10,
                    "forward_passes": s,
                    "value": v,
                }
                for s, v in enumerate(values)
            ],
        )
    body = client.get(
        f"/api/pocs/{poc['id']}/metrics", params={"names": "train/loss", "max_points": 100}
    ).json()
    series = body["runs"][run_id]["train/loss"]
    assert len(series["x"]) <= 100
    assert (series["x"][0], series["x"][-1]) == (0, 9_999)
    assert max(series["y"]) == 42.0 and min(series["y"]) == min(values)


def test_metrics_refuses_bad_parameters(client, make_poc):
    poc = make_poc()
    response = client.get(f"/api/pocs/{poc['id']}/metrics", params={"x": "wall"})
    assert response.status_code == 422
    assert response.json()["detail"]["errors"][0]["field"] == "x"
    response = client.get(f"/api/pocs/{poc['id']}/metrics", params={"max_points": 2})
    assert response.status_code == 422


def test_csv_export_has_every_point(client, make_poc, sessions):
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    loss = _loss_curve(25_000, seed=3)
    lr = [Point("train/lr", p.step, p.elapsed_s, p.forward_passes, 1e-4) for p in loss[:1000]]
    _ingest(sessions, run_id, loss + lr + [Point("eval/loss", 5, 1.25, 10, None)])
    response = client.get(f"/api/runs/{run_id}/metrics.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["step", "elapsed_s", "forward_passes", "name", "value"]
    assert len(rows) == 1 + len(loss) + len(lr) + 1
    assert rows[1] == ["5", "1.25", "10", "eval/loss", ""]
    exported = {(int(r[0]), r[3]): float(r[4]) for r in rows[2:]}
    assert all(exported[(p.step, p.name)] == p.value for p in loss + lr)  # repr round-trips floats exactly


def test_a_paused_csv_reader_holds_no_database_connection(client, make_poc, sessions):
    # A client that stops reading keeps the response's generator suspended between two pages: it must not
    # keep a pooled connection checked out meanwhile (50 slow readers would hold the whole pool).
    from backend.api.routes.metrics import csv_rows
    from backend.db.session import get_engine

    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    _ingest(sessions, run_id, _loss_curve(2_500, seed=4))
    pool = get_engine().pool
    reader = csv_rows(run_id, page_rows=1_000)
    assert next(reader).startswith("step,")
    pages = [next(reader), next(reader)]  # paused after two pages of three
    assert pool.checkedout() == 0
    pages += list(reader)
    assert sum(page.count("\n") for page in pages) == 2_500 and pool.checkedout() == 0
