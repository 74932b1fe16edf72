"""The FastAPI application: the API under ``settings.api_prefix`` and the built frontend at ``/``.

Run: ``uvicorn backend.api.main:app`` (after ``python -m backend.prestart`` migrated the database).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio.to_thread
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from backend.api.deps import authorize_request
from backend.api.errors import (
    INVALID,
    body_too_large_handler,
    database_unavailable_handler,
    domain_error_handler,
    nul_character_handler,
    request_validation_handler,
)
from backend.api.guard import RequestGuard
from backend.api.headers import SecurityHeadersMiddleware
from backend.api.routes.reports import share_router
from backend.api.sweeper import sweep_forever
from backend.api.timing import ServerTimingMiddleware
from backend.auth.policy import bind_rules
from backend.core.config import Settings, get_settings
from backend.errors import DomainError
from common.methods import load_method_plugins

log = logging.getLogger(__name__)

# Every router module under backend/api/routes: each defines `router = APIRouter(...)` with its own prefix
# and tags.
ROUTE_MODULES = (
    "health",
    "auth",
    "catalog",
    "datasets",
    "pocs",
    "runs",
    "metrics",
    "events",
    "estimates",
    "reports",
)


def _operation_id(route: APIRoute) -> str:
    """``{tag}-{name}``, so a generated client reads e.g. ``PocsService.create``."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def api_router() -> APIRouter:
    """One router holding every resource's router.

    Every route documents its 422 with the contract's body (``request_validation_handler`` reshapes
    FastAPI's own validation errors into it), instead of FastAPI's default schema.
    """
    # Every route checks the caller against its rule in backend.auth.policy (public, signed in, or a role).
    router = APIRouter(responses=INVALID, dependencies=[Depends(authorize_request)])
    for name in ROUTE_MODULES:
        router.include_router(importlib.import_module(f"backend.api.routes.{name}").router)
    return router


def _serve_frontend(app: FastAPI, dist: Path, api_prefix: str) -> None:
    """The built SPA at ``/``: files as they are, any other non-API path gets index.html."""
    index = dist / "index.html"
    root = dist.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    def spa(path: str) -> FileResponse:
        if ("/" + path).startswith(api_prefix + "/") or "/" + path == api_prefix:
            raise HTTPException(404, detail="Not Found")
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        return FileResponse(index, media_type="text/html")


def _include_share_page(app: FastAPI) -> None:
    """The read-only report share page ``/r/{token}`` lives at the root, outside the API prefix."""
    app.include_router(share_router, dependencies=[Depends(authorize_request)])


def _lifespan(settings: Settings):
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.api_threads:
            # Sync route handlers run on AnyIO's worker threads; fewer threads than requests in flight
            # queue the rest in order instead of having them all contend for the GIL.
            anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        sweeper = asyncio.create_task(sweep_forever(settings), name="zopoc-stale-run-sweep")
        try:
            yield
        finally:
            sweeper.cancel()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application from ``settings`` (default: the environment)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="zopoc",
        summary="Proof-of-concept fine-tuning: LOZO / MeZO zeroth-order optimisers beside an AdamW baseline",
        openapi_url=f"{settings.api_prefix}/openapi.json",
        docs_url=f"{settings.api_prefix}/docs",
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=_lifespan(settings),
    )
    load_method_plugins(settings.method_plugin_modules)
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_handler)
    # Lost or refused database connections (OperationalError) and an exhausted pool (TimeoutError).
    for error in (sa.exc.OperationalError, sa.exc.TimeoutError):
        app.add_exception_handler(error, database_unavailable_handler)
    app.add_exception_handler(sa.exc.DataError, nul_character_handler)
    app.add_exception_handler(413, body_too_large_handler)
    app.add_middleware(RequestGuard, settings=settings)
    app.add_middleware(ServerTimingMiddleware)
    app.add_middleware(SecurityHeadersMiddleware, policy_free_paths=(f"{settings.api_prefix}/docs",))
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    if settings.trusted_proxies:
        # Outermost: every part of the app sees the client and scheme the trusted proxy reported.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.include_router(api_router(), prefix=settings.api_prefix)
    _include_share_page(app)
    if unruled := bind_rules(app):
        raise RuntimeError(f"routes without an access rule in backend.auth.policy.RULES: {unruled}")
    if (settings.frontend_dist / "index.html").is_file():
        _serve_frontend(app, settings.frontend_dist, settings.api_prefix)
    return app


app = create_app()
