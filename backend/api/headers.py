"""Security headers on every answer: a Content Security Policy with ``frame-ancestors 'none'``,
``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and a few more, built with the ``secure``
library.

The dashboard (the built SPA) loads only its own scripts, styles and data from this origin; Plotly adds
inline ``style`` attributes, hence ``style-src 'unsafe-inline'`` (styles cannot run code). Report pages
carry inline scripts (the chart data and the code that draws it): their routes set a stricter policy of
their own with the SHA-256 of each of those scripts (``report_page_policy``), and this middleware keeps a
header a route set instead of replacing it. That is why it is our own few lines and not ``secure``'s
middleware, which overwrites every header it manages (and would also replace the report routes'
``Referrer-Policy`` and ``Cache-Control``).
"""

from __future__ import annotations

import base64
import hashlib
import re

import secure
from starlette.types import ASGIApp, Message, Receive, Scope, Send

APP_POLICY = (
    secure.ContentSecurityPolicy()
    .default_src("'self'")
    .script_src("'self'")
    .style_src("'self'", "'unsafe-inline'")
    .img_src("'self'", "data:", "blob:")
    .font_src("'self'", "data:")
    .connect_src("'self'")
    .object_src("'none'")
    .base_uri("'self'")
    .form_action("'self'")
    .frame_ancestors("'none'")
)

_HEADERS = secure.Secure(
    csp=APP_POLICY,
    xcto=secure.XContentTypeOptions(),
    xfo=secure.XFrameOptions().deny(),
    coop=secure.CrossOriginOpenerPolicy().same_origin(),
    permissions=secure.PermissionsPolicy().geolocation().microphone().camera(),
).headers

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", re.DOTALL)


def report_page_policy(html: str) -> str:
    """The CSP of a report page: its own inline scripts (by hash) and Plotly from this origin, nothing else."""
    hashes = [
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return (
        secure.ContentSecurityPolicy()
        .default_src("'none'")
        .script_src("'self'", *hashes)
        .style_src("'unsafe-inline'")
        .img_src("'self'", "data:", "blob:")
        .font_src("'self'", "data:")
        .connect_src("'none'")
        .base_uri("'none'")
        .form_action("'none'")
        .frame_ancestors("'none'")
        .header_value
    )


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP answer that does not already carry them.

    ``policy_free_paths``: pages that get every header but the CSP (FastAPI's interactive API docs load
    Swagger UI from a CDN with an inline script; they show no user data)."""

    def __init__(self, app: ASGIApp, policy_free_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in _HEADERS.items()
        ]
        self.without_policy = [h for h in self.headers if h[0] != b"content-security-policy"]
        self.policy_free_paths = policy_free_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = self.without_policy if scope["path"].startswith(self.policy_free_paths) else self.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers += [(name, value) for name, value in ours if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
