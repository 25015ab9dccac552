"""Time-driven decisions of the deadline watcher: reminders, overdue replies, overdue promises.

Each is decided at most once: a reminder per (due_at, lead time), an overdue per round and
due_at (an extension opens a new due_at), a promise overdue once. A second watcher, a retry
or a restart that loads the state after the first append decides nothing.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from libs.events.event import Event
from services.suggestions.domain import rules
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import OPEN, Suggestion
from services.suggestions.events import PromiseOverdue, ReplyOverdue, ReplyReminderDue


def decide_reminders(s: Suggestion, *, now: datetime, policy: SuggestionPolicy) -> list[Event]:
    """One ``ReplyReminderDue`` per configured lead time whose moment has come, before the deadline."""
    r = s.current_round
    if s.status not in OPEN or r is None or now >= r.due_at:
        return []
    return [
        ReplyReminderDue(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            unit_id=s.lead_unit_id or "",
            round=r.number,
            due_at=r.due_at,
            lead_time=lead,
            remind_at=at,
        )
        for lead, at in rules.reminder_schedule(r.started_at, r.due_at, policy)
        if at <= now and (r.due_at, lead) not in r.reminded
    ]


def decide_overdue(s: Suggestion, *, now: datetime) -> list[Event]:
    """``ReplyOverdue`` once when the open round's deadline has passed unanswered."""
    r = s.current_round
    if s.status not in OPEN or r is None or now <= r.due_at:
        return []
    if r.overdue_for == r.due_at:
        return []  # a retry or a second watcher decides nothing
    return [
        ReplyOverdue(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            unit_id=s.lead_unit_id or "",
            round=r.number,
            due_at=r.due_at,
            deputy_ids=s.deputy_ids,
            detected_at=now,
        )
    ]


def decide_promise_overdue(s: Suggestion, *, now: datetime, policy: SuggestionPolicy) -> list[Event]:
    """``PromiseOverdue`` once when a B promise's date has passed and it is not carried out."""
    p = s.open_promise
    if p is None or p.overdue_raised or not rules.promise_passed(p.promised_by, now, policy.tz):
        return []
    return [
        PromiseOverdue(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            lead_unit_id=s.lead_unit_id or "",
            round=p.round,
            promised_by=p.promised_by,
            deputy_ids=s.deputy_ids,
            detected_at=now,
        )
    ]


def decide_due(s: Suggestion, *, now: datetime, policy: SuggestionPolicy) -> list[Event]:
    """Everything the watcher owes this suggestion at ``now``: reminders, overdue, promise overdue."""
    return [
        *decide_reminders(s, now=now, policy=policy),
        *decide_overdue(s, now=now),
        *decide_promise_overdue(s, now=now, policy=policy),
    ]


def next_check_at(s: Suggestion, policy: SuggestionPolicy) -> datetime | None:
    """When the watcher next owes this suggestion a decision (None: never again as it stands).

    For a due-index read model: the earliest unsent reminder, the deadline (overdue is raised
    just after it) or the first moment after a promised date.
    """
    moments: list[datetime] = []
    r = s.current_round
    if s.status in OPEN and r is not None:
        moments += [
            at
            for lead, at in rules.reminder_schedule(r.started_at, r.due_at, policy)
            if (r.due_at, lead) not in r.reminded
        ]
        if r.overdue_for != r.due_at:
            moments.append(r.due_at + timedelta(microseconds=1))
    p = s.open_promise
    if p is not None and not p.overdue_raised:
        day_after = p.promised_by + timedelta(days=1)
        moments.append(datetime.combine(day_after, time(0), tzinfo=policy.tz))
    return min(moments) if moments else None
