"""Server-sent events against a real uvicorn server: replay, resume with Last-Event-ID, live follow."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from backend.db.models import PocEvent
from backend.events import publish
from tests.support.stack import free_port


@pytest.fixture
def server(api_env, database_url) -> Iterator[str]:
    """The app served by uvicorn in a thread (real HTTP streaming); its base URL."""
    from backend.api.main import create_app

    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=15)
    # Streams end when their client leaves: otherwise the server could not have stopped.
    assert not thread.is_alive(), "the server did not stop: an event stream outlived its client"


def read_events(response: httpx.Response, count: int) -> list[dict]:
    """The next ``count`` events of an SSE response as {"event", "id", "data"} (comments skipped)."""
    events, fields = [], {}
    for line in response.iter_lines():
        if line.startswith(":"):
            continue
        if line == "":
            if "data" in fields:
                events.append(
                    {"event": fields.get("event"), "id": fields.get("id"), "data": json.loads(fields["data"])}
                )
                if len(events) == count:
                    return events
            fields = {}
            continue
        key, _, value = line.partition(":")
        fields[key] = value[1:] if value.startswith(" ") else value
    raise AssertionError(f"the stream ended after {len(events)} of {count} events")


def add_event(sessions, poc_id: str, kind: str, payload: dict, run_id: str | None = None) -> int:
    with sessions() as session, session.begin():
        event = PocEvent(poc_id=poc_id, run_id=run_id, kind=kind, payload=payload)
        session.add(event)
        session.flush()
        return event.seq


def _batch(run_id: str, steps: range) -> dict:
    return {
        "run_id": run_id,
        "points": [
            {"step": s, "elapsed_s": s / 4, "forward_passes": 2 * s, "values": {"train/loss": 1.0 / (s + 1)}}
            for s in steps
        ],
    }


def test_replay_in_order_then_resume_inside_a_batch(server, make_poc, sessions, owner):
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    start = poc["last_event_seq"]  # the two "queued" run events written by the create
    seq_batch = add_event(sessions, poc["id"], "metric", _batch(run_id, range(0, 3)), run_id)
    seq_run = add_event(sessions, poc["id"], "run", {"id": run_id, "state": "running"}, run_id)

    with httpx.Client(base_url=server, timeout=10, headers=owner.headers) as http:
        with http.stream("GET", f"/api/pocs/{poc['id']}/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = read_events(response, 4)
        assert [e["event"] for e in events] == ["run", "run", "metric", "run"]
        assert [e["data"]["state"] for e in events[:2]] == ["queued", "queued"]
        assert events[1]["id"] == str(start)
        assert [e["id"] for e in events[2:]] == [str(seq_batch), str(seq_run)]
        # One event per stored batch, its points in order.
        assert events[2]["data"] == _batch(run_id, range(0, 3))

        # After a whole event, and with ?after= instead of the header.
        with http.stream(
            "GET", f"/api/pocs/{poc['id']}/events", headers={"Last-Event-ID": str(seq_batch)}
        ) as response:
            assert read_events(response, 1)[0]["id"] == str(seq_run)
        with http.stream("GET", f"/api/pocs/{poc['id']}/events", params={"after": start}) as response:
            assert read_events(response, 1)[0]["id"] == str(seq_batch)

        # Anything but an event id of this stream is refused in words, not resumed somewhere.
        response = http.get(f"/api/pocs/{poc['id']}/events", headers={"Last-Event-ID": f"{seq_batch}.0"})
        assert response.status_code == 422
        assert response.json()["detail"]["errors"][0]["field"] == "Last-Event-ID"


def test_many_streams_of_one_poc_share_one_feed_and_each_get_every_row(
    server, make_poc, sessions, settings, owner
):
    """Streams joining while rows are written (some resuming mid-way) all get every row once, in order."""
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    start = poc["last_event_seq"]
    n_rows, results, errors = 30, {}, []

    def produce():
        for i in range(n_rows):
            add_event(sessions, poc["id"], "metric", _batch(run_id, range(2 * i, 2 * i + 2)), run_id)
            publish(settings, poc["id"])
            time.sleep(0.02)

    def consume(k: int):
        try:
            time.sleep(0.03 * k)  # join at different points of the writing
            with httpx.Client(base_url=server, timeout=20, headers=owner.headers) as http:
                with http.stream("GET", f"/api/pocs/{poc['id']}/events", params={"after": start}) as response:
                    results[k] = read_events(response, n_rows)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=produce)] + [
        threading.Thread(target=consume, args=(k,)) for k in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    for events in results.values():
        ids = [int(e["id"]) for e in events]
        assert ids == sorted(set(ids)) and len(ids) == n_rows
        steps = [p["step"] for e in events for p in e["data"]["points"]]
        assert steps == list(range(2 * n_rows))
    assert len(results) == 8


def test_live_events_follow(server, make_poc, sessions, settings, owner):
    poc = make_poc()
    run_id = poc["runs"][0]["id"]
    with httpx.Client(base_url=server, timeout=10, headers=owner.headers) as http:
        with http.stream(
            "GET", f"/api/pocs/{poc['id']}/events", params={"after": poc["last_event_seq"]}
        ) as response:

            def produce():
                time.sleep(0.5)  # the stream is waiting by now
                add_event(sessions, poc["id"], "run", {"id": run_id, "state": "running"}, run_id)
                publish(settings, poc["id"])  # wakes the stream at once where Redis is configured

            producer = threading.Thread(target=produce)
            started = time.monotonic()
            producer.start()
            event = read_events(response, 1)[0]
            waited = time.monotonic() - started
            producer.join()
    assert (event["event"], event["data"]["state"]) == ("run", "running")
    assert waited < 3.0  # Redis wake-up or the 0.1 s poll, not the 5 s safety poll


def test_events_of_unknown_poc_or_bad_resume_point(server, make_poc, owner):
    with httpx.Client(base_url=server, timeout=10, headers=owner.headers) as http:
        response = http.get("/api/pocs/00000000-0000-0000-0000-000000000000/events")
        assert response.status_code == 404
        assert response.json() == {"detail": "PoC 00000000-0000-0000-0000-000000000000 not found"}
        poc = make_poc()
        response = http.get(f"/api/pocs/{poc['id']}/events", headers={"Last-Event-ID": "abc"})
        assert response.status_code == 422
        assert response.json()["detail"]["errors"] == [
            {"row": None, "field": "Last-Event-ID", "problem": "'abc' is not an event id of this stream"}
        ]


def test_idle_stream_sends_heartbeat_comments(server, make_poc, monkeypatch, owner):
    # FastAPI sends ": ping" after _PING_INTERVAL idle seconds (15 s in production); shorten it here.
    import fastapi.routing

    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.3)
    poc = make_poc()
    with httpx.Client(base_url=server, timeout=10, headers=owner.headers) as http:
        with http.stream(
            "GET", f"/api/pocs/{poc['id']}/events", params={"after": poc["last_event_seq"]}
        ) as response:
            lines = response.iter_lines()
            seen = [next(lines) for _ in range(6)]
    assert ": ping" in seen


def test_streams_of_one_poc_share_one_feed_and_one_redis_subscription(server, make_poc, settings, owner):
    """Five streams of one PoC: one feed in the process, one Redis subscriber; gone once they all close."""
    from contextlib import ExitStack

    from backend.api.routes.events import PocFeed
    from backend.events import channel

    poc = make_poc()
    name = channel(settings, poc["id"])

    def feeds() -> list[PocFeed]:
        return [f for f in list(PocFeed._feeds.values()) if f.poc_id == poc["id"]]

    def subscribers() -> int:
        import redis

        with redis.Redis.from_url(settings.redis_url) as client:
            return dict(client.pubsub_numsub(name)).get(name.encode(), 0)

    with ExitStack() as streams:
        http = streams.enter_context(httpx.Client(base_url=server, timeout=10, headers=owner.headers))
        readers = []  # kept: dropping a line iterator mid-stream would close its response
        for _ in range(5):
            response = streams.enter_context(http.stream("GET", f"/api/pocs/{poc['id']}/events"))
            readers.append(response.iter_lines())
            assert next(line for line in readers[-1] if line.startswith("data:"))  # joined and replaying
        assert len(feeds()) == 1 and len(feeds()[0].queues) == 5
        if settings.redis_url:
            assert subscribers() == 1
    deadline = time.monotonic() + 15
    while feeds() or (settings.redis_url and subscribers()):
        assert time.monotonic() < deadline, "the feed outlived its last stream"
        time.sleep(0.1)


def test_a_stream_that_falls_too_far_behind_is_cut_off_and_the_others_get_everything(monkeypatch, settings):
    import asyncio

    from backend.api.routes import events

    monkeypatch.setattr(events, "STREAM_BACKLOG_ROWS", 4)

    async def scenario() -> tuple[list, list, bool]:
        feed = events.PocFeed(settings, "poc-x", ("test", "poc-x", ""))
        reader, stalled = asyncio.Queue(maxsize=5), asyncio.Queue(maxsize=5)
        feed.queues |= {reader, stalled}
        got = []
        for seq in range(1, 11):  # ten batches; ``reader`` takes each one at once, ``stalled`` never does
            feed.deliver([(seq, "metric", {"seq": seq})])
            got.append(reader.get_nowait())
        left = [stalled.get_nowait() for _ in range(stalled.qsize())]
        return got, left, stalled in feed.queues

    got, left, still_fed = asyncio.run(scenario())
    assert [seq for seq, _, _ in got] == list(range(1, 11))
    assert left == [None]  # emptied down to the end mark: the stream ends and its browser resumes
    assert not still_fed
