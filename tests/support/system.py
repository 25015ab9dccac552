"""Running services for tests: real HTTP on a free port, real NATS, a real database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import uvicorn

from libs.auth.actor import Principal
from libs.auth.tokens import issue, signing_key
from libs.config.settings import Settings
from libs.runtime.embedded import build_gateway
from libs.runtime.nats_server import free_port
from renda import registry


@dataclass
class System:
    settings: Settings
    base_url: str
    client: httpx.AsyncClient

    def token(self, role: str, jurisdiction: str, **kw: str | None) -> str:
        p = Principal(
            subject=kw.pop("subject", None) or f"test:{role}:{jurisdiction}",
            role=role,  # type: ignore[arg-type]
            jurisdiction=jurisdiction,
            **kw,
        )
        return issue(p, signing_key(self.settings.jwt_secret, self.settings.data_dir), timedelta(hours=1))

    def auth(self, role: str, jurisdiction: str, **kw: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, jurisdiction, **kw)}"}


@contextlib.asynccontextmanager
async def running_system(settings: Settings) -> AsyncIterator[System]:
    """Every available service behind one base URL, served by uvicorn over TCP."""
    gateway, _names = build_gateway(settings, registry.factories())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(gateway, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("the services exited during startup (see the log above)")
        await asyncio.sleep(0.02)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        try:
            yield System(settings, base, client)
        finally:
            server.should_exit = True
            await task
