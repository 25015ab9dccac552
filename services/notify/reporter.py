"""The reporter: ``NotificationSent`` / ``NotificationFailed`` on ``RENDA_NOTIFY`` for every finished delivery.

Each notification is an aggregate of its own, its one event appended with an id derived from the
notification id on an aggregate expected empty: appended once, even when two reporters race or
a crash comes between the append and the ``reported`` mark. A round's events go out as atomic
batches of many aggregates (``libs.events.batch.append_many``: one acknowledgement for hundreds
instead of one each); a batch refused whole (one of its events already stored by another
reporter, or a retry) is appended again one by one, where an event already stored is a success.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.events.batch import Command, append_many
from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore, Loaded
from services.notify.events import NOTIFICATION, NotificationFailed, NotificationSent
from services.notify.tables import outbox

log = structlog.get_logger("notify.reporter")
ROUND = 500  # finished rows reported per round
ONE_BY_ONE = 16  # appends in flight when a batch was refused


def command(r: dict[str, Any]) -> Command:
    """The one event of a finished delivery, on its aggregate as new."""
    nid = r["id"]
    common = {
        "notification_id": nid,
        "source_event_id": r["source_event_id"],
        "kind": r["kind"],
        "channel": r["channel"],
        "recipient": r["recipient"],
        "attempts": r["attempts"],
    }
    done = r["done_at"] or datetime.now(UTC)
    if done.tzinfo is None:
        done = done.replace(tzinfo=UTC)
    event = (
        NotificationSent(**common, sent_at=done)
        if r["state"] == "sent"
        else NotificationFailed(**common, last_error=r["last_error"] or "", failed_at=done)
    )
    loaded = Loaded(NOTIFICATION, nid, "pending", 0, 0, "", r["jurisdiction"], frozenset())
    meta = CommandMeta(Actor.system("notify"), r["source_event_id"], f"notify:{nid}", done)
    return Command(loaded, [event], meta)


class Reporter:
    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self.engine = engine
        self.store = store

    async def step(self) -> bool:
        """One round: up to ``ROUND`` finished rows reported and marked; True if there were any."""
        c = outbox.c
        q = select(outbox).where(c.state.in_(("sent", "failed")), c.reported.is_(False)).limit(ROUND)
        async with self.engine.connect() as conn:
            rows = [dict(r) for r in (await conn.execute(q)).mappings()]
        if not rows:
            return False
        commands = [command(r) for r in rows]
        try:
            results: list[Any] = await append_many(self.store, commands)
        except ValueError:  # a jurisdiction that is not a division code: find it one by one
            results = [None] * len(commands)
        gate = asyncio.Semaphore(ONE_BY_ONE)

        async def one(c: Command) -> None:
            async with gate:
                await self.append(c)

        await asyncio.gather(*(one(c) for c, done in zip(commands, results, strict=True) if done is None))
        async with writing(self.engine) as tx:
            await tx.execute(update(outbox).where(c.id.in_([r["id"] for r in rows])).values(reported=True))
        return True

    async def append(self, c: Command) -> None:
        try:
            await self.store.append(c.loaded, c.events, c.meta)
        except ValueError:
            reason = "jurisdiction not a division code"
            log.error("notify.event_not_appended", notification_id=c.loaded.id, reason=reason)
