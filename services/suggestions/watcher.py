"""The deadline watcher: reminders before a reply deadline, overdue replies, overdue B promises.

It finds due work in the due index (``projections/due.py``), never by scanning the stream, and lets
the domain decide (``clocks.decide_due``): exactly once each, because the domain decides
nothing for what was raised already and the command id derives from the item
(``libs/service/watch.py``): a retry after a crash between decision and append stores nothing
twice; two instances race on the aggregate's expected sequence and the loser decides nothing.
"""

from __future__ import annotations

import time
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.store import CommandMeta, EventStore
from libs.service.runtime import ServiceRuntime
from libs.service.watch import Clock, Due, DueWatcher, utcnow
from services.suggestions.commands.context import policy_of
from services.suggestions.domain import clocks
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import SUGGESTION
from services.suggestions.projections.tables import due, from_text, utc_text

log = structlog.get_logger("suggestions.watcher")
NAME = "suggestions-deadlines"
QUIET_FOR = 30.0  # seconds an item that decided nothing is left alone (the index catches up meanwhile)


class DeadlineWatcher:
    def __init__(
        self,
        store: EventStore,
        engine: AsyncEngine,
        policy: SuggestionPolicy,
        *,
        clock: Clock = utcnow,
        interval: float = 0.5,
        batch: int = 500,
    ) -> None:
        self.store = store
        self.engine = engine
        self.policy = policy
        self._quiet: dict[tuple[str, str, str], float] = {}
        self.watcher = DueWatcher(NAME, self.find_due, self.act, clock=clock, interval=interval, batch=batch)

    async def find_due(self, now: datetime, limit: int) -> list[Due]:
        q = (
            select(due.c.suggestion_id, due.c.kind, due.c.due_at)
            .where(due.c.settled.is_(False), due.c.due_at < utc_text(now))
            .order_by(due.c.due_at)
            .limit(limit + len(self._quiet))
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        clock = time.monotonic()
        self._quiet = {k: until for k, until in self._quiet.items() if until > clock}
        items = [
            Due(kind=r.kind, aggregate_id=r.suggestion_id, due_at=from_text(r.due_at))  # type: ignore[arg-type]
            for r in rows
            if (r.suggestion_id, r.kind, r.due_at) not in self._quiet
        ]
        return items[:limit]

    async def act(self, item: Due, meta: CommandMeta) -> bool:
        appended = await self.store.execute(
            SUGGESTION,
            item.aggregate_id,
            lambda loaded: clocks.decide_due(loaded.state, now=meta.now, policy=self.policy),
            meta,
        )
        if appended.envelopes:
            log.info(
                "suggestion.deadline_raised",
                suggestion_id=item.aggregate_id,
                kind=item.kind,
                events=[e.type for e in appended.envelopes],
            )
            return True
        self._quiet[(item.aggregate_id, item.kind, utc_text(item.due_at))] = time.monotonic() + QUIET_FOR
        return False

    async def tick(self) -> int:
        return await self.watcher.tick()

    async def run(self) -> None:
        await self.watcher.run()


async def run_deadline_watcher(rt: ServiceRuntime) -> None:
    """Background task of the suggestions service."""
    w = DeadlineWatcher(rt.store, rt.engine, policy_of(rt))
    rt.extras["deadline_watcher"] = w
    await w.run()
