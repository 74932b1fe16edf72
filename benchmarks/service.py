"""Service benchmark: metric ingestion rate into Postgres and chart-query latency on a 1M-point run.

    .venv/bin/python benchmarks/service.py            # a table
    .venv/bin/python benchmarks/service.py --json     # one JSON object (ingest_points_per_s, chart_query_ms…)

Ingestion goes through the worker's own relay (``worker.execution.runner``): engine ``metrics`` events are
taken into the relay state and flushed in batches of ``relay_max_points`` exactly as a running task does —
points with ON CONFLICT DO NOTHING, rollups, the run's progress and one ``poc_events`` row per batch, one
transaction each. The chart query is the API's real route, ``GET /api/pocs/{id}/metrics``, called in-process
through FastAPI's TestClient on the run just written (``max_points=2000``), for each x axis.

Works on a fresh uniquely named Postgres database (``ZOPOC_TEST_POSTGRES_URL``, default the local server),
dropped afterwards. Targets: >= 20,000 points/s, <= 100 ms per chart query.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import sqlalchemy as sa  # noqa: E402

from backend.core.config import Settings, get_settings  # noqa: E402
from backend.db.models import Dataset, Poc, Run  # noqa: E402
from tests.support.stack import create_postgres_database, drop_postgres_database, migrate  # noqa: E402


def seed_run(sessions, owner_email: str | None = None) -> Run:
    """A running run of a new PoC (in a workspace ``owner_email`` owns, when the schema has accounts)."""
    with sessions() as session, session.begin():
        dataset = Dataset(name="bench", builtin=True, path="demo-sentiment", n_rows=1, labels=["a", "b"])
        poc = Poc(
            name="service benchmark",
            model="tiny-bert",
            dataset=dataset,
            settings={"steps": None, "device": "cpu"},
        )
        run = Run(poc=poc, method="lozo", hyperparams={}, state="running", queue="cpu")
        if hasattr(Poc, "workspace_id"):  # with accounts every PoC belongs to a workspace
            from backend.db.models import Workspace

            workspace = Workspace(name="benchmark")
            session.add(workspace)
            session.flush()
            poc.workspace_id = workspace.id
            if owner_email:  # the API then shows the PoC to that user
                from backend.db.models import Membership, User

                user = session.scalar(sa.select(User).where(User.email == owner_email.lower()))
                if user is not None:
                    session.add(Membership(workspace_id=workspace.id, user_id=user.id, role="owner"))
        session.add_all([dataset, poc, run])
    return run


def ingest(settings: Settings, run: Run, n_points: int) -> dict:
    """Relay ``n_points`` train/loss points through the worker's batching; return rate and batch count."""
    from worker.execution.runner import RunExecution

    execution = RunExecution(run.id, "bench", None, settings)
    execution.poc_id = run.poc_id
    batches = 0
    started = time.perf_counter()
    for step in range(1, n_points + 1):
        loss = 0.7 * math.exp(-step / 300_000) + 0.05 * math.sin(step / 50.0)
        execution.state.take(
            {
                "event": "metrics",
                "step": step,
                "elapsed_s": step * 0.02,
                "forward_passes": 2 * step,
                "values": {"train/loss": loss},
            }
        )
        if len(execution.state.points) >= settings.relay_max_points:
            execution.flush()
            batches += 1
    execution.flush()
    batches += 1
    seconds = time.perf_counter() - started
    return {
        "ingest_points": n_points,
        "ingest_s": round(seconds, 2),
        "ingest_points_per_s": round(n_points / seconds),
        "ingest_batches": batches,
        "batch_points": settings.relay_max_points,
    }


def chart_queries(run: Run, repeats: int) -> dict:
    """Median latency of the API's chart route per x axis, and the points it returned."""
    from fastapi.testclient import TestClient

    from backend.api.main import create_app

    out: dict = {}
    with TestClient(create_app()) as client:
        settings = get_settings()
        login = client.post(
            "/api/auth/login", json={"email": settings.admin_email, "password": settings.admin_password}
        )
        if login.status_code not in (404, 405):  # accounts: read as the first admin (session cookie)
            login.raise_for_status()
        for axis in ("step", "elapsed_s", "forward_passes"):
            timings, n_returned = [], 0
            for _ in range(repeats + 1):
                started = time.perf_counter()
                response = client.get(
                    f"/api/pocs/{run.poc_id}/metrics",
                    params={"names": "train/loss", "x": axis, "max_points": 2000},
                )
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                n_returned = len(response.json()["runs"][run.id]["train/loss"]["x"])
            out[f"chart_query_ms_{axis}"] = round(statistics.median(timings[1:]), 1)  # first call warms up
            out[f"chart_points_{axis}"] = n_returned
    out["chart_query_ms"] = max(out[f"chart_query_ms_{a}"] for a in ("step", "elapsed_s", "forward_passes"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--points", type=int, default=1_000_000, help="points in the benchmark run")
    parser.add_argument("--repeats", type=int, default=20, help="chart queries per x axis")
    args = parser.parse_args()

    from sqlalchemy.orm import sessionmaker

    url = create_postgres_database("zopoc_bench")
    try:
        migrate(url)
        env = {
            "ZOPOC_DATABASE_URL": url,
            "ZOPOC_REDIS_URL": "",
            "ZOPOC_BROKER_URL": "memory://",
            "ZOPOC_ADMIN_EMAIL": "bench@example.com",
            "ZOPOC_ADMIN_PASSWORD": secrets.token_urlsafe(16),
        }
        with mock.patch.dict(os.environ, env):
            get_settings.cache_clear()
            subprocess.run(
                [sys.executable, "-m", "backend.prestart"],
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
                env=os.environ | env,
            )  # the first admin, as in production
            settings = get_settings()
            settings.redis_url = None
            engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
            run = seed_run(sessionmaker(engine, expire_on_commit=False), settings.admin_email)
            result: dict[str, Any] = {"database": "postgresql", "cpu_count": os.cpu_count()}
            result |= ingest(settings, run, args.points)
            with engine.connect() as connection:
                connection.execute(sa.text("ANALYZE"))
                connection.commit()
            result |= chart_queries(run, args.repeats)
            engine.dispose()
            from backend.db.session import get_engine

            get_engine(url).dispose()  # the API's pooled connections, before the database is dropped
    finally:
        get_settings.cache_clear()
        drop_postgres_database(url)
    result["targets_met"] = result["ingest_points_per_s"] >= 20_000 and result["chart_query_ms"] <= 100
    if args.json:
        print(json.dumps(result))
        return
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
