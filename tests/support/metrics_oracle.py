"""The metric rollups computed by brute force from every point of a run: what the writer must have stored.

Deliberately naive (one pass per bucket over all points, no incremental upsert), so it shares no code or
shortcut with ``backend.ingest``: the tests compare the writer's ``metric_rollups`` rows against it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from backend.db.metrics import ROLLUP_LEVELS
from backend.ingest import Point


def expected_rollups(points: Iterable[Point]) -> list[tuple]:
    """(name, level, bucket, min_step, min_elapsed, min_forward, min_value, max_step, max_elapsed,
    max_forward, max_value) for every bucket with a finite value, sorted like the table's key.

    Ties keep the earliest step, as an incremental writer that only replaces on a strict improvement does.
    """
    unique = {(p.name, p.step): p for p in points}  # a re-sent point is the same point
    finite = [p for p in unique.values() if p.value is not None and math.isfinite(p.value)]
    rows = []
    for level in ROLLUP_LEVELS:
        buckets: dict[tuple[str, int], list[Point]] = {}
        for p in finite:
            buckets.setdefault((p.name, p.step >> (2 * level)), []).append(p)
        for (name, bucket), members in buckets.items():
            members.sort(key=lambda p: p.step)
            low = min(members, key=lambda p: p.value)  # min() keeps the first of equal values
            high = max(members, key=lambda p: p.value)
            rows.append(
                (
                    name,
                    level,
                    bucket,
                    low.step,
                    low.elapsed_s,
                    low.forward_passes,
                    low.value,
                    high.step,
                    high.elapsed_s,
                    high.forward_passes,
                    high.value,
                )
            )
    return sorted(rows)
