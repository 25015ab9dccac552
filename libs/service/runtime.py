"""What a running service holds: settings, its NATS connection, store, database and runners."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.config.settings import Settings
from libs.events.projection import Projection, ProjectionGroup, ProjectionRunner
from libs.events.store import EventStore
from libs.web.middleware import InFlight

Background = Callable[["ServiceRuntime"], Awaitable[None]]


@dataclass
class ServiceRuntime:
    name: str
    settings: Settings
    nc: NATS
    store: EventStore
    engine: AsyncEngine
    signing_key: str
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)
    groups: list[ProjectionGroup] = field(default_factory=list)  # the read models' shared consumers
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)
    # Idempotency records: on SQLite a file of its own (libs/db/engine.py ``companion_url``).
    requests_engine: AsyncEngine | None = None
    # The commands being answered: the read models' batches let them go first (libs/web/middleware.py).
    inflight: InFlight | None = None

    def runner(self, projection: type[Projection] | str) -> ProjectionRunner:
        name = projection if isinstance(projection, str) else projection.name
        return self.runners[name]

    def reading(self) -> contextlib.AbstractContextManager[None]:
        """Around a wait for the read models: their next batch goes at once, without waiting for commands."""
        return self.inflight.reading() if self.inflight is not None else contextlib.nullcontext()

    async def caught_up(self, positions: dict[str, int], timeout: float) -> bool:
        """Wait until every runner reading one of ``positions``' streams has reached it."""
        waits = [
            r.wait_for(stream, seq, timeout)
            for r in self.runners.values()
            for stream, seq in positions.items()
            if stream in r.streams
        ]
        if not waits:
            return True
        with self.reading():
            return all(await asyncio.gather(*waits))
