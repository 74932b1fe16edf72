"""Reading metric series for charts: the downsampling query over ``metric_points`` and ``metric_rollups``.

The writer is ``backend.ingest.write_points``; what the two agree on is ``ROLLUP_LEVELS`` and the rollup
rule: for every level k the bucket ``step >> (2k)`` (4**k consecutive steps) keeps its minimum and its
maximum point (non-finite values never become an extreme).

``downsample`` reads a series for a chart: raw points when the step span is small, otherwise the rows of
the finest rollup level with at most ``ROLLUP_READ_LIMIT`` buckets, merged in Python down to
``max_points``. Each output bucket yields its min and max point, and the series' first and last points are
always kept: the shape survives, nothing is truncated. Points written without rollups are still read
correctly, by a slower scan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from backend.db.models import MetricPoint, MetricRollup

# Bucket widths 4**k steps (16 .. 262,144). Level 1 (4 steps) is left out: such spans are read raw.
ROLLUP_LEVELS = tuple(range(2, 10))  # the same levels backend.ingest writes
# Raw points are read only when a series spans at most ``max_points`` steps (then every point fits).
# Above that the rollups answer: a dashboard polling a few-thousand-step run would otherwise make each
# chart read turn thousands of rows into Python objects (the largest CPU cost of the API under
# benchmarks/load.py).
# At most this many rollup rows are read per series (and at most twice the buckets asked for); the finest
# level that fits is chosen.
ROLLUP_READ_LIMIT = 8192

X_AXES = ("step", "elapsed_s", "forward_passes")


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a series, with all three x coordinates."""

    step: int
    elapsed_s: float
    forward_passes: int
    value: float | None


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)


def _point_row(row: Any) -> Point:
    return Point(row.step, row.elapsed_s, row.forward_passes, row.value)


def _edge_points(bind, run_id: str, name: str) -> tuple[Point, Point] | None:
    """The first and the last point of a series (one round trip), or None when it has none."""
    mp = MetricPoint
    columns = (mp.step, mp.elapsed_s, mp.forward_passes, mp.value)
    where = (mp.run_id == run_id, mp.name == name)
    first = sa.select(*columns).where(*where).order_by(mp.step.asc()).limit(1).subquery()
    last = sa.select(*columns).where(*where).order_by(mp.step.desc()).limit(1).subquery()
    rows = bind.execute(sa.union_all(sa.select(first), sa.select(last))).all()
    if not rows:
        return None
    ends = sorted(map(_point_row, rows), key=lambda p: p.step)
    return ends[0], ends[-1]


def _merge(
    groups: Iterable[tuple[int, Point, Point]], first_key: int, n_keys: int, n_buckets: int
) -> list[Point]:
    """Merge (key, min point, max point) items, ordered by key, into at most ``n_buckets`` groups of
    adjacent keys; each group keeps its min and its max point, in step order."""
    width = max(1, math.ceil(n_keys / max(1, n_buckets)))
    out: list[Point] = []
    current: int | None = None
    group: tuple[Point, Point] | None = None  # (min, max) of the current group
    for key, pmin, pmax in groups:
        g = (key - first_key) // width
        if g != current or group is None:
            if group is not None:
                out.extend(_ordered_pair(*group))
            current, group = g, (pmin, pmax)
            continue
        lo, hi = group
        group = (
            pmin if is_lower(pmin.value, lo.value) else lo,
            pmax if is_higher(pmax.value, hi.value) else hi,
        )
    if group is not None:
        out.extend(_ordered_pair(*group))
    return out


def is_lower(value: float | None, than: float | None) -> bool:
    """``value < than`` where a missing value (a non-finite metric is stored as null) never wins."""
    return value is not None and (than is None or value < than)


def is_higher(value: float | None, than: float | None) -> bool:
    """``value > than`` where a missing value never wins."""
    return value is not None and (than is None or value > than)


def _ordered_pair(a: Point, b: Point) -> list[Point]:
    if a.step == b.step:
        return [a]
    return [a, b] if a.step < b.step else [b, a]


def downsample(bind, run_id: str, name: str, max_points: int = 2000) -> list[Point]:
    """The series ``name`` of ``run_id`` in step order, at most ``max_points`` points (>= 4).

    Keeps the first and last points and, per bucket of adjacent steps, the minimum and the maximum.
    """
    max_points = max(4, max_points)
    ends = _edge_points(bind, run_id, name)
    if ends is None:
        return []
    first, last = ends
    span = last.step - first.step + 1
    n_buckets = (max_points - 2) // 2
    mp = MetricPoint

    if span <= max_points:  # at most one point per step: the whole series fits
        rows = bind.execute(
            sa.select(mp.step, mp.elapsed_s, mp.forward_passes, mp.value)
            .where(mp.run_id == run_id, mp.name == name)
            .order_by(mp.step)
        ).all()
        return [_point_row(r) for r in rows]

    # The finest level with at most twice the buckets wanted: few rows to read, at most pairs to merge.
    read_limit = min(ROLLUP_READ_LIMIT, 2 * n_buckets)
    level = next(
        (lv for lv in ROLLUP_LEVELS if (last.step >> (2 * lv)) - (first.step >> (2 * lv)) + 1 <= read_limit),
        ROLLUP_LEVELS[-1],
    )
    r = MetricRollup
    rows = bind.execute(
        sa.select(
            r.bucket,
            r.min_step,
            r.min_elapsed,
            r.min_forward,
            r.min_value,
            r.max_step,
            r.max_elapsed,
            r.max_forward,
            r.max_value,
        )
        .where(r.run_id == run_id, r.name == name, r.level == level)
        .order_by(r.bucket)
    ).all()
    if not rows:
        return _downsample_by_scan(bind, run_id, name, first, last, n_buckets)
    first_bucket = first.step >> (2 * level)
    n_keys = (last.step >> (2 * level)) - first_bucket + 1
    groups = (
        (
            row.bucket,
            Point(row.min_step, row.min_elapsed, row.min_forward, row.min_value),
            Point(row.max_step, row.max_elapsed, row.max_forward, row.max_value),
        )
        for row in rows
    )
    return _with_edges(_merge(groups, first_bucket, n_keys, n_buckets), first, last)


def _downsample_by_scan(bind, run_id, name, first: Point, last: Point, n_buckets: int) -> list[Point]:
    """Fallback for points written without rollups: one pass over the raw points (slow, but correct)."""
    mp = MetricPoint
    rows = bind.execute(
        sa.select(mp.step, mp.elapsed_s, mp.forward_passes, mp.value)
        .where(mp.run_id == run_id, mp.name == name)
        .order_by(mp.step)
        .execution_options(yield_per=10_000)
    )
    finite = ((p.step, p, p) for p in map(_point_row, rows) if _finite(p.value))
    return _with_edges(_merge(finite, first.step, last.step - first.step + 1, n_buckets), first, last)


def _with_edges(inner: list[Point], first: Point, last: Point) -> list[Point]:
    if not inner or inner[0].step != first.step:
        inner.insert(0, first)
    if inner[-1].step != last.step:
        inner.append(last)
    return inner


def series_names(bind, run_id: str) -> list[str]:
    """The metric names a run has points for (read from the coarsest rollup level: a few rows)."""
    r = MetricRollup
    names = (
        bind.execute(
            sa.select(r.name)
            .where(r.run_id == run_id, r.level == ROLLUP_LEVELS[-1])
            .distinct()
            .order_by(r.name)
        )
        .scalars()
        .all()
    )
    if names:
        return list(names)
    mp = MetricPoint  # no rollups (only non-finite values, or rows written by other means)
    return list(
        bind.execute(sa.select(mp.name).where(mp.run_id == run_id).distinct().order_by(mp.name))
        .scalars()
        .all()
    )
