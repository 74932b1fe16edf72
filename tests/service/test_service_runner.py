"""The runner in-process (no Celery): claim, child process, batched relay, final state, failure reasons.

The happy path runs the real engine (tiny-bert, a few steps); crash / SIGKILL / stubborn-child cases use
tests/service/fake_engine.py, which prints contract-shaped events and then misbehaves on purpose.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from backend.db.models import EvalResult, MetricPoint, PocEvent, Run
from tests.service.conftest import FAKE_ENGINE
from tests.support.stack import postgres_admin_url
from worker.execution.runner import execute_run


def load(sessions, run_id: str) -> Run:
    with sessions() as session:
        return session.get(Run, run_id)


def events(sessions, run_id: str) -> list[PocEvent]:
    with sessions() as session:
        return list(
            session.scalars(sa.select(PocEvent).where(PocEvent.run_id == run_id).order_by(PocEvent.seq))
        )


def test_real_engine_run_succeeds_with_metrics_evals_and_events(sessions, make_run, settings):
    run = make_run(method="lozo", steps=6)
    assert execute_run(run.id, worker_name="test-worker", settings=settings) == "succeeded"

    done = load(sessions, run.id)
    assert done.state == "succeeded" and done.error is None
    assert done.step == 6 and done.forward_passes == 12 and done.progress == 1.0
    assert done.worker == "test-worker" and done.device == "cpu"
    assert done.started_at <= done.finished_at
    assert done.model_info["name"] == "tiny-bert"
    assert done.hyperparams["lr"] > 0 and done.hyperparams["zo_eps"] == 1e-3
    assert done.peak_memory_mb > done.baseline_memory_mb > 0
    assert {"acc_start", "acc_end", "eval/accuracy", "kernel_max_rss_mb"} <= set(done.final_metrics)
    with sessions() as session:
        losses = session.scalars(
            sa.select(MetricPoint.step)
            .where(MetricPoint.run_id == run.id, MetricPoint.name == "train/loss")
            .order_by(MetricPoint.step)
        ).all()
        assert losses == [1, 2, 3, 4, 5, 6]
        eval_steps = session.scalars(
            sa.select(EvalResult.step).where(EvalResult.run_id == run.id).order_by(EvalResult.step)
        ).all()
        assert eval_steps == [0, 3, 6]
    kinds = [(e.kind, e.payload.get("state")) for e in events(sessions, run.id)]
    assert kinds[0] == ("run", "running") and kinds[-1] == ("run", "succeeded")
    announced = sorted(
        p["step"]
        for e in events(sessions, run.id)
        if e.kind == "metric"
        for p in e.payload["points"]
        if "train/loss" in p["values"]
    )
    assert announced == [1, 2, 3, 4, 5, 6], "every stored point is announced exactly once"


def test_run_that_no_longer_applies_is_left_alone(sessions, make_run, settings):
    run = make_run(model="fake:ok")
    with sessions() as session, session.begin():
        session.get(Run, run.id).state = "cancelled"
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) is None
    assert load(sessions, run.id).started_at is None
    assert execute_run("00000000-0000-4000-8000-000000000000", settings=settings, command=FAKE_ENGINE) is None


def test_cancel_requested_before_start_cancels_without_a_child(sessions, make_run, settings):
    run = make_run(model="fake:ok")
    with sessions() as session, session.begin():
        session.get(Run, run.id).cancel_requested = True
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) is None
    assert load(sessions, run.id).state == "cancelled"
    assert [e.payload["state"] for e in events(sessions, run.id)] == ["cancelled"]


def test_crash_is_failed_with_exit_code_and_last_output(sessions, make_run, settings):
    run = make_run(model="fake:crash", steps=10)
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "failed"
    failed = load(sessions, run.id)
    assert "exited with code 3" in failed.error and "fake engine crashed" in failed.error
    assert failed.step == 3, "points before the crash are kept"


def test_sigkilled_child_is_failed_with_a_reason_a_person_understands(sessions, make_run, settings):
    # Without resumptions (see test_service_resume.py for them) the kill itself is the reason.
    settings = settings.model_copy(update={"max_resumes": 0})
    run = make_run(model="fake:sigkill", steps=10)
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "failed"
    failed = load(sessions, run.id)
    assert "killed (SIGKILL)" in failed.error and "out of memory" in failed.error
    assert failed.error_code == "run_killed"


def _request_cancel_when_running(sessions, run_id: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sessions() as session, session.begin():
            run = session.get(Run, run_id)
            if run.state == "running" and run.step >= 2:
                run.cancel_requested = True
                return
        time.sleep(0.05)


def test_cancel_ends_the_child_and_the_run_reads_cancelled(sessions, make_run, settings):
    run = make_run(model="fake:slow", steps=300)
    canceller = threading.Thread(target=_request_cancel_when_running, args=(sessions, run.id))
    canceller.start()
    started = time.monotonic()
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "cancelled"
    canceller.join()
    assert time.monotonic() - started < 15, "the child was not left to finish 300 steps"
    cancelled = load(sessions, run.id)
    assert cancelled.state == "cancelled" and 2 <= cancelled.step < 300
    assert cancelled.finished_at is not None


def test_child_ignoring_sigterm_is_killed_after_the_grace_period(sessions, make_run, settings):
    run = make_run(model="fake:stubborn", steps=600)
    canceller = threading.Thread(target=_request_cancel_when_running, args=(sessions, run.id))
    canceller.start()
    started = time.monotonic()
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "cancelled"
    canceller.join()
    assert time.monotonic() - started < settings.cancel_grace_s + 15
    assert load(sessions, run.id).state == "cancelled"


def test_run_failed_elsewhere_is_not_resurrected(sessions, make_run, settings):
    run = make_run(model="fake:slow", steps=300)

    def fail_it():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with sessions() as session, session.begin():
                row = session.get(Run, run.id)
                if row.state == "running" and row.step >= 2:
                    row.state, row.error = "failed", "swept"
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=fail_it)
    thread.start()
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) is None
    thread.join()
    row = load(sessions, run.id)
    assert row.state == "failed" and row.error == "swept"


@pytest.mark.postgres
def test_database_connections_dropping_mid_run_lose_no_points(
    sessions, make_run, settings, database_url, kind
):
    if kind != "services":
        pytest.skip("dropping server connections needs the Postgres server (ZOPOC_TEST_STACK=services)")
    run = make_run(model="fake:slow", steps=40)
    name = sa.make_url(database_url).database
    admin = sa.create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    stop = threading.Event()
    terminated = []

    def drop_connections():
        # Only the backends of this test's own database, never anyone else's.
        with admin.connect() as connection:
            while not stop.wait(0.3):
                if load(sessions, run.id).state != "running":
                    continue
                terminated.extend(
                    connection.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": name},
                    ).scalars()
                )

    thread = threading.Thread(target=drop_connections)
    thread.start()
    try:
        state = execute_run(run.id, settings=settings, command=FAKE_ENGINE)
    finally:
        stop.set()
        thread.join()
        admin.dispose()
    assert terminated, "connections were dropped while the run was going"
    assert state == "succeeded"
    with sessions() as session:
        steps = session.scalars(
            sa.select(MetricPoint.step)
            .where(MetricPoint.run_id == run.id, MetricPoint.name == "train/loss")
            .order_by(MetricPoint.step)
        ).all()
    assert steps == list(range(1, 41))
    announced = {
        p["step"] for e in events(sessions, run.id) if e.kind == "metric" for p in e.payload["points"]
    }
    assert announced == set(range(1, 41))


def test_uploaded_dataset_missing_on_this_worker_fails_with_a_reason(sessions, make_run, settings):
    run = make_run(model="fake:ok")
    with sessions() as session, session.begin():
        dataset = session.get(Run, run.id).poc.dataset
        dataset.builtin, dataset.path = False, "uploads/3f2a.csv"  # relative to data_dir, never written
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "failed"
    failed = load(sessions, run.id)
    assert "3f2a.csv is not on this worker" in failed.error and "ZOPOC_DATA_DIR" in failed.error
    assert failed.finished_at is not None


def test_the_training_process_works_in_an_empty_folder_of_its_own(sessions, make_run, settings):
    # A model name shaped like "org/name" must never resolve against the worker's folder.
    import json
    import os

    from backend.core.config import REPO_ROOT

    run = make_run(model="fake:cwd")
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "failed"
    folder, entries = json.loads(load(sessions, run.id).error)
    assert entries == [] and os.path.realpath(folder) != os.path.realpath(REPO_ROOT)


@pytest.mark.parametrize("model", ["/etc", "/root", "~root", "../../etc", "./var/zopoc.db"])
def test_a_model_path_outside_the_model_roots_is_refused_before_a_child_starts(
    sessions, make_run, settings, model
):
    run = make_run(model=model)
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "failed"
    error = load(sessions, run.id).error
    assert error.startswith(f"unknown model {model!r}: use a built-in model") and "config.json under" in error


def test_a_failed_run_keeps_the_step_it_reached(sessions, make_run, settings):
    run = make_run(model="fake:failzero", steps=10)
    assert execute_run(run.id, settings=settings, command=FAKE_ENGINE) == "failed"
    done = load(sessions, run.id)
    assert (done.step, done.forward_passes, done.error) == (3, 6, "RuntimeError: broke")
    assert 0 < done.progress < 1
    finished = [e.payload for e in events(sessions, run.id) if e.kind == "run"][-1]
    assert (finished["state"], finished["step"]) == ("failed", 3)


def test_run_with_cuda_probes_records_baseline_and_peak_of_one_kind(sessions, make_run, settings):
    """A GPU run's baseline and peak are both CUDA allocations; the host RSS is never its baseline."""
    from backend.schemas import RunPublic
    from tests.service.cuda_probe_engine import BASELINE_MB, PEAK_MB

    run = make_run(method="lozo", steps=6)
    command = [sys.executable, str(Path(__file__).with_name("cuda_probe_engine.py"))]
    assert execute_run(run.id, settings=settings, command=command) == "succeeded"

    done = load(sessions, run.id)
    assert done.memory_kind == "cuda_allocated"
    assert (done.baseline_memory_mb, done.peak_memory_mb) == (BASELINE_MB, PEAK_MB)
    # The host RSS of a process with torch loaded is far above the fake allocation figures: a mix would show.
    assert done.final_metrics["memory"]["host_rss"]["baseline_mb"] > 2 * PEAK_MB
    assert done.final_metrics["memory"]["cuda_reserved"]["peak_mb"] == PEAK_MB + 64
    public = RunPublic.model_validate(done).model_dump(mode="json")
    assert public["memory_kind"] == "cuda_allocated"
    assert public["memory_added_mb"] == PEAK_MB - BASELINE_MB
    assert public["memory_metric"] == "memory/cuda_peak_allocated_mb"
    with sessions() as session:
        live = session.scalars(
            sa.select(MetricPoint.value)
            .where(MetricPoint.run_id == run.id, MetricPoint.name == public["memory_metric"])
            .order_by(MetricPoint.step)
        ).all()
    assert live == [110.0, 120.0, 130.0, 140.0, 150.0, 150.0]


def test_cpu_run_records_host_rss_of_one_kind(sessions, make_run, settings):
    run = make_run(method="adamw", steps=3)
    assert execute_run(run.id, settings=settings) == "succeeded"
    done = load(sessions, run.id)
    assert done.memory_kind == "host_rss"
    summary = done.final_metrics
    assert summary["memory_kind"] == "host_rss" and set(summary["memory"]) == {"host_rss"}
    assert done.baseline_memory_mb == summary["baseline_mb"] == summary["memory"]["host_rss"]["baseline_mb"]
    assert done.peak_memory_mb == summary["peak_mb"]
    assert summary["added_mb"] == pytest.approx(done.peak_memory_mb - done.baseline_memory_mb)


def test_the_runner_reads_baseline_and_peak_only_in_the_runs_kind():
    """Pure reading of the engine's events: a figure of another kind never becomes the run's baseline/peak."""
    from worker.execution.runner import started_baseline_mb, started_memory_kind, summary_peak_mb

    current = {
        "device": "cuda",
        "memory": {"kind": "cuda_allocated", "baseline_mb": 120.0, "baseline_rss_mb": 900},
    }
    assert started_memory_kind(current) == "cuda_allocated"
    assert started_baseline_mb(current, "cuda_allocated") == 120.0
    # An engine from before the kinds were named: its CUDA run's baseline was the host RSS, so it has none.
    older_cuda = {"device": "cuda", "memory": {"baseline_rss_mb": 900.0}}
    assert started_memory_kind(older_cuda) == "cuda_allocated"
    assert started_baseline_mb(older_cuda, "cuda_allocated") is None
    older_cpu = {"device": "cpu", "memory": {"baseline_rss_mb": 400.0}}
    assert (started_memory_kind(older_cpu), started_baseline_mb(older_cpu, "host_rss")) == ("host_rss", 400.0)
    summary = {"memory_kind": "cuda_allocated", "peak_mb": 310.0, "peak_rss_mb": 950.0}
    assert summary_peak_mb(summary, "cuda_allocated") == 310.0
    assert summary_peak_mb({"peak_rss_mb": 950.0, "cuda_peak_allocated_mb": 300.0}, "cuda_allocated") == 300.0
    assert summary_peak_mb({"peak_rss_mb": 950.0}, "cuda_reserved") is None
