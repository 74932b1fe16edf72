"""Writing a run's metric points, rollups, evaluation results and live events: the one metric writer.

What the chart query (``backend.db.metrics``) relies on:

* ``metric_points`` gets every point, ``INSERT ... ON CONFLICT DO NOTHING`` (a re-sent batch adds nothing).
  Non-finite values (nan/inf) are stored as NULL: JSON and charts cannot carry them.
* ``metric_rollups``: for every level in ``ROLLUP_LEVELS`` the min and max point of bucket
  ``step >> (2 * level)``; an extreme is replaced only by a strictly better value (so applying a batch
  twice changes nothing). NULL values are left out.

One rule, two ways of shipping the rows (a strategy per dialect): arrays + ``unnest`` on Postgres (one round
trip per table and batch), ``executemany`` on SQLite. The tests check both against an oracle that computes
the rollups from all points by brute force (``tests/support/metrics_oracle.py``).

Every batch is written in ONE transaction together with one ``poc_events`` row announcing it, so the SSE
stream (which replays ``poc_events`` by ``seq``) never announces a point that is not there, or misses one.
See ``benchmarks/service.py`` for the measured rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from backend.db.metrics import (
    ROLLUP_LEVELS,
    is_higher,
    is_lower,
)  # the chart query's levels: one source of truth
from backend.db.models import EvalResult, MetricPoint, MetricRollup, Poc, PocEvent, ZoStep
from common.steplog import StepRecord, from_row, to_row


@dataclass(frozen=True, slots=True)
class Point:
    """One value of one metric at one step."""

    name: str
    step: int
    elapsed_s: float
    forward_passes: int
    value: float | None


def finite_or_none(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, nan or infinite."""
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _rollup_rows(run_id: str, points: Sequence[Point]) -> list[dict[str, Any]]:
    """Min and max point per (name, level, bucket) of this batch (points in step order, as events come).

    The finest level is folded from the points, each coarser level from the level below it (a bucket of
    level k+1 is 4 buckets of level k), so the work is ~1.1 passes over the batch rather than one per level.
    On ties the earlier point stays, as in ``backend.db.metrics.write_points``.
    """
    levels: dict[int, dict[tuple[str, int], list[Point]]] = {}
    finest = ROLLUP_LEVELS[0]
    shift = 2 * finest
    current: dict[tuple[str, int], list[Point]] = {}
    for point in points:
        value = point.value
        if value is None:
            continue
        key = (point.name, point.step >> shift)
        pair = current.get(key)
        if pair is None:
            current[key] = [point, point]
        else:
            if is_lower(value, pair[0].value):
                pair[0] = point
            if is_higher(value, pair[1].value):
                pair[1] = point
    levels[finest] = current
    previous_level = finest
    for level in ROLLUP_LEVELS[1:]:
        shift = 2 * (level - previous_level)
        coarser: dict[tuple[str, int], list[Point]] = {}
        for (name, bucket), (low, high) in current.items():
            key = (name, bucket >> shift)
            pair = coarser.get(key)
            if pair is None:
                coarser[key] = [low, high]
            else:
                if is_lower(low.value, pair[0].value):
                    pair[0] = low
                if is_higher(high.value, pair[1].value):
                    pair[1] = high
        levels[level], current, previous_level = coarser, coarser, level
    return [
        {
            "run_id": run_id,
            "name": name,
            "level": level,
            "bucket": bucket,
            "min_step": low.step,
            "min_elapsed": low.elapsed_s,
            "min_forward": low.forward_passes,
            "min_value": low.value,
            "max_step": high.step,
            "max_elapsed": high.elapsed_s,
            "max_forward": high.forward_passes,
            "max_value": high.value,
        }
        for level, buckets in levels.items()
        for (name, bucket), (low, high) in buckets.items()
    ]


# --- the rollup rule, once ------------------------------------------------------------------------------

_ROLLUP_COLUMNS = (
    "min_step",
    "min_elapsed",
    "min_forward",
    "min_value",
    "max_step",
    "max_elapsed",
    "max_forward",
    "max_value",
)
_ROLLUP_KEY = ("run_id", "name", "level", "bucket")


def _rollup_upsert(statement: Any) -> Any:
    """``statement`` (an INSERT into metric_rollups, either dialect) made an upsert that replaces a stored
    min (max) point only by a strictly smaller (larger) value: applying the same batch twice changes
    nothing."""
    table, excluded = MetricRollup.__table__.c, statement.excluded
    updates = {}
    for side, better in (
        ("min", excluded.min_value < table.min_value),
        ("max", excluded.max_value > table.max_value),
    ):
        for column in ("step", "elapsed", "forward", "value"):
            name = f"{side}_{column}"
            updates[name] = sa.case((better, excluded[name]), else_=table[name])
    return statement.on_conflict_do_update(index_elements=list(_ROLLUP_KEY), set_=updates)


# --- per dialect --------------------------------------------------------------------------------------


class _PortableWriter:
    """SQLite (and any dialect with INSERT ... ON CONFLICT): executemany of the rows."""

    def __init__(self, insert: Any) -> None:
        self.insert = insert

    def write(
        self, session: Session, run_id: str, points: Sequence[Point], rollups: list[dict[str, Any]]
    ) -> None:
        session.execute(
            self.insert(MetricPoint.__table__).on_conflict_do_nothing(),
            [
                {
                    "run_id": run_id,
                    "name": p.name,
                    "step": p.step,
                    "elapsed_s": p.elapsed_s,
                    "forward_passes": p.forward_passes,
                    "value": p.value,
                }
                for p in points
            ],
        )
        if rollups:
            session.execute(_rollup_upsert(self.insert(MetricRollup.__table__)), rollups)


def _pg_number_array(values: Sequence[float | int | None]) -> str:
    # repr() of a float round-trips exactly; non-finite values never get here (they are None -> NULL).
    return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"


def _pg_text_array(values: Sequence[str]) -> str:
    quoted: dict[str, str] = {}
    for value in values:
        if value not in quoted:
            quoted[value] = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "{" + ",".join(quoted[v] for v in values) + "}"


def _pg_unnest(columns: Sequence[tuple[str, str]]) -> Any:
    """``SELECT :run_id, * FROM unnest(CAST(:c1 AS t1[]), ...)``: one row per array element."""
    arrays = ", ".join(f"CAST(:{name} AS {sql_type}[])" for name, sql_type in columns)
    run_id = sa.cast(sa.bindparam("run_id"), sa.String)
    return sa.select(run_id, sa.text("*")).select_from(sa.text(f"unnest({arrays})"))


_PG_POINT_COLUMNS = (
    ("names", "varchar"),
    ("steps", "integer"),
    ("elapsed", "double precision"),
    ("forward", "bigint"),
    ("vals", "double precision"),
)
_PG_ROLLUP_COLUMNS = (
    ("names", "varchar"),
    ("levels", "smallint"),
    ("buckets", "bigint"),
    *zip(_ROLLUP_COLUMNS, ("integer", "double precision", "bigint", "double precision") * 2, strict=True),
)


def _table(model: type) -> sa.Table:
    """The Core table of a mapped class (statements built from a SELECT need the table, not the entity)."""
    return cast(sa.Table, model.__table__)  # type: ignore[attr-defined]


class _PostgresWriter:
    """Postgres: one statement per table and batch, the columns shipped as array literals and unnested.

    Writing the literal ourselves ("{1,2,NULL}") is several times faster than letting the driver adapt a
    list element by element (measured: the driver's list dumper took most of the relay's CPU time at 1M
    points). A batch is nearly always new, so the plain INSERT is tried first (ON CONFLICT's speculative
    insertion cost ~40 % of the throughput here, measured) inside a savepoint; a re-sent batch hits the
    primary key and is then written again with ON CONFLICT DO NOTHING, so writing stays idempotent.
    """

    _points_select = _pg_unnest(_PG_POINT_COLUMNS)
    _points_columns = ["run_id", "name", "step", "elapsed_s", "forward_passes", "value"]
    _points_new = postgresql.insert(_table(MetricPoint)).from_select(_points_columns, _points_select)
    _points_again = _points_new.on_conflict_do_nothing()
    _rollups = _rollup_upsert(
        postgresql.insert(_table(MetricRollup)).from_select(
            [*_ROLLUP_KEY, *_ROLLUP_COLUMNS], _pg_unnest(_PG_ROLLUP_COLUMNS)
        )
    )

    def write(
        self, session: Session, run_id: str, points: Sequence[Point], rollups: list[dict[str, Any]]
    ) -> None:
        columns = {
            "run_id": run_id,
            "names": _pg_text_array([p.name for p in points]),
            "steps": _pg_number_array([p.step for p in points]),
            "elapsed": _pg_number_array([p.elapsed_s for p in points]),
            "forward": _pg_number_array([p.forward_passes for p in points]),
            "vals": _pg_number_array([p.value for p in points]),
        }
        try:
            with session.begin_nested():
                session.execute(self._points_new, columns)
        except sa.exc.IntegrityError as error:
            if getattr(error.orig, "sqlstate", None) != "23505":  # only unique_violation means "re-sent"
                raise
            session.execute(self._points_again, columns)
        if rollups:
            params: dict[str, Any] = {
                "run_id": run_id,
                "names": _pg_text_array([row["name"] for row in rollups]),
                "levels": _pg_number_array([row["level"] for row in rollups]),
                "buckets": _pg_number_array([row["bucket"] for row in rollups]),
            }
            for column in _ROLLUP_COLUMNS:
                params[column] = _pg_number_array([row[column] for row in rollups])
            session.execute(self._rollups, params)


_WRITERS: dict[str, Any] = {"postgresql": _PostgresWriter(), "sqlite": _PortableWriter(sqlite.insert)}


def write_points(session: Session, run_id: str, points: Sequence[Point]) -> None:
    """Insert ``points`` of run ``run_id`` and fold them into the rollups (idempotent; no commit)."""
    if not points:
        return
    dialect = session.get_bind().dialect.name
    writer = _WRITERS.get(dialect)
    if writer is None:
        raise ValueError(f"metric points cannot be written to {dialect}: zopoc supports Postgres and SQLite")
    writer.write(session, run_id, points, _rollup_rows(run_id, points))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One evaluation of a run: which examples were right (packed bits) and the summary numbers."""

    step: int
    n_eval: int
    correct: bytes
    accuracy: float | None
    loss: float | None


def write_evals(session: Session, run_id: str, evals: Iterable[Evaluation]) -> None:
    """Insert evaluation results (a re-sent one is ignored; no commit)."""
    rows = [
        {
            "run_id": run_id,
            "step": e.step,
            "n_eval": e.n_eval,
            "correct": e.correct,
            "accuracy": e.accuracy,
            "loss": e.loss,
        }
        for e in evals
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(EvalResult).on_conflict_do_nothing(), rows)


def write_zo_steps(session: Session, run_id: str, records: Sequence[StepRecord]) -> None:
    """Insert a run's ZO step records exactly as given (no commit).

    ``ON CONFLICT DO NOTHING`` on (run_id, step): a batch sent again, or the steps a resumed run reports
    once more, add nothing and never change a stored step. Every float is stored as the float64 it is
    (nan and infinities included: double precision holds them, and the step log must say what happened).
    """
    rows = [{"run_id": run_id, **to_row(record)} for record in records]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(ZoStep).on_conflict_do_nothing(), rows)


def read_zo_steps(session: Session, run_id: str) -> list[StepRecord]:
    """Every stored ZO step of ``run_id``, in step order."""
    rows = session.execute(
        sa.select(ZoStep.step, ZoStep.loss_plus, ZoStep.loss_minus, ZoStep.lr)
        .where(ZoStep.run_id == run_id)
        .order_by(ZoStep.step)
    ).mappings()
    return [from_row(dict(row)) for row in rows]


def add_event(session: Session, poc_id: str, run_id: str | None, kind: str, payload: dict[str, Any]) -> int:
    """Append one ``poc_events`` row in the current transaction; return its ``seq``.

    On Postgres the PoC's row is locked first (until commit): the seqs of one PoC then become visible in
    the order they were drawn, so an SSE reader that saw seq n can never later find a committed n-1 it
    skipped (two runs of one PoC on two workers would otherwise race). SQLite serialises writers anyway.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(Poc.id).where(Poc.id == poc_id).with_for_update())
    seq = session.execute(
        sa.insert(PocEvent)
        .values(poc_id=poc_id, run_id=run_id, kind=kind, payload=payload)
        .returning(PocEvent.seq)
    ).scalar_one()
    return int(seq)


def metric_event_payload(run_id: str, points: Sequence[Point]) -> dict[str, Any]:
    """The payload of a ``metric`` event: the batch grouped by step, as the SSE stream sends it."""
    by_step: dict[int, dict[str, Any]] = {}
    for point in points:
        entry = by_step.setdefault(
            point.step,
            {
                "step": point.step,
                "elapsed_s": point.elapsed_s,
                "forward_passes": point.forward_passes,
                "values": {},
            },
        )
        entry["values"][point.name] = point.value
    return {"run_id": run_id, "points": [by_step[step] for step in sorted(by_step)]}
