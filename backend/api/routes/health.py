"""Liveness and readiness."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from backend.api.deps import SessionDep, SettingsDep
from backend.core.config import Settings
from backend.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, summary="The process is alive")
def health() -> Health:
    return Health()


def _check_broker(settings: Settings) -> str:
    """'ok' when the Celery broker (and Redis for live events, if set) answers; else the reason."""
    from kombu import Connection

    try:
        with Connection(settings.broker_url, transport_options=settings.broker_transport_options(),
                        connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any failure means "not ready"; say which
        return f"error: {exc.__class__.__name__}: {exc}"
    if settings.redis_url:
        import redis

        try:
            client = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        except Exception as exc:
            return f"error: redis: {exc}"
    return "ok"


@router.get("/ready", response_model=Readiness, summary="The database and the broker answer",
            responses={503: {"model": Readiness,
                             "description": "the database or the broker is not reachable"}})
def ready(session: SessionDep, settings: SettingsDep):
    try:
        session.execute(sa.text("SELECT 1"))
        database = "ok"
    except Exception as exc:
        database = f"error: {exc.__class__.__name__}"
    body = Readiness(database=database, broker=_check_broker(settings))
    if body.database != "ok" or body.broker != "ok":
        return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content=body.model_dump())
    return body
