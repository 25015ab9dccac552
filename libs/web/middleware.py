"""Pure ASGI middleware: correlation ids, request logs and metrics (cheap on the hot path)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.observability.metrics import HTTP_LATENCY, HTTP_REQUESTS

log = structlog.get_logger("web.request")
CORRELATION_HEADER = b"x-correlation-id"


class InFlight:
    """Commands being answered now, so that background work (the read models' batches) lets them go first.

    A batch waits while commands are being answered and while they keep coming (one answered less
    than ``gap`` seconds ago: a client sending one after another), at most ``longest`` seconds; so
    a steady stream of commands meets one batch of the read models per ``longest`` instead of one
    per command, each a transaction with its checkpoints. A request waiting for the read models
    (read-your-writes, a reference not yet read) lets the batch go at once.
    """

    MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, gap: float = 0.01) -> None:
        self.count = 0
        self.gap = gap
        self.readers = 0  # requests waiting for the read models now
        self._last_done = float("-inf")
        self._changed = asyncio.Event()

    def enter(self) -> None:
        self.count += 1

    def leave(self) -> None:
        self.count -= 1
        if self.count <= 0:
            self.count = 0
            self._last_done = time.monotonic()
            self._changed.set()

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """While a request waits for the read models, their batches wait for nothing."""
        self.readers += 1
        self._changed.set()
        try:
            yield
        finally:
            self.readers -= 1

    async def quiet(self, longest: float) -> None:
        """Return when no command is being answered nor was in the last ``gap`` seconds, when a
        request waits for the read models, or after ``longest`` seconds."""
        deadline = time.monotonic() + longest
        while not self.readers:
            now = time.monotonic()
            if now >= deadline:
                return
            wait = deadline - now
            if not self.count:
                pause = self._last_done + self.gap - now
                if pause <= 0:
                    return
                wait = min(wait, pause)
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), wait)


class RequestContext:
    def __init__(self, app: ASGIApp, service: str, inflight: InFlight | None = None) -> None:
        self.app = app
        self.service = service
        self.inflight = inflight

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

        html = HtmlHeaders(send)

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-correlation-id", correlation.encode()),
                    *SECURITY_HEADERS,
                ]
            await html.send(message)

        counted = self.inflight is not None and scope["method"] in InFlight.MUTATING
        if counted:
            self.inflight.enter()  # type: ignore[union-attr]
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if counted:
                self.inflight.leave()  # type: ignore[union-attr]
            route: Any = scope.get("route")
            path = getattr(route, "path", "unmatched")
            elapsed = time.perf_counter() - started
            HTTP_REQUESTS.labels(self.service, scope["method"], path, str(status)).inc()
            HTTP_LATENCY.labels(self.service, scope["method"], path).observe(elapsed)
            if status >= 400 or scope["method"] != "GET":
                log.info("http.request", method=scope["method"], route=path, status=status, ms=round(elapsed * 1e3, 2))


SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Our own pages (the dashboard, the workbench) use no inline style either: they send this policy
# themselves, and the middleware then adds none of its own (one header, the stricter policy).
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def content_security_policy(body: bytes) -> bytes:
    """The page's CSP: scripts from this origin only, an inline script only by its SHA-256."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(m.group(1)).digest()).decode()}'"
        for m in _INLINE_SCRIPT.finditer(body)
    )
    return CSP.format(hashes=hashes).encode()


class HtmlHeaders:
    """Holds an HTML response until its body is complete, to add the CSP with its inline scripts' hashes
    (unless the app set its own)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._start: Message | None = None
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            ctype = dict(message.get("headers", [])).get(b"content-type", b"")
            if ctype.startswith(b"text/html"):
                self._start = message
                return
        elif message["type"] == "http.response.body" and self._start is not None:
            self._body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(self._body)
            start, self._start = self._start, None
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            if not any(k == b"content-security-policy" for k, _ in headers):  # a page's own policy stands
                headers.append((b"content-security-policy", content_security_policy(body)))
            headers.append((b"content-length", str(len(body)).encode()))
            await self._send({**start, "headers": headers})
            await self._send({"type": "http.response.body", "body": body})
            return
        await self._send(message)
