"""Metric series for charts (downsampled on read, never truncated) and the complete CSV export."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from backend.api.deps import PocDep, RunDep, SessionDep
from backend.api.errors import INVALID, NOT_FOUND, field_problem
from backend.db.metrics import downsample, series_names
from backend.db.models import MetricPoint
from backend.db.session import get_engine
from backend.schemas import MetricsPublic, Series, XAxis

router = APIRouter(tags=["metrics"])

_MAX_NAMES = 32


def _json_float(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


@router.get(
    "/pocs/{poc_id}/metrics",
    response_model=MetricsPublic,
    responses={**NOT_FOUND, **INVALID},
    summary="Metric series of every run of a PoC, for charts",
    description="Each series keeps its first and last point and, per bucket of adjacent steps, its minimum "
    "and maximum, so at most `max_points` points show the whole run. Non-finite values are null.",
)
def poc_metrics(
    poc: PocDep,
    session: SessionDep,
    names: Annotated[str | None, Query(description="comma-separated metric names; default: all")] = None,
    x: Annotated[XAxis, Query(description="the x axis")] = "step",
    max_points: Annotated[int, Query(ge=10, le=100_000)] = 2000,
    run_ids: Annotated[str | None, Query(description="comma-separated run ids; default: all runs")] = None,
) -> MetricsPublic:
    wanted = [n.strip() for n in names.split(",") if n.strip()] if names else None
    if wanted is not None and len(wanted) > _MAX_NAMES:
        raise field_problem("names", f"at most {_MAX_NAMES} names per request")
    runs = poc.runs
    if run_ids:
        chosen = {r.strip() for r in run_ids.split(",")}
        runs = [r for r in runs if r.id in chosen]
    out: dict[str, dict[str, Series]] = {}
    # Core rows, not the ORM's: the chart query only reads columns, and the ORM's row handling costs
    # several times more CPU per row.
    connection = session.connection()
    for run in runs:
        series: dict[str, Series] = {}
        for name in wanted if wanted is not None else series_names(connection, run.id):
            points = downsample(connection, run.id, name, max_points)
            if not points:
                continue
            series[name] = Series(x=[getattr(p, x) for p in points], y=[_json_float(p.value) for p in points])
        out[run.id] = series
    return MetricsPublic(x=x, runs=out)


# Points per database read of the CSV export.
CSV_PAGE_ROWS = 10_000


def csv_rows(run_id: str, page_rows: int = CSV_PAGE_ROWS) -> Iterator[str]:
    """The CSV of a run, a page of points at a time.

    Each page is read with a connection of its own that goes back to the pool before the page is sent: a
    client that reads slowly (or stops reading) holds no database connection, only the page in hand.
    Pages follow each other by key ((name, step), the primary key's order), not by offset.
    """
    mp = MetricPoint
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["step", "elapsed_s", "forward_passes", "name", "value"])
    yield buffer.getvalue()
    after: tuple[str, int] | None = None
    while True:
        query = (
            sa.select(mp.step, mp.elapsed_s, mp.forward_passes, mp.name, mp.value)
            .where(mp.run_id == run_id)
            .order_by(mp.name, mp.step)
            .limit(page_rows)
        )
        if after is not None:
            query = query.where(sa.tuple_(mp.name, mp.step) > sa.tuple_(*after))
        with get_engine().connect() as connection:
            page = connection.execute(query).all()
        if not page:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows((s, repr(e), f, n, "" if v is None else repr(v)) for s, e, f, n, v in page)
        yield buffer.getvalue()
        after = (page[-1].name, page[-1].step)


@router.get(
    "/runs/{run_id}/metrics.csv",
    responses={**NOT_FOUND, 200: {"content": {"text/csv": {}}, "description": "every point of the run"}},
    response_class=StreamingResponse,
    summary="Every metric point of a run as CSV (streamed)",
)
def run_metrics_csv(run: RunDep) -> StreamingResponse:
    filename = f"zopoc-{run.method}-{run.id[:8]}-metrics.csv"
    return StreamingResponse(
        csv_rows(run.id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
