"""How long a PoC's unfinished runs still take, and where its queued runs stand, from stored data only.

A running run's pace is its own: the engine's clock (``elapsed_s``) at the newest stored ``train/loss``
point, divided by that step. Its ETA is the remaining steps (and the minutes budget, whichever ends first)
at that pace (``common.budget.eta_s``). A queued run has no pace of its own; its duration is estimated from
the mean pace of the PoC's measured runs, and its queue position is its rank among all queued runs of its
queue, oldest first (the order the broker hands them out).

A worker trains as many runs at once as it has slots (``ZOPOC_WORKER_SLOTS``), so a PoC's runs only wait
while every slot serving their queue is busy. ``sequential`` says exactly that: some of the PoC's runs are
queued while others run. Its remaining time then treats each of its running runs as a lane whose slot the
next queued run takes when that run ends (:func:`lanes_finish_s`): with one slot that is the sum of the runs'
times, with several the queued runs fill whichever slot frees first. Runs of other PoCs ahead in the queue
are not counted, so it is the soonest the PoC can end. Without queued runs it is the longest run's time.
"""

from __future__ import annotations

import heapq
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


def lanes_finish_s(running_s: Sequence[float], queued_s: Sequence[float]) -> float:
    """When the last run ends if each queued run (in queue order) takes the slot of the running run that
    ends first: list scheduling over the slots the PoC holds now."""
    lanes = list(running_s) or [0.0]
    heapq.heapify(lanes)
    for duration in queued_s:
        heapq.heappush(lanes, heapq.heappop(lanes) + duration)
    return max(lanes)


def longest_s(runs: dict[str, RunTiming]) -> float | None:
    """Runs side by side end with the longest; None until every run has an ETA."""
    etas = [t.eta_s for t in runs.values() if t.eta_s is not None]
    return max(etas) if etas and len(etas) == len(runs) else None


def remaining_s(live: Sequence[Run], runs: dict[str, RunTiming], positions: dict[str, int]) -> float | None:
    """Runs waiting for a slot: each queued run (in queue order) takes the slot that frees first; None until
    every run has an ETA."""
    if any(runs[r.id].eta_s is None for r in live):
        return None
    running = [runs[r.id].eta_s or 0.0 for r in live if r.state == "running"]
    waiting = sorted((r for r in live if r.state == "queued"), key=lambda r: positions.get(r.id, 0))
    return lanes_finish_s(running, [runs[r.id].eta_s or 0.0 for r in waiting])


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
        remaining = remaining_s(live[poc.id], runs, positions) if sequential else longest_s(runs)
        out[poc.id] = PocTiming(runs=runs, remaining_s=remaining, sequential=sequential)
    return out
