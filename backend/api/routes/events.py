"""Server-sent events of a PoC: run state changes and new metric points, in order, resumable.

The stream replays ``poc_events`` after the resume point, then follows new rows, woken by Redis pub/sub
(``backend.events.channel``) or by polling the table every ``events_poll_s`` without Redis. FastAPI
sends a ``: ping`` comment whenever the stream is idle for 15 s, and ends the generator when the client
goes away.

Ids: a ``run`` event has id ``"<seq>"``. A ``metric`` row holds a batch of points; they go out as one
event per point (``{"run_id", "step", "elapsed_s", "forward_passes", "values"}``) with ids
``"<seq>.<i>"``, the last point of the batch with the plain ``"<seq>"``. A browser resending any of these
as ``Last-Event-ID`` resumes exactly after the point it last saw. Clients that loaded the PoC first
can start at ``?after=<last_event_seq of PocPublic>`` instead of replaying the whole history.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from backend.api.errors import field_problem
from backend.core.config import Settings, get_settings
from backend.db.models import Poc
from backend.db.session import make_sessionmaker
from backend.events import channel, events_after

router = APIRouter(tags=["events"])

_RESUME = re.compile(r"^\s*(\d{1,19})(?:\.(\d{1,9}))?\s*$")
# Event seqs are BIGINT: a resume point above this would make the database query fail mid-stream.
MAX_SEQ = 2**63 - 1
# With Redis a lost wake-up is still caught by a poll at this interval.
_REDIS_FALLBACK_POLL_S = 5.0


def parse_resume(value: str) -> tuple[int, int]:
    """``"12"`` -> (12, -1): after event 12. ``"12.3"`` -> (11, 3): inside batch 12, after its point 3."""
    match = _RESUME.match(value)
    if match is None:
        raise field_problem("Last-Event-ID", f"{value!r} is not an event id of this stream")
    seq = int(match.group(1))
    if seq > MAX_SEQ:
        raise field_problem("Last-Event-ID", f"{value!r} is not an event id of this stream (too large)")
    if match.group(2) is None:
        return seq, -1
    return seq - 1, int(match.group(2))


def _fetch(poc_id: str, after_seq: int) -> list[tuple[int, str, dict]]:
    with make_sessionmaker()() as session:
        return [(e.seq, e.kind, e.payload) for e in events_after(session, poc_id, after_seq)]


def _poc_exists(poc_id: str) -> bool:
    with make_sessionmaker()() as session:
        poc = session.get(Poc, poc_id)
        return poc is not None and poc.deleted_at is None


def _to_sse(seq: int, kind: str, payload: dict, skip_points: int) -> list[ServerSentEvent]:
    if kind != "metric":
        return [ServerSentEvent(event=kind, id=str(seq), raw_data=json.dumps(payload))]
    points = payload.get("points", [])
    out = []
    for i, point in enumerate(points):
        if i <= skip_points:
            continue
        event_id = str(seq) if i == len(points) - 1 else f"{seq}.{i}"
        out.append(ServerSentEvent(event="metric", id=event_id,
                                   raw_data=json.dumps({"run_id": payload.get("run_id"), **point})))
    return out


class _Waker:
    """Waits for 'something new may be there': a Redis message, or the poll interval."""

    def __init__(self, settings: Settings, poc_id: str):
        self.settings, self.poc_id = settings, poc_id
        self.client = self.pubsub = None

    async def __aenter__(self) -> _Waker:
        if self.settings.redis_url:
            try:
                import redis.asyncio as aioredis

                self.client = aioredis.Redis.from_url(self.settings.redis_url, socket_connect_timeout=2)
                self.pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                await self.pubsub.subscribe(channel(self.settings, self.poc_id))
            except Exception:  # Redis down: fall back to polling, the stream stays correct
                await self.__aexit__()
                self.client = self.pubsub = None
        return self

    async def __aexit__(self, *_exc) -> None:
        if self.pubsub is not None:
            try:
                await self.pubsub.aclose()
            except Exception:
                pass
        if self.client is not None:
            try:
                await self.client.aclose()
            except Exception:
                pass

    async def wait(self) -> None:
        if self.pubsub is None:
            await asyncio.sleep(self.settings.events_poll_s)
            return
        try:
            await self.pubsub.get_message(timeout=_REDIS_FALLBACK_POLL_S)
        except Exception:
            self.pubsub = None  # connection lost: poll from now on
            await asyncio.sleep(self.settings.events_poll_s)


async def existing_poc_id(poc_id: str) -> str:
    """``poc_id`` if that PoC exists (checked before the stream starts, so a 404 is a real 404)."""
    if not await run_in_threadpool(_poc_exists, poc_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"PoC {poc_id} not found")
    return poc_id


def resume_point(
    last_event_id: Annotated[str | None, Header(description="resume after this event id")] = None,
    after: Annotated[int | None, Query(
        ge=0, le=MAX_SEQ, description="start after this event seq (if no Last-Event-ID)")] = None,
) -> tuple[int, int]:
    """(seq after which to replay, points of the next batch already seen - 1)."""
    if last_event_id:
        return parse_resume(last_event_id)
    return (after or 0), -1


def _json_error(description: str, schema: str) -> dict:
    # Errors of this route are JSON, not events: name the media type, or OpenAPI files them under SSE.
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


@router.get(
    "/pocs/{poc_id}/events", response_class=EventSourceResponse,
    responses={404: _json_error("no such PoC", "Message"),
               422: _json_error("the resume point is not an event id", "ValidationProblem")},
    summary="Live events of a PoC (server-sent events, resumable with Last-Event-ID)",
    description="Events `run` (data = RunPublic) and `metric` (data = one point of one run). Replays what "
                "the client has not seen, then follows live.",
)
async def poc_events(
    poc_id: Annotated[str, Depends(existing_poc_id)],
    resume: Annotated[tuple[int, int], Depends(resume_point)],
    request: Request,
) -> AsyncIterator[ServerSentEvent]:
    settings = get_settings()
    last_seq, skip_points = resume
    async with _Waker(settings, poc_id) as waker:  # subscribe first: nothing slips between replay and wait
        yield ServerSentEvent(comment="zopoc events", retry=2000)
        while not await request.is_disconnected():
            rows = await run_in_threadpool(_fetch, poc_id, last_seq)
            for seq, kind, payload in rows:
                for event in _to_sse(seq, kind, payload, skip_points):
                    yield event
                last_seq, skip_points = seq, -1
            if not rows:
                await waker.wait()
