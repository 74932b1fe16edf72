"""Liveness and readiness."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from backend.api.deps import SessionDep, SettingsDep
from backend.core.config import Settings
from backend.schemas import Health, Readiness, WorkerPublic, WorkersPublic
from backend.workers import device_kinds_of, live_workers, served_kinds, served_slots

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="The process is alive")
def health() -> Health:
    return Health()


def _check_broker(settings: Settings) -> str:
    """'ok' when the Celery broker (and Redis for live events, if set) answers, else 'unavailable'.

    Anyone may ask (load balancers do): the reason goes to the server's log, never into the answer."""
    from kombu import Connection

    try:
        with Connection(
            settings.broker_url, transport_options=settings.broker_transport_options(), connect_timeout=2
        ) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception:  # any failure means "not ready"
        log.warning("readiness: the broker does not answer", exc_info=True)
        return "unavailable"
    if settings.redis_url:
        import redis

        try:
            client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        except Exception:
            log.warning("readiness: Redis does not answer", exc_info=True)
            return "unavailable"
    return "ok"


@router.get(
    "/ready",
    response_model=Readiness,
    summary="The database and the broker answer",
    responses={503: {"model": Readiness, "description": "the database or the broker is not reachable"}},
)
def ready(session: SessionDep, settings: SettingsDep):
    try:
        session.execute(sa.text("SELECT 1"))
        database = "ok"
    except Exception:
        log.warning("readiness: the database does not answer", exc_info=True)
        database = "unavailable"
    body = Readiness(database=database, broker=_check_broker(settings))
    if body.database != "ok" or body.broker != "ok":
        return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content=body.model_dump())
    return body


@router.get(
    "/workers",
    response_model=WorkersPublic,
    summary="The workers online, how many serve each device kind, and how many runs they train at once",
    tags=["workers"],
)
def workers(session: SessionDep, settings: SettingsDep) -> WorkersPublic:
    online = live_workers(session, settings)
    return WorkersPublic(
        served=served_kinds(session, settings, online),
        slots=served_slots(settings, online),
        # Workers of another deployment sharing the database (another queue prefix) serve none of ours.
        data=[
            WorkerPublic(
                name=worker.name,
                device_kinds=kinds,
                slots=worker.slots,
                started_at=worker.started_at,
                last_seen_at=worker.last_seen_at,
            )
            for worker in online
            if (kinds := device_kinds_of(worker, settings))
        ],
    )
