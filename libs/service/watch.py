"""Time-driven processes: raise what falls due, exactly once, across restarts and instances.

A service keeps a due-index read model (what is due when, updated by its projection from the
events) and gives the watcher two functions: ``find_due(now, limit)`` reads the index, and
``act(item, now)`` loads the aggregate, lets the domain decide (it decides nothing for what
was raised already) and appends. The command id derives from the item (kind, aggregate,
due time), so:
- a crash between decision and append, then a retry, yields the same event ids (de-duplicated,
  or recognised by the store as already stored);
- two instances deciding at once race on the aggregate's expected sequence: one appends, the
  other reloads and the domain decides nothing;
- the index lagging behind only means an item is looked at again and decides nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from libs.events.envelope import Actor
from libs.events.errors import ConcurrencyConflict
from libs.events.store import CommandMeta

log = structlog.get_logger("service.watch")
DUE_NS = uuid.UUID("7f0c2b9e-1d4a-4e8b-b6a3-2c9d8e7f6a51")


@dataclass(frozen=True)
class Due:
    kind: str  # e.g. "reply_overdue", "reply_reminder:P14D"
    aggregate_id: str
    due_at: datetime


def due_meta(watcher: str, item: Due, now: datetime) -> CommandMeta:
    key = f"{item.kind}/{item.aggregate_id}/{item.due_at.isoformat()}"
    command_id = str(uuid.uuid5(DUE_NS, key))
    return CommandMeta(actor=Actor.system(watcher), correlation_id=command_id, command_id=command_id, now=now)


Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


class DueWatcher:
    def __init__(
        self,
        name: str,
        find_due: Callable[[datetime, int], Awaitable[list[Due]]],
        act: Callable[[Due, CommandMeta], Awaitable[bool]],
        *,
        clock: Clock = utcnow,
        interval: float = 1.0,
        batch: int = 500,
        window: int = 32,
    ) -> None:
        self.name = name
        self.find_due = find_due
        self.act = act
        self.clock = clock
        self.interval = interval
        self.batch = batch
        self.window = window
        self.raised = 0

    async def tick(self) -> int:
        """Look once; return how many items led to an append.

        Items are acted on concurrently (a bounded window): each is its own aggregate, guarded by
        its expected sequence, so order between them does not matter.
        """
        now = self.clock()
        window = asyncio.Semaphore(self.window)

        async def one(item: Due) -> bool:
            async with window:
                for _attempt in range(3):
                    try:
                        return await self.act(item, due_meta(self.name, item, now))
                    except ConcurrencyConflict:
                        continue  # another instance or command got there first: reload, decide again
                return False

        results = await asyncio.gather(*(one(item) for item in await self.find_due(now, self.batch)))
        appended = sum(1 for r in results if r)
        self.raised += appended
        return appended

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watch.tick_failed", watcher=self.name)
            await asyncio.sleep(self.interval)
