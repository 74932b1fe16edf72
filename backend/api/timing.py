"""``Server-Timing: app;dur=<ms>`` on every HTTP answer: how long the server took until the response began.

Browsers show it in their developer tools, and ``benchmarks/load.py`` sets it beside the latency it sees
itself: the difference is time spent in queues before the application ran or in the client. A plain ASGI
middleware (not ``BaseHTTPMiddleware``) so a streaming answer is not buffered and the cost is a clock
read and one header.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerTimingMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={elapsed_ms:.1f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_timing)
