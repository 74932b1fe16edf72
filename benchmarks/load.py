"""Load benchmark: N browsers' API and SSE clients against a live stack while 2 workers stream metrics.

    .venv/bin/python benchmarks/load.py                     # 50 clients for 30 s, a table
    .venv/bin/python benchmarks/load.py --json              # one JSON object per row
    .venv/bin/python benchmarks/load.py --clients 20 --duration 15

What runs: ``tests.support.stack.live_stack("services")`` (real uvicorn, a fresh Postgres database, Redis
under a unique prefix) with two Celery workers, each training one run of a tiny-bert PoC (LOZO and AdamW,
one PoC each, open-ended budget, cancelled at the end), so metrics are written and announced all along.

Each simulated browser (one ``httpx.AsyncClient``, so its own connections) opens at a random moment of the
first ``--poll-s`` seconds and, every ``--poll-s`` seconds (jittered ±50 %), reads what a dashboard page
reads: the PoC list, its PoC, and the PoC's chart query (``train/loss,eval/accuracy`` by step). After its
first read of the PoC it holds the PoC's SSE stream from ``?after=<last_event_seq>``, as the dashboard
does. Reported: latency p50/p99/max per read as the client saw it and as the server measured it
(``Server-Timing``), and the error count (non-2xx answers, timeouts, refused connections, SSE streams that
broke). Target on this machine: p99 < 300 ms for
reads, zero errors. Loopback only; bounded by ``--duration`` (plus the stack's start, about 20 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import ssl
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from _common import emit  # noqa: E402  (also puts the repository on sys.path)

READS = ("list", "poc", "chart")
# One TLS context for every simulated browser: httpx would build one per client (loading the CA bundle,
# tens of ms of CPU each), and 50 of them at the start took CPU from the server being measured.
SSL_CONTEXT = ssl.create_default_context()
P99_TARGET_MS = 300.0


@dataclass
class Tally:
    """Latencies (ms) and errors per read kind, SSE counts, shared by every client coroutine."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in READS})
    # The server's own time per read (its ``Server-Timing: app;dur=``), to tell server from queue/client time.
    server_ms: dict[str, list[float]] = field(default_factory=lambda: {kind: [] for kind in READS})
    errors: dict[str, int] = field(default_factory=lambda: {kind: 0 for kind in (*READS, "sse")})
    error_samples: list[str] = field(default_factory=list)
    # (seconds since the start, read kind, client ms, server ms or None) of every successful read
    samples: list[tuple[float, str, float, float | None]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    sse_events: int = 0
    sse_points: int = 0  # metric points carried by the events (one ``metric`` event = one stored batch)
    sse_open: int = 0

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.error_samples) < 10:
            self.error_samples.append(f"{kind}: {what}")


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by nearest rank; None when there are no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def hold_stream(client: httpx.AsyncClient, poc: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Hold the PoC's SSE stream from ``poc["last_event_seq"]`` on until ``stop``, counting events; a
    stream that breaks is an error."""
    url = f"/api/pocs/{poc['id']}/events"
    try:
        async with client.stream(
            "GET", url, params={"after": poc.get("last_event_seq", 0)}, timeout=httpx.Timeout(10, read=60)
        ) as response:
            if response.status_code != 200:
                tally.error("sse", f"status {response.status_code}")
                return
            tally.sse_open += 1
            kind = "message"
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    tally.sse_events += 1
                    if kind == "metric":
                        tally.sse_points += len(json.loads(line[5:]).get("points", []))
                elif line == "":
                    kind = "message"
                if stop.is_set():
                    return
            if not stop.is_set():
                tally.error("sse", "the server ended the stream")
    except asyncio.CancelledError:
        pass
    except httpx.HTTPError as error:
        if not stop.is_set():
            tally.error("sse", f"{type(error).__name__}: {error}")


def _server_ms(response: httpx.Response) -> float | None:
    for part in response.headers.get("server-timing", "").split(","):
        name, _, params = part.strip().partition(";")
        if name == "app" and params.startswith("dur="):
            return float(params[4:])
    return None


async def timed_get(
    client: httpx.AsyncClient, kind: str, url: str, params: dict | None, tally: Tally
) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await client.get(url, params=params)
        await response.aread()
    except httpx.HTTPError as error:
        tally.error(kind, f"{type(error).__name__}: {error}")
        return None
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.is_success:
        tally.latencies[kind].append(elapsed_ms)
        if (server := _server_ms(response)) is not None:
            tally.server_ms[kind].append(server)
        tally.samples.append((started - tally.started, kind, elapsed_ms, server))
    else:
        tally.error(kind, f"{response.status_code} {response.text[:200]}")
    return response


async def browser(
    base_url: str, headers: dict, poc: dict, poll_s: float, deadline: float, stop: asyncio.Event, tally: Tally
) -> None:
    """One dashboard tab: the page's reads every ``poll_s`` seconds, and the PoC's SSE stream opened after
    the first read of the PoC, from its ``last_event_seq`` (what the comparison page does)."""
    limits = httpx.Limits(max_connections=6)  # a browser's per-host connection limit
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=10, limits=limits, verify=SSL_CONTEXT
    ) as client:
        stream = None
        await asyncio.sleep(random.uniform(0, poll_s))  # tabs were not all opened at the same instant
        chart = {"names": "train/loss,eval/accuracy", "x": "step"}
        while time.monotonic() < deadline:
            await timed_get(client, "list", "/api/pocs", None, tally)
            page = await timed_get(client, "poc", f"/api/pocs/{poc['id']}", None, tally)
            if stream is None:
                seen = page.json() if page is not None and page.is_success else poc
                stream = asyncio.create_task(hold_stream(client, seen, stop, tally))
            await timed_get(client, "chart", f"/api/pocs/{poc['id']}/metrics", chart, tally)
            await asyncio.sleep(poll_s * random.uniform(0.5, 1.5))
        await stop.wait()
        if stream is not None:
            stream.cancel()
            await asyncio.gather(stream, return_exceptions=True)


async def load(
    base_url: str, headers: dict, pocs: list[dict], clients: int, duration_s: float, poll_s: float
) -> Tally:
    tally = Tally()
    stop = asyncio.Event()
    deadline = time.monotonic() + duration_s
    tasks = [
        asyncio.create_task(browser(base_url, headers, pocs[i % len(pocs)], poll_s, deadline, stop, tally))
        for i in range(clients)
    ]
    await asyncio.sleep(duration_s)
    stop.set()
    await asyncio.wait(tasks, timeout=poll_s * 2 + 15)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return tally


def launch_streaming_pocs(client: httpx.Client) -> list[dict]:
    """Two open-ended tiny-bert PoCs (LOZO, AdamW), one run each: each worker trains one."""
    dataset = next(d for d in client.get("/api/datasets").json()["data"] if d["name"] == "demo-sentiment")
    pocs = []
    for method in ("lozo", "adamw"):
        body = {
            "name": f"load {method}",
            "model": "tiny-bert",
            "dataset_id": dataset["id"],
            "methods": [{"method": method}],
            "steps": 1_000_000,
            "batch_size": 4,
            "k_shot": 4,
            "eval_every": 50,
            "seed": 0,
            "device": "cpu",
        }
        response = client.post("/api/pocs", json=body)
        response.raise_for_status()
        pocs.append(response.json())
    return pocs


def run_steps(client: httpx.Client, pocs: list[dict]) -> dict[str, tuple[str, int]]:
    out = {}
    for poc in pocs:
        for run in client.get(f"/api/pocs/{poc['id']}").json()["runs"]:
            out[run["id"]] = (run["state"], run["step"])
    return out


def wait_running(client: httpx.Client, pocs: list[dict], timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        states = run_steps(client, pocs)
        if all(state == "running" and step > 0 for state, step in states.values()):
            return
        time.sleep(0.5)
    raise TimeoutError(f"the runs did not start streaming: {run_steps(client, pocs)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50, help="simulated browsers (default 50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (default 30)")
    parser.add_argument("--poll-s", type=float, default=2.0, help="seconds between a browser's reads")
    parser.add_argument(
        "--no-training",
        action="store_true",
        help="workers idle (PoCs cancelled before the load): the API's own capacity",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ZOPOC_NAME=VALUE",
        help="a setting of the stack's API and workers, to compare configurations "
        "(repeatable), e.g. --set ZOPOC_API_THREADS=8",
    )
    parser.add_argument(
        "--samples",
        type=Path,
        metavar="CSV",
        help="also write every read (start s, kind, client ms, server ms) to this CSV file, "
        "to see whether slow reads come together (stalls) or spread out",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    if bad := [name for name in settings if not name.startswith("ZOPOC_")]:
        parser.error(f"--set takes ZOPOC_* settings, not {bad}")

    from tests.faults.support import auth_headers
    from tests.support.stack import live_stack

    with live_stack("services", extra_env=settings) as stack:
        stack.start_worker()  # the second worker
        headers = auth_headers(stack)
        with httpx.Client(base_url=stack.base_url, headers=headers, timeout=30) as client:
            pocs = launch_streaming_pocs(client)
            wait_running(client, pocs)
            if args.no_training:
                for run_id in run_steps(client, pocs):
                    client.post(f"/api/runs/{run_id}/cancel")
                time.sleep(3)
            before = run_steps(client, pocs)
            started = time.monotonic()
            tally = asyncio.run(load(stack.base_url, headers, pocs, args.clients, args.duration, args.poll_s))
            wall_s = time.monotonic() - started
            after = run_steps(client, pocs)
            for run_id in after:
                client.post(f"/api/runs/{run_id}/cancel")

    if args.samples:
        with args.samples.open("w") as out:
            out.write("start_s,read,client_ms,server_ms\n")
            for start_s, kind, client_ms, server_ms in tally.samples:
                out.write(f"{start_s:.3f},{kind},{client_ms:.1f},{'' if server_ms is None else server_ms}\n")

    rows = []
    for kind, path in zip(
        READS, ("GET /api/pocs", "GET /api/pocs/{id}", "GET /api/pocs/{id}/metrics"), strict=True
    ):
        values = tally.latencies[kind]
        rows.append(
            {
                "read": path,
                "requests": len(values) + tally.errors[kind],
                "p50_ms": percentile(values, 0.50),
                "p99_ms": percentile(values, 0.99),
                "max_ms": max(values) if values else None,
                "server_p50_ms": percentile(tally.server_ms[kind], 0.50),
                "server_p99_ms": percentile(tally.server_ms[kind], 0.99),
                "errors": tally.errors[kind],
            }
        )
    all_reads = [v for kind in READS for v in tally.latencies[kind]]
    all_server = [v for kind in READS for v in tally.server_ms[kind]]
    read_errors = sum(tally.errors[kind] for kind in READS)
    rows.append(
        {
            "read": "all reads",
            "requests": len(all_reads) + read_errors,
            "p50_ms": percentile(all_reads, 0.50),
            "p99_ms": percentile(all_reads, 0.99),
            "max_ms": max(all_reads) if all_reads else None,
            "server_p50_ms": percentile(all_server, 0.50),
            "server_p99_ms": percentile(all_server, 0.99),
            "errors": read_errors,
        }
    )
    rows.append(
        {
            "read": "SSE streams held",
            "requests": tally.sse_open,
            "events": tally.sse_events,
            "points": tally.sse_points,
            "errors": tally.errors["sse"],
        }
    )
    steps = {run_id: after[run_id][1] - before[run_id][1] for run_id in after}
    p99 = percentile(all_reads, 0.99)
    summary = {
        "read": "summary",
        "clients": args.clients,
        "duration_s": round(wall_s, 1),
        "poll_s": args.poll_s,
        "settings": " ".join(args.set) or "defaults",
        "workers": 2,
        "training": not args.no_training,
        "train_steps_during_load": sum(steps.values()),
        "runs_streaming": sum(1 for state, _ in after.values() if state == "running"),
        "errors": read_errors + tally.errors["sse"],
        "target_met": bool(
            p99 is not None and p99 < P99_TARGET_MS and read_errors + tally.errors["sse"] == 0
        ),
    }
    rows.append(summary)
    emit(
        rows[:-1],
        [
            "read",
            "requests",
            "p50_ms",
            "p99_ms",
            "max_ms",
            "server_p50_ms",
            "server_p99_ms",
            "events",
            "points",
            "errors",
        ],
        args.json,
    )
    if args.json:
        emit([summary], [], True)
    else:
        print("\n" + "  ".join(f"{k}={v}" for k, v in summary.items() if k != "read"))
        for sample in tally.error_samples:
            print(f"error: {sample}")


if __name__ == "__main__":
    main()
