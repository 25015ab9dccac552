"""The due index of the deadline watcher: what falls due when, kept from the events.

One row per deadline the watcher may owe a decision for — a round's reply deadline
(``reply_overdue``), each reminder before it (``reply_reminder:<lead time>``) and a B promise's
date (``promise_overdue``, due at the local midnight after the promised day). A row is settled by
the event that raises it or makes it moot (reply, return, close, extension, a later reply). The
index only says where to look: the domain decides, and decides nothing twice.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import ClassVar

from sqlalchemy import ColumnElement, MetaData, and_, bindparam, select, update
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


def promise_due_at(promised_by: date, policy: SuggestionPolicy) -> datetime:
    """The first moment after the promised (local) day (as ``clocks.next_check_at`` counts it)."""
    return datetime.combine(promised_by + timedelta(days=1), time(0), tzinfo=policy.tz)


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

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        e = env.data
        match e:
            case SuggestionAssigned():
                await self._open_round(tx, e.suggestion_id, e.round, e.assigned_at, e.due_at)
            case RehandlingStarted():
                await self._open_round(tx, e.suggestion_id, e.round, e.started_at, e.due_at)
            case DeadlineExtended():
                q = (
                    select(due.c.started_at)
                    .where(due.c.suggestion_id == e.suggestion_id, due.c.kind == REPLY, due.c.round == e.round)
                    .order_by(due.c.due_at.desc())
                    .limit(1)
                )
                started = from_text((await tx.execute(q)).scalar_one_or_none()) or env.occurred_at
                await self._settle_round(tx, e.suggestion_id)
                await self._open_round(tx, e.suggestion_id, e.round, started, e.new_due_at)
            case SuggestionReplied():
                await self._settle_round(tx, e.suggestion_id)
                await self._settle(tx, e.suggestion_id, due.c.kind == PROMISE)  # a later reply supersedes
                if e.result == "B" and e.promised_by is not None:
                    await self._insert(
                        tx, e.suggestion_id, PROMISE, promise_due_at(e.promised_by, self.policy), e.round, None
                    )
            case SuggestionReturned() | ReplyOverdue():
                await self._settle_round(tx, e.suggestion_id)
            case SuggestionClosed():
                await self._settle_round(tx, e.suggestion_id)  # promises stay tracked after closing
            case ReplyReminderDue():
                await self._settle(
                    tx, e.suggestion_id, and_(due.c.kind == REMINDER + e.lead_time, due.c.round == e.round)
                )
            case PromiseCarriedOut() | PromiseOverdue():
                await self._settle(tx, e.suggestion_id, due.c.kind == PROMISE)

    async def _open_round(
        self, tx: AsyncConnection, suggestion_id: str, round: int, started_at: datetime, due_at: datetime
    ) -> None:
        schedule = [
            (REPLY, due_at),
            *((REMINDER + lead, at) for lead, at in rules.reminder_schedule(started_at, due_at, self.policy)),
        ]
        await self._insert_all(tx, suggestion_id, schedule, round, started_at)

    @staticmethod
    async def _insert(
        tx: AsyncConnection, suggestion_id: str, kind: str, due_at: datetime, round: int, started_at: datetime | None
    ) -> None:
        await DueIndex._insert_all(tx, suggestion_id, [(kind, due_at)], round, started_at)

    @staticmethod
    async def _insert_all(
        tx: AsyncConnection,
        suggestion_id: str,
        schedule: list[tuple[str, datetime]],
        round: int,
        started_at: datetime | None,
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
            }
            for kind, at in schedule
        ]
        await tx.execute(REPLACED, [{"sid": r["suggestion_id"], "k": r["kind"], "at": r["due_at"]} for r in rows])
        await tx.execute(due.insert(), rows)

    @staticmethod
    async def _settle(tx: AsyncConnection, suggestion_id: str, condition: ColumnElement[bool]) -> None:
        await tx.execute(
            update(due)
            .where(due.c.suggestion_id == suggestion_id, due.c.settled.is_(False), condition)
            .values(settled=True)
        )

    async def _settle_round(self, tx: AsyncConnection, suggestion_id: str) -> None:
        await self._settle(tx, suggestion_id, due.c.kind != PROMISE)
