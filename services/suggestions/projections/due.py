"""The due index of the deadline watcher: what falls due when, kept from the events.

One row per deadline the watcher may owe a decision for — a round's reply deadline
(``reply_overdue``), each reminder before it (``reply_reminder:<lead time>``) and a B promise's
date (``promise_overdue``, due at the local midnight after the promised day). A row is settled by
the event that raises it or makes it moot (reply, return, close, extension, a later reply). The
index only says where to look: the domain decides, and decides nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from sqlalchemy import MetaData, and_, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from services.suggestions.domain import rules
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.events import (
    DeadlineExtended,
    PromiseCarriedOut,
    PromiseOverdue,
    RehandlingStarted,
    ReplyOverdue,
    ReplyReminderDue,
    SuggestionAssigned,
    SuggestionClosed,
    SuggestionReplied,
    SuggestionReturned,
)
from services.suggestions.projections.tables import due, due_metadata, from_text, utc_text

REPLY = "reply_overdue"
REMINDER = "reply_reminder:"
PROMISE = "promise_overdue"
REPLACED = due.delete().where(
    due.c.suggestion_id == bindparam("sid"), due.c.kind == bindparam("k"), due.c.due_at == bindparam("at")
)
INSERT = due.insert()
# Built once: building a statement per event cost more than running it (bench/suggestions.py, watcher).
# ``settled IS NOT true``, not ``settled IS false`` (nor ``NOT settled``, which SQLite gets as
# ``settled = 0``): with an equality SQLite searches the open-rows index (settled, due_at) instead
# of the suggestion's key, a scan of every open row per row settled (a 10,000-deadline wave: ~1 s
# a batch of 500). The column is NOT NULL: the same rows.
_OPEN = and_(due.c.suggestion_id == bindparam("sid"), due.c.settled.is_not(True))
SETTLE_ROUND = update(due).where(_OPEN, due.c.kind != PROMISE).values(settled=True)
SETTLE_PROMISE = update(due).where(_OPEN, due.c.kind == PROMISE).values(settled=True)
SETTLE_REMINDER = (
    update(due).where(_OPEN, due.c.kind == bindparam("k"), due.c.round == bindparam("r")).values(settled=True)
)


def promise_due_at(promised_by: date, policy: SuggestionPolicy) -> datetime:
    """The first moment after the promised (local) day (as ``clocks.next_check_at`` counts it)."""
    return datetime.combine(promised_by + timedelta(days=1), time(0), tzinfo=policy.tz)


def _settles(e: Any) -> list[tuple[Any, dict[str, Any]]] | None:
    """The settling statements of an event that only settles rows; None for any other event."""
    match e:
        case SuggestionReturned() | ReplyOverdue() | SuggestionClosed():
            return [(SETTLE_ROUND, {"sid": e.suggestion_id})]
        case ReplyReminderDue():
            return [(SETTLE_REMINDER, {"sid": e.suggestion_id, "k": REMINDER + e.lead_time, "r": e.round})]
        case PromiseCarriedOut() | PromiseOverdue():
            return [(SETTLE_PROMISE, {"sid": e.suggestion_id})]
    return None


class DueIndex(Projection):
    name: ClassVar[str] = "suggestions-due"
    contexts: ClassVar[tuple[str, ...]] = ("suggestions",)
    metadata: ClassVar[MetaData] = due_metadata
    handles = (
        SuggestionAssigned,
        RehandlingStarted,
        DeadlineExtended,
        SuggestionReplied,
        SuggestionReturned,
        SuggestionClosed,
        ReplyReminderDue,
        ReplyOverdue,
        PromiseCarriedOut,
        PromiseOverdue,
    )

    def __init__(self, policy: SuggestionPolicy) -> None:
        self.policy = policy

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """As ``apply`` one by one, but a run of events that only settle rows is one executemany per
        statement (a year-end wave settles thousands at once). Settling commutes with settling, never
        with opening rows: the run is written before any other event."""
        runs: dict[Any, list[dict[str, Any]]] = {}
        for env in envs:
            got = _settles(env.data)
            if got is None:
                for stmt, many in runs.items():
                    await tx.execute(stmt, many)
                runs = {}
                await self.apply(env, tx)
            else:
                for stmt, one in got:
                    runs.setdefault(stmt, []).append(one)
        for stmt, many in runs.items():
            await tx.execute(stmt, many)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        e = env.data
        match e:
            case SuggestionAssigned():
                await self._open_round(tx, e.suggestion_id, e.round, e.assigned_at, e.due_at, env.jurisdiction)
            case RehandlingStarted():
                await self._open_round(tx, e.suggestion_id, e.round, e.started_at, e.due_at, env.jurisdiction)
            case DeadlineExtended():
                q = (
                    select(due.c.started_at)
                    .where(due.c.suggestion_id == e.suggestion_id, due.c.kind == REPLY, due.c.round == e.round)
                    .order_by(due.c.due_at.desc())
                    .limit(1)
                )
                started = from_text((await tx.execute(q)).scalar_one_or_none()) or env.occurred_at
                await tx.execute(SETTLE_ROUND, {"sid": e.suggestion_id})
                await self._open_round(tx, e.suggestion_id, e.round, started, e.new_due_at, env.jurisdiction)
            case SuggestionReplied():
                await tx.execute(SETTLE_ROUND, {"sid": e.suggestion_id})
                await tx.execute(SETTLE_PROMISE, {"sid": e.suggestion_id})  # a later reply supersedes
                if e.result == "B" and e.promised_by is not None:
                    at = promise_due_at(e.promised_by, self.policy)
                    await self._insert_all(tx, e.suggestion_id, [(PROMISE, at)], e.round, None, env.jurisdiction)
            case SuggestionReturned() | ReplyOverdue():
                await tx.execute(SETTLE_ROUND, {"sid": e.suggestion_id})
            case SuggestionClosed():
                await tx.execute(SETTLE_ROUND, {"sid": e.suggestion_id})  # promises stay tracked after closing
            case ReplyReminderDue():
                await tx.execute(SETTLE_REMINDER, {"sid": e.suggestion_id, "k": REMINDER + e.lead_time, "r": e.round})
            case PromiseCarriedOut() | PromiseOverdue():
                await tx.execute(SETTLE_PROMISE, {"sid": e.suggestion_id})

    async def _open_round(
        self,
        tx: AsyncConnection,
        suggestion_id: str,
        round: int,
        started_at: datetime,
        due_at: datetime,
        jurisdiction: str | None,
    ) -> None:
        schedule = [
            (REPLY, due_at),
            *((REMINDER + lead, at) for lead, at in rules.reminder_schedule(started_at, due_at, self.policy)),
        ]
        await self._insert_all(tx, suggestion_id, schedule, round, started_at, jurisdiction)

    @staticmethod
    async def _insert_all(
        tx: AsyncConnection,
        suggestion_id: str,
        schedule: list[tuple[str, datetime]],
        round: int,
        started_at: datetime | None,
        jurisdiction: str | None,
    ) -> None:
        """One row per (kind, due_at), replacing a row already there (a redelivered event)."""
        rows = [
            {
                "suggestion_id": suggestion_id,
                "kind": kind,
                "due_at": utc_text(at),
                "round": round,
                "started_at": utc_text(started_at) if started_at else None,
                "settled": False,
                "jurisdiction": jurisdiction,
            }
            for kind, at in schedule
        ]
        await tx.execute(REPLACED, [{"sid": r["suggestion_id"], "k": r["kind"], "at": r["due_at"]} for r in rows])
        await tx.execute(INSERT, rows)
