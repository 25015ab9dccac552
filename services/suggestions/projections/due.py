"""The due index of the deadline watcher: what falls due when, kept from the events.

One row per deadline the watcher may owe a decision for — a round's reply deadline
(``reply_overdue``), each reminder before it (``reply_reminder:<lead time>``) and a B promise's
date (``promise_overdue``, due at the local midnight after the promised day). A row is settled by
the event that raises it or makes it moot (reply, return, close, extension, a later reply). The
index only says where to look: the domain decides, and decides nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.events.projection.rows import Rows
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
        await self.apply_many([env], tx)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """The batch applied in order to the rows of its suggestions, read once and held in memory
        (``Rows``), then written with one executemany per kind of change (a year-end wave settles
        thousands at once; a replay was three statements per event)."""
        rows = Rows(due, group="suggestion_id")
        await rows.load(tx, "suggestion_id", {_about(env.data) for env in envs})
        for env in envs:
            self._apply(rows, env)
        await rows.flush(tx)

    def _apply(self, rows: Rows, env: Envelope) -> None:
        e: Any = env.data
        match e:
            case SuggestionAssigned():
                self._open_round(rows, e.suggestion_id, e.round, e.assigned_at, e.due_at, env.jurisdiction)
            case RehandlingStarted():
                self._open_round(rows, e.suggestion_id, e.round, e.started_at, e.due_at, env.jurisdiction)
            case DeadlineExtended():
                replies = [r for r in rows.of(e.suggestion_id) if r["kind"] == REPLY and r["round"] == e.round]
                latest = max(replies, key=lambda r: r["due_at"], default=None)
                started = from_text(latest["started_at"] if latest else None) or env.occurred_at
                _settle(rows, e.suggestion_id, lambda r: r["kind"] != PROMISE)
                self._open_round(rows, e.suggestion_id, e.round, started, e.new_due_at, env.jurisdiction)
            case SuggestionReplied():
                _settle(rows, e.suggestion_id, lambda r: True)  # the round's, and a promise a later reply supersedes
                if e.result == "B" and e.promised_by is not None:
                    at = promise_due_at(e.promised_by, self.policy)
                    _insert_all(rows, e.suggestion_id, [(PROMISE, at)], e.round, None, env.jurisdiction)
            case SuggestionReturned() | ReplyOverdue() | SuggestionClosed():  # promises stay tracked after closing
                _settle(rows, e.suggestion_id, lambda r: r["kind"] != PROMISE)
            case ReplyReminderDue():
                kind = REMINDER + e.lead_time
                _settle(rows, e.suggestion_id, lambda r: r["kind"] == kind and r["round"] == e.round)
            case PromiseCarriedOut() | PromiseOverdue():
                _settle(rows, e.suggestion_id, lambda r: r["kind"] == PROMISE)

    def _open_round(
        self,
        rows: Rows,
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
        _insert_all(rows, suggestion_id, schedule, round, started_at, jurisdiction)


def _about(e: Any) -> str:
    return str(e.suggestion_id)


def _settle(rows: Rows, suggestion_id: str, which: Callable[[dict[str, Any]], bool]) -> None:
    """Settle the suggestion's open rows that ``which`` picks."""
    for row in rows.of(suggestion_id):
        if not row["settled"] and which(row):
            rows.set(row, settled=True)


def _insert_all(
    rows: Rows,
    suggestion_id: str,
    schedule: list[tuple[str, datetime]],
    round: int,
    started_at: datetime | None,
    jurisdiction: str | None,
) -> None:
    """One row per (kind, due_at), replacing a row already there (a redelivered event)."""
    for kind, at in schedule:
        due_at = utc_text(at)
        old = rows.get(suggestion_id, kind, due_at)
        if old is not None:
            rows.delete(old)
        rows.add(
            suggestion_id=suggestion_id,
            kind=kind,
            due_at=due_at,
            round=round,
            started_at=utc_text(started_at) if started_at else None,
            settled=False,
            jurisdiction=jurisdiction,
        )
