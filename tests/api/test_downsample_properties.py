"""Properties of the bucket merge behind every chart (pure Python, no database)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.db.metrics import Point, _merge, _with_edges

values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def series(draw):
    highest = draw(st.sampled_from([150, 100_000]))  # dense short runs and sparse long ones
    steps = sorted(draw(st.sets(st.integers(min_value=0, max_value=highest), min_size=1, max_size=600)))
    return [Point(s, s * 0.1, 2 * s, draw(values)) for s in steps]


@settings(max_examples=200, deadline=None)
@given(series(), st.integers(min_value=4, max_value=300))
def test_merge_keeps_edges_and_extremes_within_the_budget(points, max_points):
    first, last = points[0], points[-1]
    n_buckets = (max_points - 2) // 2
    out = _with_edges(
        _merge(((p.step, p, p) for p in points), first.step, last.step - first.step + 1, n_buckets),
        first,
        last,
    )
    assert len(out) <= max(max_points, 2)
    assert out[0] == first and out[-1] == last
    steps = [p.step for p in out]
    assert steps == sorted(set(steps))  # in order, no point twice
    assert set(out) <= set(points)  # only real points
    assert min(p.value for p in out) == min(p.value for p in points)
    assert max(p.value for p in out) == max(p.value for p in points)
    if last.step - first.step + 1 <= n_buckets:
        assert out == points  # one step per bucket: nothing to drop


def test_merge_of_rollup_buckets_picks_the_extreme_of_each_group():
    # Four buckets merged two by two: each group keeps its own min and max point.
    rows = [(k, Point(10 * k, k, k, -float(k)), Point(10 * k + 5, k, k, float(k))) for k in range(4)]
    merged = _merge(rows, first_key=0, n_keys=4, n_buckets=2)
    assert [(p.step, p.value) for p in merged] == [(10, -1.0), (15, 1.0), (30, -3.0), (35, 3.0)]
    assert all(math.isfinite(p.value) for p in merged)
