"""The deadline watcher: reminders before a reply deadline, overdue replies, overdue B promises.

It finds due work in the due index (``projections/due.py``), never by scanning the stream, and
lets the domain decide (``clocks.decide_due``): exactly once each, because the domain decides
nothing for what was raised already and the command id derives from the item
(``libs/service/watch.py``): a retry after a crash between decision and append stores nothing
twice; two instances race on the aggregate's expected sequence and the loser decides nothing.

The year-end wave (thousands of deadlines due at once): each item is its own aggregate. A page
of due rows (``batch``) is read once through with a keyset cursor; its items go in chunks to
``act_many`` (``libs/events/batch.py``): the chunk's suggestions loaded in rounds of single
Direct Gets (``load_many``), decided, and their events appended in one atomic batch instead of
one acknowledged publish each, every aggregate keeping its own expected-sequence guard; a
refused batch (a race, a retry) falls back to ``act`` per item. The index row names the
suggestion's jurisdiction, so a load reads its subject without asking the locator; an item
acted on is left alone until the index has settled it (or ``QUIET_FOR``), so a lagging index
never makes the watcher load it again; and a full page, or a pass with pages left, is followed
by the next at once, without waiting for the interval.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import structlog
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.domain.errors import DomainError
from libs.events.batch import Command, append_many, load_many
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
QUIET_FOR = 30.0  # seconds an item acted on is left alone (the index catches up meanwhile)
WINDOW = 64  # items (aggregates) in flight at once, loaded or acted on alone

Key = tuple[str, str, str]


class DeadlineWatcher:
    def __init__(
        self,
        store: EventStore,
        engine: AsyncEngine,
        policy: SuggestionPolicy,
        *,
        clock: Clock = utcnow,
        interval: float = 0.5,
        batch: int = 2000,
        window: int = WINDOW,
    ) -> None:
        self.store = store
        self.engine = engine
        self.policy = policy
        self.interval = interval
        self.batch = batch
        self._quiet: dict[Key, float] = {}
        self._where: dict[str, str] = {}  # suggestion id -> jurisdiction, from the rows found
        self._rows: dict[str, list[Key]] = {}  # suggestion id -> its due rows found
        self._found = 0
        self._after: tuple[str, str, str] | None = None  # the last due row looked at in this pass
        self.window = window
        self.watcher = DueWatcher(
            NAME,
            self.find_due,
            self.act,
            clock=clock,
            interval=interval,
            batch=batch,
            window=window,
            act_many=self.act_many,
        )

    async def find_due(self, now: datetime, limit: int) -> list[Due]:
        """The next page of due rows: after the last one handed out in this pass (a wave is read
        once through, not again from its start for every page), from the start once a pass ends."""
        clock = time.monotonic()
        self._quiet = {k: until for k, until in self._quiet.items() if until > clock}
        order = (due.c.due_at, due.c.suggestion_id, due.c.kind)
        # From the start, rows acted on lately (left alone) come first; after the cursor, seldom.
        asked = limit + (len(self._quiet) if self._after is None else 0)
        q = select(due.c.suggestion_id, due.c.kind, due.c.due_at, due.c.jurisdiction).where(
            due.c.settled.is_(False), due.c.due_at < utc_text(now)
        )
        if self._after is not None:
            q = q.where(tuple_(*order) > tuple_(*self._after))
        q = q.order_by(*order).limit(asked)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        items: list[Due] = []
        self._where, self._rows = {}, {}
        last: tuple[str, str, str] | None = None
        cut = False
        for r in rows:
            key = (r.suggestion_id, r.kind, r.due_at)
            if key not in self._quiet:
                if r.suggestion_id in self._rows:  # one decision raises all that is due of one suggestion
                    self._rows[r.suggestion_id].append(key)
                elif len(items) == limit:
                    cut = True
                    break
                else:
                    items.append(Due(kind=r.kind, aggregate_id=r.suggestion_id, due_at=from_text(r.due_at)))
                    self._rows[r.suggestion_id] = [key]
                    if r.jurisdiction:
                        self._where[r.suggestion_id] = r.jurisdiction
            last = (r.due_at, r.suggestion_id, r.kind)
        self._after = last if cut or len(rows) == asked else None
        self._found = len(items)
        return items

    async def act(self, item: Due, meta: CommandMeta) -> bool:
        appended = await self.store.execute(
            SUGGESTION,
            item.aggregate_id,
            lambda loaded: clocks.decide_due(loaded.state, now=meta.now, policy=self.policy),
            meta,
            jurisdiction=self._where.get(item.aggregate_id),
        )
        self._acted_on(item)
        if appended.envelopes:
            log.debug(  # one info line per tick (``tick``): a year-end wave is thousands of these
                "suggestion.deadline_raised",
                suggestion_id=item.aggregate_id,
                kind=item.kind,
                events=[e.type for e in appended.envelopes],
            )
            return True
        return False

    def _acted_on(self, item: Due) -> None:
        """Its rows are left alone until the index settles them (or catches up, if nothing was due)."""
        until = time.monotonic() + QUIET_FOR
        for key in self._rows.get(item.aggregate_id, [(item.aggregate_id, item.kind, utc_text(item.due_at))]):
            self._quiet[key] = until

    async def act_many(self, work: list[tuple[Due, CommandMeta]]) -> list[bool | None]:
        """Load each (``window`` at once), decide each, append all that is due together.

        Per item: True (raised), False (nothing due), None (left to ``act``: its load or its
        decision failed, or its batch was refused), as ``DueWatcher.tick`` expects.
        """
        targets = [(item.aggregate_id, self._where.get(item.aggregate_id)) for item, _ in work]
        loads = await load_many(self.store, SUGGESTION, targets, window=self.window)
        out: list[bool | None] = [None] * len(work)
        commands: list[Command] = []
        at: list[int] = []
        for i, ((item, meta), loaded) in enumerate(zip(work, loads, strict=True)):
            if isinstance(loaded, Exception):
                continue  # acted on alone, which raises what it raises
            if loaded.applied(meta.command_id):
                self._acted_on(item)
                out[i] = False
                continue
            try:
                events = clocks.decide_due(loaded.state, now=meta.now, policy=self.policy)
            except DomainError:
                continue
            commands.append(Command(loaded, events, meta, self._where.get(item.aggregate_id)))
            at.append(i)
        for i, appended in zip(at, await append_many(self.store, commands), strict=True):
            if appended is not None:
                self._acted_on(work[i][0])
                out[i] = bool(appended.envelopes)
        return out

    async def tick(self) -> int:
        raised = await self.watcher.tick()
        if raised:
            log.info("suggestion.deadlines_raised", count=raised, looked_at=self._found)
        return raised

    async def run(self) -> None:
        """Tick; after a full batch, or while a pass has pages left, tick again at once (a wave),
        else wait ``interval``."""
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watch.tick_failed", watcher=NAME)
                self._found, self._after = 0, None
            if self._found < self.batch and self._after is None:
                await asyncio.sleep(self.interval)

    @property
    def raised(self) -> int:
        return self.watcher.raised


async def run_deadline_watcher(rt: ServiceRuntime) -> None:
    """Background task of the suggestions service."""
    w = DeadlineWatcher(rt.store, rt.engine, policy_of(rt))
    rt.extras["deadline_watcher"] = w
    await w.run()
