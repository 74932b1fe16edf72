"""Server-sent events of a PoC: run state changes and batches of metric points, in order, resumable.

A stream first replays ``poc_events`` after its resume point from the database, then follows new rows
from the process's shared feed of the PoC (``PocFeed``): whatever the number of streams of one PoC in one
API process, one task per PoC holds ONE Redis subscription (``backend.events.channel``) and does ONE
database fetch per wake-up (or polls the table every ``events_poll_s`` without Redis), and hands the new
rows to every stream's queue. A stream joins the feed BEFORE its replay and drops feed rows it already
replayed, so nothing is lost between replay and live, and nothing comes twice. The feed starts with its
first stream and stops when the last one leaves. An open stream checks its caller's access again every
``events_access_recheck_s`` and ends when it is gone; a user holds at most ``max_event_streams_per_user``
streams per process. A stream more than ``STREAM_BACKLOG_ROWS`` behind (a
client reading slower than the runs write) is ended; its browser resumes from the database. FastAPI sends
a ``: ping`` comment whenever the stream is idle for 15 s, and ends the generator when the client goes
away.

Ids: every event has id ``"<seq>"`` of its ``poc_events`` row. A ``run`` event carries RunPublic; a
``poc`` event the PoC's stored state ``{"id", "state"}``; a ``metric`` event one stored batch,
``{"run_id", "points": [{"step", "elapsed_s", "forward_passes", "values"}, …]}``. A browser resending the
id as ``Last-Event-ID`` resumes after that row. Clients that loaded the PoC first can start at ``?after=<last_event_seq of PocPublic>`` instead of
replaying the whole history.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, ClassVar

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from backend.api.deps import AccessDep, PocDep, SessionDep
from backend.api.errors import field_problem
from backend.auth.policy import authorize
from backend.core.config import Settings, get_settings
from backend.db.models import Poc, PocEvent
from backend.db.session import make_sessionmaker
from backend.errors import LimitReached
from backend.events import channel, events_after

log = logging.getLogger(__name__)

router = APIRouter(tags=["events"])

_RESUME = re.compile(r"^\s*(\d{1,19})\s*$")
# Event seqs are BIGINT: a resume point above this would make the database query fail mid-stream.
MAX_SEQ = 2**63 - 1
# With Redis a lost wake-up is still caught by a poll at this interval.
_REDIS_FALLBACK_POLL_S = 5.0
# How often a stream waiting on its feed checks whether the client is still there.
_DISCONNECT_CHECK_S = 5.0
# Rows (stored batches) a stream may fall behind its feed. A client that reads slower than the runs write
# is cut off beyond this instead of having every row kept for it in memory; its browser reconnects with
# Last-Event-ID and catches up from the database, so nothing is lost.
STREAM_BACKLOG_ROWS = 256

Row = tuple[int, str, dict]


def parse_resume(value: str) -> int:
    """``"12"`` -> 12: resume after event 12."""
    match = _RESUME.match(value)
    if match is None:
        raise field_problem("Last-Event-ID", f"{value!r} is not an event id of this stream")
    seq = int(match.group(1))
    if seq > MAX_SEQ:
        raise field_problem("Last-Event-ID", f"{value!r} is not an event id of this stream (too large)")
    return seq


def _fetch(poc_id: str, after_seq: int) -> list[Row]:
    with make_sessionmaker()() as session:
        return [(e.seq, e.kind, e.payload) for e in events_after(session, poc_id, after_seq)]


def _head(poc_id: str) -> int:
    with make_sessionmaker()() as session:
        return (
            session.scalar(
                sa.select(sa.func.coalesce(sa.func.max(PocEvent.seq), 0)).where(PocEvent.poc_id == poc_id)
            )
            or 0
        )


def _to_sse(seq: int, kind: str, payload: dict) -> ServerSentEvent:
    """One event per row, its payload as stored."""
    return ServerSentEvent(event=kind, id=str(seq), raw_data=json.dumps(payload))


class _Waker:
    """Waits for 'something new may be there': a Redis message, or the poll interval."""

    def __init__(self, settings: Settings, poc_id: str):
        self.settings, self.poc_id = settings, poc_id
        self.client: Any = None  # redis.asyncio.Redis once connected
        self.pubsub: Any = None

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
            message = await self.pubsub.get_message(timeout=_REDIS_FALLBACK_POLL_S)
            # Drain what else queued up meanwhile: one fetch answers all of those announcements.
            while message is not None:
                message = await self.pubsub.get_message(timeout=0)
        except Exception:
            self.pubsub = None  # connection lost: poll from now on
            await asyncio.sleep(self.settings.events_poll_s)


class PocFeed:
    """The shared live feed of one PoC in this process: one task, one subscription, one fetch per wake-up.

    Every row with seq > ``head`` that the feed fetches goes to every subscriber queue present then, and
    ``head`` moves on in the same step, so a stream that joins and then replays from the database (which
    sees every row up to ``head``) misses nothing.
    """

    _feeds: dict[tuple[int, str, str], PocFeed] = {}

    def __init__(self, settings: Settings, poc_id: str, key: tuple[int, str, str]):
        self.settings, self.poc_id, self.key = settings, poc_id, key
        self.queues: set[asyncio.Queue[Row | None]] = set()  # None: the feed died
        self.head = 0
        self.ready = asyncio.Event()  # set once subscribed and ``head`` read
        self.task: asyncio.Task | None = None

    @classmethod
    def join(cls, settings: Settings, poc_id: str) -> tuple[PocFeed, asyncio.Queue[Row | None]]:
        # Keyed by event loop too: a feed's task belongs to the loop that started it.
        key = (id(asyncio.get_running_loop()), channel(settings, poc_id), str(settings.database_url))
        feed = cls._feeds.get(key)
        if feed is None or feed.task is None or feed.task.done():  # none yet, or one that died
            feed = cls._feeds[key] = PocFeed(settings, poc_id, key)
            feed.task = asyncio.create_task(feed._run(), name=f"poc-feed-{poc_id}")
        queue: asyncio.Queue[Row | None] = asyncio.Queue(maxsize=STREAM_BACKLOG_ROWS + 1)  # + the end mark
        feed.queues.add(queue)
        return feed, queue

    def leave(self, queue: asyncio.Queue[Row | None]) -> None:
        self.queues.discard(queue)
        if not self.queues:
            if self._feeds.get(self.key) is self:
                del self._feeds[self.key]
            if self.task is not None:
                self.task.cancel()

    def deliver(self, rows: list[Row]) -> None:
        """Hand ``rows`` to every stream; a stream more than ``STREAM_BACKLOG_ROWS`` behind is cut off: its
        queue is emptied down to the end mark and it gets nothing more from this feed."""
        for queue in list(self.queues):
            if queue.qsize() + len(rows) <= STREAM_BACKLOG_ROWS:
                for row in rows:
                    queue.put_nowait(row)
                continue
            self.queues.discard(queue)
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
            log.info(
                "events of PoC %s: a stream fell %d rows behind and was cut off (it resumes)",
                self.poc_id,
                STREAM_BACKLOG_ROWS,
            )

    async def _run(self) -> None:
        try:
            await self._follow()
        except asyncio.CancelledError:
            raise
        except BaseException:
            log.exception(
                "events feed of PoC %s died; its streams end and their browsers reconnect", self.poc_id
            )
            for queue in self.queues:
                queue.put_nowait(None)
            self.ready.set()  # streams still waiting for the head replay, then see the end
            raise

    async def _follow(self) -> None:
        async with _Waker(self.settings, self.poc_id) as waker:  # subscribe first, then read the head
            while True:
                try:
                    self.head = await run_in_threadpool(_head, self.poc_id)
                    self.ready.set()
                    break
                except Exception:
                    log.exception("events feed of PoC %s: reading the head failed", self.poc_id)
                    await asyncio.sleep(self.settings.events_poll_s)
            while self.queues:
                try:
                    rows = await run_in_threadpool(_fetch, self.poc_id, self.head)
                except Exception:
                    log.exception("events feed of PoC %s: fetch failed, retrying", self.poc_id)
                    await asyncio.sleep(self.settings.events_poll_s)
                    continue
                if rows:
                    self.deliver(rows)
                    self.head = rows[-1][0]
                else:
                    await waker.wait()


class StreamSlots:
    """Event streams open per user in this process: a user may hold ``max_event_streams_per_user``."""

    open: ClassVar[dict[str, int]] = {}

    @classmethod
    def take(cls, user_id: str, cap: int) -> None:
        if cls.open.get(user_id, 0) >= cap:
            raise LimitReached(
                "event_streams",
                f"too many open event streams: at most {cap} per user; close some dashboard tabs",
            )
        cls.open[user_id] = cls.open.get(user_id, 0) + 1

    @classmethod
    def give_back(cls, user_id: str) -> None:
        left = cls.open.get(user_id, 0) - 1
        if left > 0:
            cls.open[user_id] = left
        else:
            cls.open.pop(user_id, None)


async def stream_slot(access: AccessDep) -> AsyncIterator[None]:
    """Hold one of the caller's event-stream slots for as long as the stream is open."""
    user_id = access.signed_in.id
    StreamSlots.take(user_id, get_settings().max_event_streams_per_user)
    try:
        yield
    finally:
        StreamSlots.give_back(user_id)


def _access_lost(request: Request, poc_id: str) -> bool:
    """Whether the stream's caller may no longer read the PoC: the route's access check again (the
    session or token still valid, the user enabled, still a member), and the PoC not deleted."""
    settings = get_settings()
    with make_sessionmaker()() as session:
        try:
            authorize(request, session, settings)
        except HTTPException:
            return True
        poc = session.get(Poc, poc_id)
        return poc is None or poc.deleted_at is not None


async def access_lost(request: Request, poc_id: str) -> bool:
    try:
        return await run_in_threadpool(_access_lost, request, poc_id)
    except Exception:  # the database is away: the stream's own feed waits for it too; check again later
        log.warning("events of PoC %s: the access check could not run", poc_id, exc_info=True)
        return False


def existing_poc_id(poc: PocDep, session: SessionDep) -> str:
    """``poc_id`` if that PoC exists (checked before the stream starts, so a 404 is a real 404)."""
    # The access check loaded the PoC already (no query here); ending the transaction anyway makes sure
    # the stream never holds a pooled connection for its whole life.
    session.commit()
    return poc.id


def resume_point(
    last_event_id: Annotated[str | None, Header(description="resume after this event id")] = None,
    after: Annotated[
        int | None, Query(ge=0, le=MAX_SEQ, description="start after this event seq (if no Last-Event-ID)")
    ] = None,
) -> int:
    """The seq after which to replay."""
    if last_event_id:
        return parse_resume(last_event_id)
    return after or 0


def _json_error(description: str, schema: str) -> dict:
    # Errors of this route are JSON, not events: name the media type, or OpenAPI files them under SSE.
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


@router.get(
    "/pocs/{poc_id}/events",
    response_class=EventSourceResponse,
    responses={
        404: _json_error("no such PoC", "Message"),
        422: _json_error("the resume point is not an event id", "ValidationProblem"),
        429: _json_error("too many open event streams of this user", "ValidationProblem"),
    },
    summary="Live events of a PoC (server-sent events, resumable with Last-Event-ID)",
    description="Events `run` (data = RunPublic), `poc` (data = `{id, state}` when the PoC's state "
    "changes) and `metric` (data = one stored batch of points of one run: `{run_id, points: "
    "[{step, elapsed_s, forward_passes, values}]}`), id = the event seq. Replays what the "
    "client has not seen, then follows live.",
)
async def poc_events(
    poc_id: Annotated[str, Depends(existing_poc_id)],
    resume: Annotated[int, Depends(resume_point)],
    request: Request,
    _slot: Annotated[None, Depends(stream_slot)],
) -> AsyncIterator[ServerSentEvent]:
    settings = get_settings()
    last_seq = resume
    checked_at = time.monotonic()
    feed, queue = PocFeed.join(settings, poc_id)  # join first: nothing slips between replay and live
    try:
        yield ServerSentEvent(comment="zopoc events", retry=2000)
        await feed.ready.wait()
        # Replay from the database up to (at least) the feed's head; the feed has everything after it.
        while True:
            rows = await run_in_threadpool(_fetch, poc_id, last_seq)
            for seq, kind, payload in rows:
                yield _to_sse(seq, kind, payload)
                last_seq = seq
            if not rows or last_seq >= feed.head:
                break
        wait_s = min(_DISCONNECT_CHECK_S, settings.events_access_recheck_s)
        while not await request.is_disconnected():
            if time.monotonic() - checked_at >= settings.events_access_recheck_s:
                # Access was checked when the stream opened; signing out, leaving the workspace or being
                # disabled must end a stream that is already open, within seconds.
                if await access_lost(request, poc_id):
                    log.info("events of PoC %s: the caller lost access; the stream ends", poc_id)
                    return
                checked_at = time.monotonic()
            try:
                row = await asyncio.wait_for(queue.get(), timeout=wait_s)
            except TimeoutError:
                continue
            arrived = [row]
            while not queue.empty():
                arrived.append(queue.get_nowait())
            feed_died = None in arrived  # then end the stream: the browser resumes with Last-Event-ID
            rows = [r for r in (arrived[: arrived.index(None)] if feed_died else arrived) if r is not None]
            for seq, kind, payload in rows:
                if seq <= last_seq:
                    continue  # already replayed
                yield _to_sse(seq, kind, payload)
                last_seq = seq
            if feed_died:
                return
    finally:
        feed.leave(queue)
