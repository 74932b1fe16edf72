"""Runs that outlive their training process or worker: the step log stored exactly, resumption from it,
the resume limit, and a cancel that is never resumed (the runner in-process, the sweep, the database of
the session's kind; the real-Celery fault test is tests/faults/test_worker_killed.py)."""

from __future__ import annotations

import datetime as dt
import math
import struct

import pytest
import sqlalchemy as sa

from backend.db.models import MetricPoint, PocEvent, Run, ZoStep, utcnow
from backend.ingest import read_zo_steps, write_zo_steps
from backend.resume import RESUME_LIMIT_CODE, resume_log, resumption_steps
from backend.sweep import sweep_stale_runs
from common.steplog import StepLogHeader, StepRecord, decode, encode
from tests.service.conftest import FAKE_ENGINE
from tests.service.fake_engine import record
from worker.execution.runner import execute_run

# Floats whose every bit matters: thirds, the smallest subnormal, the largest double, signed zero,
# neighbours of round numbers, and the non-finite values a diverged step reports.
AWKWARD = [
    1.0 / 3.0,
    -5e-324,
    5e-324,
    1.7976931348623157e308,
    -0.0,
    0.0,
    math.nextafter(0.1, 1.0),
    math.nextafter(1.0, 0.0),
    2.0**-1074 * 3,
    123456789.12345679,
    math.inf,
    -math.inf,
    math.nan,
]


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def record_bits(records: list[StepRecord]) -> list[tuple[int, bytes, bytes, bytes]]:
    return [(r.step, bits(r.loss_plus), bits(r.loss_minus), bits(r.lr)) for r in records]


@pytest.fixture
def resumable(settings, tmp_path):
    """Settings with two resumptions allowed and a broker folder of this test (resumed runs are sent)."""
    return settings.model_copy(update={"max_resumes": 2, "broker_dir": tmp_path / "broker"})


def load(sessions, run_id: str) -> Run:
    with sessions() as session:
        return session.get(Run, run_id)


def event_kinds(sessions, run_id: str) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(sa.select(PocEvent.kind).where(PocEvent.run_id == run_id).order_by(PocEvent.seq))
        )


def test_step_records_round_trip_through_the_database_bit_exact(sessions, make_run):
    run = make_run()
    n = len(AWKWARD)
    records = [StepRecord(i + 1, AWKWARD[i], AWKWARD[(i + 5) % n], AWKWARD[(i + 9) % n]) for i in range(n)]
    with sessions() as session, session.begin():
        write_zo_steps(session, run.id, records[:7])
    with sessions() as session, session.begin():
        # A batch sent again overlaps what is stored: nothing doubled, nothing stored changed.
        changed = [StepRecord(r.step, 9.0, 9.0, 9.0) for r in records[:7]]
        write_zo_steps(session, run.id, changed[3:] + records[7:])
    with sessions() as session:
        back = read_zo_steps(session, run.id)
        assert session.scalar(sa.select(sa.func.count()).where(ZoStep.run_id == run.id)) == n
    assert record_bits(back) == record_bits(records)
    header = StepLogHeader(method="lozo", seed=0, model="tiny-bert", lr=1e-3, zo_eps=1e-3)
    with sessions() as session, session.begin():
        row = session.get(Run, run.id)
        row.steplog_header = header.to_dict()
    with sessions() as session:
        log = resume_log(session, session.get(Run, run.id))
    assert log is not None
    decoded_header, decoded = decode(log)
    assert decoded_header == header and record_bits(decoded) == record_bits(records)
    assert log == encode(header, records)


def test_a_child_killed_from_outside_is_resumed_from_its_step_log(sessions, make_run, resumable):
    run = make_run(model="fake:resumable", steps=8)
    assert execute_run(run.id, settings=resumable, command=FAKE_ENGINE) == "queued"
    queued = load(sessions, run.id)
    assert (queued.state, queued.resumes, queued.attempt, queued.step) == ("queued", 1, 1, 3)
    assert queued.celery_task_id and queued.error is None
    assert "resumed" in event_kinds(sessions, run.id)

    # The next worker (the message the resumption sent carries the row's new task id).
    assert execute_run(run.id, task_id=queued.celery_task_id, settings=resumable, command=FAKE_ENGINE) == (
        "succeeded"
    )
    done = load(sessions, run.id)
    assert (done.state, done.resumes, done.attempt, done.step) == ("succeeded", 1, 1, 8)
    with sessions() as session:
        losses = session.execute(
            sa.select(MetricPoint.step, MetricPoint.value)
            .where(MetricPoint.run_id == run.id, MetricPoint.name == "train/loss")
            .order_by(MetricPoint.step)
        ).all()
        steps = read_zo_steps(session, run.id)
    assert [(s, v) for s, v in losses] == [(s, 1.0 / s) for s in range(1, 9)], "none missing or doubled"
    assert record_bits(steps) == record_bits([record(s) for s in range(1, 9)])


def test_a_run_killed_again_and_again_fails_at_the_resume_limit(sessions, make_run, resumable):
    run = make_run(model="fake:sigkill", steps=50)
    task_id = None
    outcomes = []
    for _ in range(3):
        outcomes.append(execute_run(run.id, task_id=task_id, settings=resumable, command=FAKE_ENGINE))
        task_id = load(sessions, run.id).celery_task_id
    assert outcomes == ["queued", "queued", "failed"]
    failed = load(sessions, run.id)
    assert failed.resumes == 2 and failed.attempt == 1
    assert failed.error_code == RESUME_LIMIT_CODE
    assert failed.error_params == {"cause": "killed", "resumes": 2, "max_resumes": 2}
    assert "resumed 2 of at most 2 times" in failed.error and "SIGKILL" in failed.error
    assert failed.step == 9, "each resumption continued from the step log (3 steps a life)"
    assert event_kinds(sessions, run.id).count("resumed") == 2
    with sessions() as session:  # where the charts mark the two resumptions (GET /api/pocs/{id})
        assert resumption_steps(session, [run.id]) == {run.id: [3, 6]}


def _make_stale(sessions, run_id: str, cancel: bool = False) -> None:
    with sessions() as session, session.begin():
        row = session.get(Run, run_id)
        long_ago = utcnow() - dt.timedelta(hours=1)
        row.state, row.started_at, row.heartbeat_at = "running", long_ago, long_ago
        row.worker, row.cancel_requested = "gone@host", cancel


def test_the_sweep_resumes_a_run_whose_worker_vanished_but_never_a_cancelled_one(
    sessions, make_run, resumable
):
    lost, cancelled = make_run(), make_run()
    _make_stale(sessions, lost.id)
    _make_stale(sessions, cancelled.id, cancel=True)
    assert sweep_stale_runs(resumable) == 2
    resumed = load(sessions, lost.id)
    assert (resumed.state, resumed.resumes, resumed.worker, resumed.heartbeat_at) == ("queued", 1, None, None)
    assert event_kinds(sessions, lost.id) == ["resumed", "run"]
    stopped = load(sessions, cancelled.id)
    assert (stopped.state, stopped.resumes) == ("cancelled", 0)

    # Past the limit the sweep fails it with the code the dashboard translates.
    for _ in range(2):
        _make_stale(sessions, lost.id)
        assert sweep_stale_runs(resumable) == 1
    final = load(sessions, lost.id)
    assert (final.state, final.resumes, final.error_code) == ("failed", 2, RESUME_LIMIT_CODE)
    assert final.error_params == {"cause": "lost_worker", "resumes": 2, "max_resumes": 2}
    assert "lost worker" in final.error


def test_with_resuming_turned_off_a_lost_worker_fails_at_once(sessions, make_run, resumable):
    run = make_run()
    _make_stale(sessions, run.id)
    assert sweep_stale_runs(resumable.model_copy(update={"max_resumes": 0})) == 1
    failed = load(sessions, run.id)
    assert (failed.state, failed.error_code, failed.resumes) == ("failed", "run_lost_worker", 0)
