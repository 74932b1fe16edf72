"""The live stack: real API server, real Celery worker, real engine (tiny-bert), and Postgres + Redis
(ZOPOC_TEST_STACK=services) or SQLite + the filesystem broker (embedded).

One stack serves the module; each test launches its own PoC through the API, as the dashboard does.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from backend.db.models import MetricPoint, PocEvent, Run
from tests.support.stack import Stack, live_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack() -> Stack:
    with live_stack() as running:
        yield running


@pytest.fixture(autouse=True)
def cpu_worker(stack: Stack) -> None:
    """Every test starts with a live CPU worker, even after a test that killed one."""
    stack.ensure_worker("cpu")


@pytest.fixture(scope="module")
def client(stack: Stack) -> httpx.Client:
    with stack.client() as http:
        yield http


@pytest.fixture(scope="module")
def dataset_id(client: httpx.Client) -> str:
    datasets = client.get("/api/datasets").json()["data"]
    return next(d["id"] for d in datasets if d["name"] == "demo-sentiment")


def launch(client: httpx.Client, dataset_id: str, methods: list[str], steps: int, **extra) -> dict:
    body = {
        "name": f"live {methods} {steps}",
        "model": "tiny-bert",
        "dataset_id": dataset_id,
        "methods": [{"method": m} for m in methods],
        "steps": steps,
        "batch_size": 4,
        "k_shot": 4,
        "eval_every": 3,
        "seed": 0,
        "device": "cpu",
    } | extra
    response = client.post("/api/pocs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def wait_run(client: httpx.Client, run_id: str, until, stack: Stack, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{run_id}").json()
        if until(run):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} stuck at {run}\nworker log:\n{stack.worker_log()[-3000:]}")


def finished(run: dict) -> bool:
    return run["state"] in ("succeeded", "failed", "cancelled")


def training_pids(run_id: str) -> list[int]:
    """Processes of the engine child of ``run_id`` (its spec file lives in a folder named after the run)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "worker.train" in cmdline and f"zopoc-run-{run_id[:8]}" in cmdline:
            pids.append(int(entry.name))
    return pids


def gone(pids: list[int], timeout_s: float = 15) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().split()[2]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.2)
    return False


def test_poc_of_lozo_and_adamw_goes_from_queued_to_succeeded(stack, client, dataset_id):
    poc = launch(client, dataset_id, ["lozo", "adamw"], steps=6)
    assert {r["state"] for r in poc["runs"]} <= {"queued", "running"}
    runs = [wait_run(client, r["id"], finished, stack) for r in poc["runs"]]
    assert [r["state"] for r in runs] == ["succeeded", "succeeded"], [r["error"] for r in runs]
    for run in runs:
        assert run["step"] == 6 and run["progress"] == 1.0 and run["peak_memory_mb"] > 0
        assert run["worker"] and run["device"] == "cpu" and "eval/accuracy" in run["final_metrics"]
    with stack.session() as session:
        for run in runs:
            steps = session.scalars(
                sa.select(MetricPoint.step)
                .where(MetricPoint.run_id == run["id"], MetricPoint.name == "train/loss")
                .order_by(MetricPoint.step)
            ).all()
            assert steps == [1, 2, 3, 4, 5, 6]
    chart = client.get(
        f"/api/pocs/{poc['id']}/metrics", params={"names": "train/loss", "x": "forward_passes"}
    )
    assert chart.status_code == 200
    assert chart.json()["runs"][runs[0]["id"]]["train/loss"]["x"] == [2, 4, 6, 8, 10, 12]  # ZO: 2 per step


def test_cancel_ends_the_running_child_and_the_run_reads_cancelled(stack, client, dataset_id):
    poc = launch(client, dataset_id, ["lozo"], steps=100_000)
    run_id = poc["runs"][0]["id"]
    wait_run(client, run_id, lambda r: r["state"] == "running" and r["step"] > 0, stack)
    pids = training_pids(run_id)
    assert pids, "the engine runs in a child process"
    response = client.post(f"/api/runs/{run_id}/cancel")
    assert response.status_code == 200, response.text
    run = wait_run(client, run_id, finished, stack, timeout_s=60)
    assert run["state"] == "cancelled" and 0 < run["step"] < 100_000
    assert gone(pids), "the training process was ended"


def test_sigkilled_child_resumes_the_run_and_the_worker_takes_the_next(stack, client, dataset_id):
    # The limit and its reason: tests/service/test_service_resume.py; weights: tests/faults.
    doomed = launch(client, dataset_id, ["lozo"], steps=400)["runs"][0]
    following = launch(client, dataset_id, ["adamw"], steps=3)["runs"][0]
    wait_run(client, doomed["id"], lambda r: r["state"] == "running" and r["step"] > 0, stack)
    pids = training_pids(doomed["id"])
    assert pids, "the engine runs in a child process"
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    run = wait_run(client, doomed["id"], finished, stack, timeout_s=180)
    assert run["state"] == "succeeded", run["error"]
    assert (run["resumes"], run["attempt"], run["step"]) == (1, 1, 400)
    nxt = wait_run(client, following["id"], finished, stack)
    assert nxt["state"] == "succeeded" and nxt["worker"] == run["worker"]


def read_sse(
    stack: Stack,
    poc_id: str,
    last_event_id: str | None,
    stop_after: int | None,
    until_states: set[str],
    run_ids: set[str],
    timeout_s: float = 120,
    seen: list[tuple[str, str, dict]] = (),
) -> list[tuple[str, str, dict]]:
    """(id, event, data) of the PoC's stream until ``stop_after`` events, or every run in a final state and
    the PoC's stored state announced as final too (counting ``seen``, the events of an earlier connection)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    out: list[tuple[str, str, dict]] = []
    states: dict[str, str] = {d["id"]: d["state"] for _, kind, d in seen if kind == "run"}
    poc_states = [d["state"] for _, kind, d in seen if kind == "poc"]
    deadline = time.monotonic() + timeout_s
    headers |= stack.auth_headers()
    with httpx.stream(
        "GET",
        f"{stack.base_url}/api/pocs/{poc_id}/events",
        headers=headers,
        timeout=httpx.Timeout(30, read=30),
    ) as response:
        assert response.status_code == 200
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            assert time.monotonic() < deadline, "the stream did not finish in time"
            if line.startswith(":"):
                continue
            if line:
                key, _, value = line.partition(":")
                fields[key] = value.removeprefix(" ")
                continue
            if "data" not in fields:
                fields = {}
                continue
            data = json.loads(fields["data"])
            out.append((fields.get("id", ""), fields.get("event", "message"), data))
            fields = {}
            if out[-1][1] == "run":
                states[data["id"]] = data["state"]
            if out[-1][1] == "poc":
                poc_states.append(data["state"])
            if stop_after is not None and len(out) >= stop_after:
                return out
            poc_final = bool(poc_states) and poc_states[-1] in until_states | {"mixed"}
            if run_ids and all(states.get(r) in until_states for r in run_ids) and poc_final:
                return out
    return out


def test_sse_delivers_events_in_order_and_resumes_after_a_reconnect(stack, client, dataset_id):
    poc = launch(client, dataset_id, ["lozo", "adamw"], steps=8)
    run_ids = {r["id"] for r in poc["runs"]}
    final = {"succeeded", "failed", "cancelled"}
    # Events are whole batches now, so a PoC of 8 steps has few: break the first connection early.
    first = read_sse(stack, poc["id"], None, stop_after=4, until_states=final, run_ids=run_ids)
    assert len(first) == 4
    rest = read_sse(
        stack, poc["id"], first[-1][0], stop_after=None, until_states=final, run_ids=run_ids, seen=first
    )
    received = first + rest

    # The stream equals the database's event log, one event per row: nothing missed or doubled.
    with stack.session() as session:
        log = session.scalars(
            sa.select(PocEvent).where(PocEvent.poc_id == poc["id"]).order_by(PocEvent.seq)
        ).all()
    expected = [(str(e.seq), e.kind, e.payload) for e in log]
    assert received == expected[: len(received)]
    assert len(received) == len(expected)
    ids = [int(i) for i, _, _ in received]
    assert ids == sorted(ids) and len(set(ids)) == len(ids), "ids increase strictly"
    steps = {
        r: [
            p["step"]
            for _, k, d in received
            if k == "metric" and d["run_id"] == r
            for p in d["points"]
            if "train/loss" in p["values"]
        ]
        for r in run_ids
    }
    assert all(s == list(range(1, 9)) for s in steps.values()), steps
    assert {d["state"] for _, k, d in received if k == "run"} >= {"queued", "running", "succeeded"}


def test_worker_killed_mid_run_does_not_leave_the_run_running(stack, client, dataset_id):
    run_id = launch(client, dataset_id, ["lozo"], steps=100_000)["runs"][0]["id"]
    wait_run(client, run_id, lambda r: r["state"] == "running" and r["step"] > 0, stack)
    pids = training_pids(run_id)
    stack.kill_worker(signal.SIGKILL)
    assert gone(pids), "the training child dies with its worker (parent-death signal)"
    with stack.session() as session:
        assert session.get(Run, run_id).state == "running"
    # No worker is left: the API's own sweep puts the run back in the queue once its heartbeat is stale
    # (8 s here), to be resumed by the next worker.
    run = wait_run(client, run_id, lambda r: r["state"] != "running", stack, timeout_s=60)
    assert (run["state"], run["resumes"], run["worker"]) == ("queued", 1, None)
    # A queued run is cancelled at once (and not left to train 100 000 steps for the next tests' worker).
    assert client.post(f"/api/runs/{run_id}/cancel").json()["state"] == "cancelled"


def served(client: httpx.Client, kind: str) -> int:
    return client.get("/api/workers").json()["served"][kind]


def wait_served(client: httpx.Client, kind: str, until, stack: Stack, timeout_s: float = 60) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if until(count := served(client, kind)):
            return count
        time.sleep(0.3)
    raise AssertionError(f"{kind} workers online: {count}\nworker log:\n{stack.worker_log()[-3000:]}")


def test_a_gpu_launch_waits_for_a_gpu_worker_and_is_refused_without_one(stack, client, dataset_id):
    import torch

    stack.ensure_worker("cpu")
    wait_served(client, "cpu", lambda n: n >= 1, stack)
    assert served(client, "gpu") == 0, "no GPU worker is started before this test"
    refused = client.post(
        "/api/pocs",
        json={"name": "gpu", "model": "tiny-bert", "dataset_id": dataset_id, "methods": [{"method": "lozo"}]}
        | {"steps": 3, "batch_size": 4, "k_shot": 4, "device": "gpu"},
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "no_worker_for_device" and "no GPU worker is online" in refused.text

    stack.ensure_worker("gpu")
    wait_served(client, "gpu", lambda n: n >= 1, stack)
    gpu_run = launch(client, dataset_id, ["lozo"], steps=3, device="gpu")["runs"][0]["id"]
    run = wait_run(client, gpu_run, finished, stack)
    if torch.cuda.is_available():
        assert run["state"] == "succeeded" and run["device"].startswith("cuda"), run["error"]
    else:  # no GPU on this machine: the engine says so instead of training on the CPU
        assert run["state"] == "failed" and "could not start" in run["error"] and run["device"] == "cuda"

    # A worker that dies without a word stops counting after three presence intervals (1 s each here).
    stack.kill_worker(signal.SIGKILL)
    wait_served(client, "gpu", lambda n: n == 0, stack, timeout_s=30)
    assert served(client, "cpu") >= 1, "the CPU worker still serves"


def test_gpu_runs_are_never_taken_by_a_cpu_worker(stack, client, dataset_id):
    stack.ensure_worker("gpu")
    wait_served(client, "gpu", lambda n: n >= 1, stack)
    stack.kill_worker(signal.SIGTERM)  # the GPU worker stops cleanly: it withdraws at once
    wait_served(client, "gpu", lambda n: n == 0, stack, timeout_s=10)
    # A GPU run already in its queue when its worker went (the API refuses new ones now): the CPU
    # worker finishes later CPU work and still never takes it.
    poc = launch(client, dataset_id, ["lozo"], steps=2)
    with stack.session() as session:
        gpu_run = Run(poc_id=poc["id"], method="lozo", hyperparams={}, queue="gpu", attempt=2, state="queued")
        session.add(gpu_run)
        session.commit()
    stack.enqueue(gpu_run.id, "gpu")
    cpu_run = launch(client, dataset_id, ["lozo"], steps=2)["runs"][0]["id"]
    assert wait_run(client, cpu_run, finished, stack)["state"] == "succeeded"
    assert client.get(f"/api/runs/{gpu_run.id}").json()["state"] == "queued", (
        "a CPU worker never takes GPU work"
    )


def test_open_sse_streams_hold_no_database_connection(stack, client, dataset_id):
    # More streams than the API's pool has connections (10 + 20 overflow on Postgres, 5 + 10 on SQLite):
    # if a stream held one for its life, the read below would wait for the pool and time out.
    import asyncio

    poc = launch(client, dataset_id, ["lozo"], steps=2)
    streams = 35

    async def main() -> tuple[int, int, float]:
        opened = 0
        ready = asyncio.Event()

        async def hold(http: httpx.AsyncClient, stop: asyncio.Event) -> None:
            nonlocal opened
            async with http.stream("GET", f"/api/pocs/{poc['id']}/events") as response:
                assert response.status_code == 200
                async for _line in response.aiter_lines():  # the first line arrives once it is served
                    opened += 1
                    if opened == streams:
                        ready.set()
                    await stop.wait()
                    return

        stop = asyncio.Event()
        async with httpx.AsyncClient(
            base_url=stack.base_url,
            headers=stack.auth_headers(),
            timeout=30,
            limits=httpx.Limits(max_connections=streams + 5),
        ) as http:
            holders = [asyncio.create_task(hold(http, stop)) for _ in range(streams)]
            await asyncio.wait_for(ready.wait(), timeout=60)
            started = time.monotonic()
            read = await http.get(f"/api/pocs/{poc['id']}", timeout=10)
            elapsed = time.monotonic() - started
            stop.set()
            await asyncio.gather(*holders)
        return opened, read.status_code, elapsed

    opened, status, elapsed = asyncio.run(main())
    assert opened == streams
    assert status == 200
    assert elapsed < 5, f"a read with {streams} streams open took {elapsed:.1f} s (waiting for the pool?)"


def test_generation_poc_trains_on_pairs_and_keeps_its_example_answers(stack, client):
    """demo-dates on a tiny decoder through the real worker: exact match and F1 at every evaluation, the
    example answers at the first and last, and a comparison scored by exact match."""
    datasets = client.get("/api/datasets").json()["data"]
    dates = next(d for d in datasets if d["name"] == "demo-dates")
    assert dates["kind"] == "generation" and dates["builtin"]
    body = {
        "name": "live dates",
        "model": "tiny-gpt2",
        "dataset_id": dates["id"],
        "task_type": "generation",
        "methods": [{"method": "lozo"}, {"method": "adamw"}],
        "steps": 6,
        "batch_size": 4,
        "eval_every": 3,
        "eval_size": 8,
        "val_size": 4,
        "max_new_tokens": 4,
        "seed": 0,
        "device": "cpu",
    }
    encoder = client.post("/api/pocs", json=body | {"model": "tiny-bert"})
    assert encoder.status_code == 422 and "decoder" in encoder.text
    response = client.post("/api/pocs", json=body)
    assert response.status_code == 201, response.text
    poc = response.json()
    assert poc["settings"]["task_type"] == "generation"
    runs = [wait_run(client, r["id"], finished, stack, timeout_s=240) for r in poc["runs"]]
    assert [r["state"] for r in runs] == ["succeeded", "succeeded"], [r["error"] for r in runs]
    for run in runs:
        final = run["final_metrics"]
        assert {"eval/f1", "eval/exact_match", "eval/loss", "em_start", "f1_end"} <= set(final), final
        assert "eval/accuracy" not in final
        examples = run["examples"]
        assert examples["start"]["step"] == 0 and examples["end"]["step"] == 6
        start, end = examples["start"]["examples"], examples["end"]["examples"]
        assert [e["prompt"] for e in start] == [e["prompt"] for e in end] and start
        assert all(e["reference"][:2] in ("19", "20") for e in start)  # ISO dates of the task
    series = client.get(
        f"/api/pocs/{poc['id']}/metrics", params={"names": "eval/f1,eval/exact_match", "x": "step"}
    ).json()["runs"]
    for run in runs:
        assert series[run["id"]]["eval/f1"]["x"] == [0, 3, 6]
    roi = client.get(f"/api/pocs/{poc['id']}/roi", params={"target": "poc"}).json()
    assert roi["comparison"]["score"] == "exact_match" and roi["comparison"]["n"] == 8
