"""One base URL for every service: routes ``/api/<context>`` to its app, like the production ingress,
and the web pages (``/``, ``/login``, ``/static`` …) to the service that serves them (``web_root``).

Each service keeps its own FastAPI app and lifespan; this runs their lifespans together and
answers the process-wide ``/healthz``, ``/readyz`` and ``/metrics``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

PROCESS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # answered for the whole process


class Gateway:
    def __init__(self, services: dict[str, FastAPI], fallback: ASGIApp) -> None:
        self.services = services
        self.fallback = fallback
        self._prefixes: list[tuple[str, FastAPI]] = []
        for name, app in services.items():
            self._prefixes.append((f"/api/{name}", app))
            for extra in getattr(app.state.definition, "extra_prefixes", ()):
                self._prefixes.append((extra, app))
        self._prefixes.sort(key=lambda p: -len(p[0]))
        webs = [app for app in services.values() if getattr(app.state.definition, "web_root", False)]
        self.web: ASGIApp | None = webs[0] if webs else None

    def route(self, path: str) -> ASGIApp:
        for prefix, app in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return app
        if self.web is not None and path not in PROCESS_PATHS and not path.startswith("/api/"):
            return self.web
        return self.fallback

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in self.services.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self.route(scope.get("path", "/"))(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        try:
            async with self.lifespan():
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
                assert message["type"] == "lifespan.shutdown"
        except BaseException as exc:
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.failed", "message": f"{type(exc).__name__}: {exc}"})
                raise
            await send({"type": "lifespan.shutdown.failed", "message": str(exc)})
            raise
        await send({"type": "lifespan.shutdown.complete"})
