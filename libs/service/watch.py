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

A wave (hundreds of items due at once, each its own aggregate) goes faster through ``act_many``
when the service gives one: it loads and decides many items and appends them together
(``libs/events/batch.py``: a few atomic batches instead of one acknowledged publish per item),
in chunks of ``chunk`` items, up to four chunks in flight so that some load while others are stored.
An item it answers ``None`` for (its batch was refused: another instance got there first, or a
retry) is acted on alone with ``act``, which reloads and decides again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from libs.events.envelope import Actor
from libs.events.errors import ConcurrencyConflict
from libs.events.store import CommandMeta
from libs.runtime.collector import quiet_collector

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
# Many items at once: per item True (appended), False (nothing to raise) or None (act on it alone).
ActMany = Callable[[list[tuple[Due, CommandMeta]]], Awaitable[list[bool | None]]]
CHUNK = 250  # items per ``act_many`` call
CHUNKS_IN_FLIGHT = 4


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
        act_many: ActMany | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self.name = name
        self.find_due = find_due
        self.act = act
        self.act_many = act_many
        self.chunk = chunk
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

        items = await self.find_due(now, self.batch)
        if self.act_many is not None and items:
            with quiet_collector() if len(items) > self.chunk else contextlib.nullcontext():
                together = await self._many(items, now)
            alone = [item for item, r in zip(items, together, strict=True) if r is None]
            results = [r for r in together if r] + list(await asyncio.gather(*(one(i) for i in alone)))
        else:
            results = list(await asyncio.gather(*(one(item) for item in items)))
        appended = sum(1 for r in results if r)
        self.raised += appended
        return appended

    async def _many(self, items: list[Due], now: datetime) -> list[bool | None]:
        """``act_many`` over chunks of the items, ``CHUNKS_IN_FLIGHT`` at once; results in order."""
        assert self.act_many is not None
        act_many = self.act_many
        slots = asyncio.Semaphore(CHUNKS_IN_FLIGHT)

        async def chunk(part: list[Due]) -> list[bool | None]:
            async with slots:
                return await act_many([(item, due_meta(self.name, item, now)) for item in part])

        parts = [items[i : i + self.chunk] for i in range(0, len(items), self.chunk)]
        return [r for got in await asyncio.gather(*(chunk(p) for p in parts)) for r in got]

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watch.tick_failed", watcher=self.name)
            await asyncio.sleep(self.interval)
