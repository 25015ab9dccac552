"""Pure ASGI middleware: correlation ids, request logs and metrics (cheap on the hot path)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("web.request")
CORRELATION_HEADER = b"x-correlation-id"


class RequestContext:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation = ""
        for k, v in scope["headers"]:
            if k == CORRELATION_HEADER:
                correlation = v.decode("latin-1")[:100]
                break
        correlation = correlation or str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(correlation_id=correlation)
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-correlation-id", correlation.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], path).observe(elapsed)
            if status >= 400 or scope["method"] != "GET":
                log.info("http.request", method=scope["method"], route=path, status=status, ms=round(elapsed * 1e3, 2))
