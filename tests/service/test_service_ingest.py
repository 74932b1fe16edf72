"""Ingestion: idempotent points, rollups equal to a brute-force oracle, events in the batch."""

from __future__ import annotations

import math
import random

import sqlalchemy as sa

from backend.db.metrics import ROLLUP_LEVELS
from backend.db.models import MetricPoint, MetricRollup, PocEvent, Run
from backend.ingest import Point, add_event, metric_event_payload, write_points
from tests.support.metrics_oracle import expected_rollups


def _points(n: int, start: int = 0, seed: int = 0) -> list[Point]:
    rng = random.Random(seed)
    out = []
    for step in range(start, start + n):
        out.append(Point("train/loss", step, step * 0.1, 2 * step, rng.random()))
        out.append(Point("train/lr", step, step * 0.1, 2 * step, 1e-3))
    out.append(Point("zo/projected_grad", start, 0.0, 0, None))  # a nan from the engine arrives as None
    return out


def _rollups(sessions, run_id: str) -> list[tuple]:
    with sessions() as session:
        return [
            tuple(row)
            for row in session.execute(
                sa.select(*[c for c in MetricRollup.__table__.c if c.name != "run_id"])
                .where(MetricRollup.run_id == run_id)
                .order_by(MetricRollup.name, MetricRollup.level, MetricRollup.bucket)
            )
        ]


def test_batches_are_idempotent_and_rollups_match_the_oracle(sessions, make_run):
    run = make_run(model="fake:ok")
    batches = [_points(700, start, seed=start) for start in range(0, 2100, 700)]
    # Re-sent batches (as after a retry), and batches whose extremes arrive in both orders.
    for batch in batches + batches[:2] + [batches[2][::-1]]:
        with sessions() as session, session.begin():
            write_points(session, run.id, batch)

    with sessions() as session:
        count = session.scalar(
            sa.select(sa.func.count()).select_from(MetricPoint).where(MetricPoint.run_id == run.id)
        )
        assert count == 2 * 2100 + 3
        assert (
            session.scalar(
                sa.select(MetricPoint.value).where(
                    MetricPoint.run_id == run.id,
                    MetricPoint.name == "zo/projected_grad",
                    MetricPoint.step == 0,
                )
            )
            is None
        )
    stored = _rollups(sessions, run.id)
    assert stored == expected_rollups(p for batch in batches for p in batch)
    assert {row[1] for row in stored} == set(ROLLUP_LEVELS)


def test_rollup_extremes_are_the_true_bucket_extremes(sessions, make_run):
    run = make_run(model="fake:ok")
    points = [Point("train/loss", s, s / 10, s, math.sin(s / 7.0) + s * 1e-4) for s in range(5000)]
    for start in range(0, 5000, 1234):
        with sessions() as session, session.begin():
            write_points(session, run.id, points[start : start + 1234])
    level = 3
    with sessions() as session:
        rows = session.execute(
            sa.select(MetricRollup)
            .where(MetricRollup.run_id == run.id, MetricRollup.level == level)
            .order_by(MetricRollup.bucket)
        ).scalars()
        for row in rows:
            members = [p for p in points if p.step >> (2 * level) == row.bucket]
            assert row.min_value == min(p.value for p in members)
            assert row.max_value == max(p.value for p in members)
            assert points[row.min_step].value == row.min_value


def test_metric_event_is_written_with_its_points(sessions, make_run):
    run = make_run(model="fake:ok")
    points = _points(3)
    with sessions() as session, session.begin():
        poc_id = session.get(Run, run.id).poc_id
        write_points(session, run.id, points)
        seq = add_event(session, poc_id, run.id, "metric", metric_event_payload(run.id, points))
    with sessions() as session:
        event = session.get(PocEvent, seq)
    assert event.kind == "metric" and [p["step"] for p in event.payload["points"]] == [0, 1, 2]
    assert event.payload["points"][1]["values"] == {"train/loss": points[2].value, "train/lr": 1e-3}


def test_names_and_values_round_trip_exactly(sessions, make_run):
    run = make_run(model="fake:ok")
    names = ['eval/acc "quoted"', "back\\slash", "comma,brace{}", "日本語/損失"]
    values = [1e-300, -0.1 + 0.2, 123456789.123456789, 5e-324]
    points = [
        Point(name, step, 1e-5 * step, step, value)
        for step, (name, value) in enumerate(zip(names, values, strict=True))
    ]
    with sessions() as session, session.begin():
        write_points(session, run.id, points)
    with sessions() as session:
        stored = session.execute(
            sa.select(MetricPoint.name, MetricPoint.step, MetricPoint.elapsed_s, MetricPoint.value)
            .where(MetricPoint.run_id == run.id)
            .order_by(MetricPoint.step)
        ).all()
    assert [tuple(r) for r in stored] == [(p.name, p.step, p.elapsed_s, p.value) for p in points]


def test_a_batch_overlapping_written_points_adds_only_the_new_ones(sessions, make_run):
    run = make_run(model="fake:ok")
    first = [Point("train/loss", s, s * 0.1, s, float(s)) for s in range(0, 100)]
    overlapping = [Point("train/loss", s, s * 0.1, s, -1.0) for s in range(50, 150)]
    for batch in (first, overlapping):
        with sessions() as session, session.begin():
            write_points(session, run.id, batch)
    with sessions() as session:
        values = dict(
            session.execute(
                sa.select(MetricPoint.step, MetricPoint.value).where(MetricPoint.run_id == run.id)
            ).all()
        )
    assert sorted(values) == list(range(150))
    assert values[60] == 60.0, "a point already written is never overwritten"
    assert values[120] == -1.0
