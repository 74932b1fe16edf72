"""What a request may send, decided before the application reads a byte of its body.

FastAPI reads a route's JSON or form body before it runs the route's dependencies, and the access check
(``backend.auth.policy``) is a dependency: without this guard an anonymous client could make the server
spool a multipart body of any size to disk, or hold a JSON body in memory, before answering 401. So, in
front of the whole app:

- every request gets the body limit of the route it is for (uploads: the upload limit, everything else:
  ``max_body_kb``): a declared ``Content-Length`` over it is answered 413 at once, and the bytes actually
  streamed (a chunked body declares no length) are counted by Starlette's ``RequestBodyLimitResponder``;
- a request that carries a body to a route that is not public must show valid credentials (and, with a
  session cookie, its CSRF header) first; otherwise it is refused at once, its body unread, and the
  connection closed so the server never has to drain it.

Why this module is our own: the size limit itself is Starlette's; choosing it per route and checking the
caller first need the route table and the access rules of this app, which no general middleware knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi import HTTPException
from fastapi.params import File
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY, RequestBodyLimitResponder
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from backend.auth.policy import Rule, api_routes, authenticate
from backend.core.config import Settings
from backend.db.session import make_sessionmaker

# Multipart framing around an uploaded file (boundaries, part headers, the small form fields).
MULTIPART_SLACK_BYTES = 64 * 1024


@dataclass(frozen=True)
class _RouteLimit:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    rule: Rule | None
    max_body_bytes: int


def _takes_files(route) -> bool:
    dependant = getattr(route, "dependant", None)
    return any(isinstance(param.field_info, File) for param in getattr(dependant, "body_params", []))


def body_limits(app, settings: Settings) -> list[_RouteLimit]:
    """Every API route with its access rule and the largest body it accepts."""
    rules = getattr(app.state, "access_rules", {})
    limits = []
    for info in api_routes(app):
        largest = (
            settings.max_upload_bytes + MULTIPART_SLACK_BYTES
            if _takes_files(info.route)
            else settings.max_body_bytes
        )
        limits.append(
            _RouteLimit(compile_path(info.path)[0], info.methods, rules.get(id(info.route)), largest)
        )
    return limits


def body_size_refusal(scope: Scope) -> dict:
    """The 413 answer's body, naming the limit that applied (``scope`` of the refused request)."""
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    if limit is None:
        return {"detail": "the request body is too large"}
    return {"detail": f"the request body is larger than this route's limit of {limit / 1024:g} KiB"}


class RequestGuard:
    """ASGI middleware: per-route body limits, and the caller checked before a body is read."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._limits: list[_RouteLimit] | None = None

    def _route(self, scope: Scope) -> _RouteLimit | None:
        if self._limits is None:  # the app's routes and rules are complete once it serves
            self._limits = body_limits(scope["app"], self.settings)
        method, path = scope["method"], scope["path"]
        for limit in self._limits:
            if (
                method in limit.methods or (method == "HEAD" and "GET" in limit.methods)
            ) and limit.pattern.match(path):
                return limit
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = self._route(scope)
        largest = route.max_body_bytes if route is not None else self.settings.max_body_bytes
        if route is not None and route.rule is not None and route.rule.level != "public" and _has_body(scope):
            refusal = await run_in_threadpool(self._caller_refusal, scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        declared = _declared_length(scope)
        if declared is not None and declared > largest:
            scope[MAX_BODY_SIZE_SCOPE_KEY] = largest
            await JSONResponse(body_size_refusal(scope), status_code=413, headers={"Connection": "close"})(
                scope, receive, send
            )
            return
        await RequestBodyLimitResponder(self.app, largest)(scope, receive, send)

    def _caller_refusal(self, scope: Scope) -> JSONResponse | None:
        """The answer for a caller without valid credentials, or None when the caller is known."""
        request = Request(scope)
        with make_sessionmaker()() as session:
            try:
                authenticate(request, session, self.settings)
            except HTTPException as refused:
                headers = dict(refused.headers or {}) | {"Connection": "close"}
                return JSONResponse(
                    {"detail": refused.detail}, status_code=refused.status_code, headers=headers
                )
        return None


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def _has_body(scope: Scope) -> bool:
    return "transfer-encoding" in Headers(scope=scope) or bool(_declared_length(scope))
