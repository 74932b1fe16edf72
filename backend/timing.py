"""How long a PoC's unfinished runs still take, and where its queued runs stand, from stored data only.

A running run's pace is its own: the engine's clock (``elapsed_s``) at the newest stored ``train/loss``
point, divided by that step. Its ETA is the remaining steps (and the minutes budget, whichever ends first)
at that pace (``common.budget.eta_s``). A queued run has no pace of its own; its duration is estimated from
the mean pace of the PoC's measured runs, and its queue position is its rank among all queued runs of its
queue, oldest first (the order the broker hands them out).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.db.models import MetricPoint, Poc, Run
from backend.schemas import PocTiming, RunTiming
from common.budget import eta_s

PACE_METRIC = "train/loss"


def measured_pace(session: Session, run_ids: Sequence[str]) -> dict[str, tuple[int, float]]:
    """Run id -> (step, elapsed_s) of its newest stored pace point."""
    if not run_ids:
        return {}
    newest = (
        sa.select(MetricPoint.run_id, sa.func.max(MetricPoint.step).label("step"))
        .where(MetricPoint.run_id.in_(run_ids), MetricPoint.name == PACE_METRIC)
        .group_by(MetricPoint.run_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(MetricPoint.run_id, MetricPoint.step, MetricPoint.elapsed_s).join(
            newest,
            sa.and_(
                MetricPoint.run_id == newest.c.run_id,
                MetricPoint.step == newest.c.step,
                MetricPoint.name == PACE_METRIC,
            ),
        )
    )
    return {run_id: (step, elapsed) for run_id, step, elapsed in rows if step > 0}


def queue_positions(session: Session, queues: set[str]) -> dict[str, int]:
    """Run id -> 1-based position among the queued runs of its queue (oldest first)."""
    if not queues:
        return {}
    rows = session.execute(
        sa.select(Run.id, Run.queue)
        .where(Run.state == "queued", Run.queue.in_(queues))
        .order_by(Run.created_at, Run.id)
    )
    seen: dict[str, int] = {}
    out: dict[str, int] = {}
    for run_id, queue in rows:
        seen[queue] = seen.get(queue, 0) + 1
        out[run_id] = seen[queue]
    return out


def poc_timings(session: Session, pocs: Sequence[Poc]) -> dict[str, PocTiming]:
    """PoC id -> its timing, for the PoCs with unfinished runs (a few queries for all of them)."""
    live = {p.id: [r for r in p.runs if r.state in ("queued", "running")] for p in pocs}
    live = {poc_id: runs for poc_id, runs in live.items() if runs}
    if not live:
        return {}
    every_run = [r.id for p in pocs if p.id in live for r in p.runs if r.step > 0]
    pace = measured_pace(session, every_run)
    positions = queue_positions(
        session, {r.queue for runs in live.values() for r in runs if r.state == "queued"}
    )
    out: dict[str, PocTiming] = {}
    for poc in pocs:
        if poc.id not in live:
            continue
        paces = [
            elapsed / step for run_id, (step, elapsed) in pace.items() if run_id in {r.id for r in poc.runs}
        ]
        mean_pace = sum(paces) / len(paces) if paces else None
        max_minutes = poc.settings.get("max_minutes")
        eval_every = int(poc.settings.get("eval_every") or 1)
        runs: dict[str, RunTiming] = {}
        for run in live[poc.id]:
            measured = pace.get(run.id)
            if run.state == "running" and measured:
                step, elapsed = measured
                s_per_step: float | None = elapsed / step
                left = eta_s(step, elapsed / step, run.total_steps, eval_every, 0.0, max_minutes, elapsed)
            elif mean_pace is not None:
                s_per_step = mean_pace
                left = eta_s(0, mean_pace, run.total_steps, eval_every, 0.0, max_minutes, 0.0)
            else:
                s_per_step, left = None, None
            runs[run.id] = RunTiming(
                s_per_step=s_per_step,
                eta_s=left,
                queue_position=positions.get(run.id) if run.state == "queued" else None,
            )
        states = {r.state for r in live[poc.id]}
        sequential = states == {"queued", "running"}
        etas = [t.eta_s for t in runs.values() if t.eta_s is not None]
        remaining: float | None = None
        if etas and len(etas) == len(runs):
            remaining = sum(etas) if sequential else max(etas)
        out[poc.id] = PocTiming(runs=runs, remaining_s=remaining, sequential=sequential)
    return out
