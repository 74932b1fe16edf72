"""Helpers of the fault tests: launch PoCs through the API, wait for run states, read what was stored."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from backend.db.models import MetricPoint, Run
from tests.support.stack import Stack

FINAL_STATES = ("succeeded", "failed", "cancelled")


def report(message: str) -> None:
    """Print one line of what a fault test injected or found (shown with ``pytest -s`` or on failure)."""
    print(f"[fault] {message}", flush=True)


def builtin_dataset_id(client: httpx.Client) -> str:
    datasets = client.get("/api/datasets").json()["data"]
    return next(d["id"] for d in datasets if d["name"] == "demo-sentiment")


def launch(
    client: httpx.Client,
    dataset_id: str,
    methods: list[str],
    steps: int,
    name: str = "fault",
    eval_every: int = 1000,
) -> dict:
    """POST /api/pocs for a tiny-bert PoC; assert it was accepted (201) and return PocPublic."""
    body = {
        "name": name,
        "model": "tiny-bert",
        "dataset_id": dataset_id,
        "methods": [{"method": m} for m in methods],
        "steps": steps,
        "batch_size": 4,
        "k_shot": 4,
        "eval_every": eval_every,
        "seed": 0,
        "device": "cpu",
    }
    response = client.post("/api/pocs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run_row(stack: Stack, run_id: str) -> Run:
    """The run as the database has it (the truth, also while the API is unreachable)."""
    with stack.session() as session:
        run = session.get(Run, run_id)
        assert run is not None, f"run {run_id} is not in the database"
        return run


def wait_for(
    stack: Stack, run_id: str, until, timeout_s: float = 180, what: str = "", poll_s: float = 0.3
) -> Run:
    """Poll the database until ``until(run)`` holds; fail with the worker logs otherwise."""
    deadline = time.monotonic() + timeout_s
    run = None
    while time.monotonic() < deadline:
        try:
            run = run_row(stack, run_id)
        except sa.exc.OperationalError:  # the database may be restarting
            run = None
        if run is not None and until(run):
            return run
        time.sleep(poll_s)
    logs = "\n".join(f"--- worker {i} ---\n{stack.worker_log(i)[-2500:]}" for i in range(len(stack.workers)))
    state = f"{run.state} step {run.step} error {run.error}" if run else "unreadable"
    raise AssertionError(f"run {run_id} did not become {what or until} in {timeout_s:.0f} s: {state}\n{logs}")


def is_final(run: Run) -> bool:
    return run.state in FINAL_STATES


def stored_points(stack: Stack, run_id: str) -> dict[tuple[str, int], float | None]:
    """Every committed metric point of a run: (name, step) -> value."""
    with stack.session() as session:
        rows = session.execute(
            sa.select(MetricPoint.name, MetricPoint.step, MetricPoint.value).where(
                MetricPoint.run_id == run_id
            )
        ).all()
    return {(name, step): value for name, step, value in rows}


def loss_steps(points: dict[tuple[str, int], float | None]) -> list[int]:
    return sorted(step for name, step in points if name == "train/loss")


def missing(acknowledged: dict, now: dict) -> list:
    """Acknowledged points that are gone or changed."""
    return [key for key, value in acknowledged.items() if key not in now or now[key] != value]


def freeze_training(run_id: str) -> list[int]:
    """SIGSTOP a run's training process so that it stores no further step until it is killed.

    A fault injected "mid-run" must not race a fast run to its end: frozen, the run stays where the test
    saw it, and SIGKILL still reaches a stopped process.
    """
    pids = processes_matching(f"zopoc-run-{run_id[:8]}")
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    return pids


def processes_matching(fragment: str) -> list[int]:
    """Pids whose command line contains ``fragment`` (zombies excluded)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if fragment in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def auth_headers(stack: Stack) -> dict[str, str]:
    """Headers that authenticate a script against the stack: a personal API token of the first admin.

    Empty when the API has no accounts (no ``/api/auth/login``), so the tests run on either version.
    """
    email, password = stack.env.get("ZOPOC_ADMIN_EMAIL"), stack.env.get("ZOPOC_ADMIN_PASSWORD")
    if not email or not password:
        return {}
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        login = client.post("/api/auth/login", json={"email": email, "password": password})
        if login.status_code in (404, 405):
            return {}
        assert login.status_code == 200, login.text
        token = client.post(
            "/api/auth/tokens",
            json={"name": "fault and load tests"},
            headers={"X-CSRF-Token": client.cookies.get("zopoc_csrf") or ""},
        )
        assert token.status_code == 201, token.text
        return {"Authorization": f"Bearer {token.json()['token']}"}


def api_client(stack: Stack) -> httpx.Client:
    """An authenticated HTTP client on the stack's API (use it as a context manager)."""
    return httpx.Client(base_url=stack.base_url, timeout=30, headers=auth_headers(stack))
