"""Deadlines on the calendar, the reminder schedule, and the watcher's once-only decisions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.events.event import Event
from services.suggestions.domain import rules
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EvaluateSuggestion,
    ExtendDeadline,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.events import PromiseOverdue, ReplyOverdue, ReplyReminderDue

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 31, 9, 0, tzinfo=TZ)
DAY = timedelta(days=1)
POLICY = SuggestionPolicy.parse()
S1, UNIT, LEAD = "s-1", "u-1", "d-1"


def fold(s: sg.Suggestion, events: list[Event]) -> sg.Suggestion:
    for e in events:
        s = sg.evolve(s, e)
    return s


def assigned(at: datetime = T0, policy: SuggestionPolicy = POLICY) -> sg.Suggestion:
    s = sg.Suggestion(id=S1)
    s = fold(s, sg.decide_submit(s, SubmitSuggestion(S1, "340403001", "t", "c", (LEAD,)), now=at, is_street=False))
    c = AssignSuggestion(S1, UNIT, "张")
    return fold(s, sg.decide_assign(s, c, now=at, policy=policy, is_street=False, actor_role="township_staff"))


def answered_b(promised_by: date) -> sg.Suggestion:
    s = assigned()
    s = fold(
        s, sg.decide_consult(s, RecordConsultation(S1, T0.date(), "phone", "x"), unit_id=UNIT, now=T0, policy=POLICY)
    )
    c = ReplyToSuggestion(S1, "B", "列入计划", promised_by=promised_by, measures="分两期实施")
    return fold(s, sg.decide_reply(s, c, unit_id=UNIT, now=T0 + DAY, policy=POLICY))


# -- deadlines -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "duration", "due"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=TZ), "P3M", datetime(2026, 4, 30, 9, tzinfo=TZ)),
        (datetime(2026, 1, 31, 9, tzinfo=TZ), "P1M", datetime(2026, 2, 28, 9, tzinfo=TZ)),
        (datetime(2028, 1, 31, 9, tzinfo=TZ), "P1M", datetime(2028, 2, 29, 9, tzinfo=TZ)),
        (datetime(2026, 8, 31, 9, tzinfo=TZ), "P6M", datetime(2027, 2, 28, 9, tzinfo=TZ)),
        (datetime(2026, 3, 1, 9, tzinfo=TZ), "PT5S", datetime(2026, 3, 1, 9, 0, 5, tzinfo=TZ)),
    ],
)
def test_deadlines_count_calendar_months_as_the_civil_code(start, duration, due):
    policy = SuggestionPolicy.parse(normal=duration, rehandling=duration)
    assert rules.reply_due_at(start, "normal", policy) == due
    assert rules.rehandling_due_at(start, policy) == due


def test_months_are_counted_on_the_local_calendar_even_from_utc():
    # 2026-01-31 20:00 UTC is already 1 February in Shanghai: due 1 May, not 30 April.
    start = datetime(2026, 1, 31, 20, tzinfo=ZoneInfo("UTC"))
    assert rules.reply_due_at(start, "normal", POLICY).astimezone(TZ) == datetime(2026, 5, 1, 4, tzinfo=TZ)


def test_the_complex_deadline_and_return_window_come_from_the_policy():
    assert rules.reply_due_at(T0, "complex", POLICY) == datetime(2026, 7, 31, 9, tzinfo=TZ)
    assert rules.return_deadline(T0, POLICY) == T0 + 7 * DAY


def test_the_reminder_schedule_keeps_lead_times_inside_the_round_earliest_first():
    due = rules.reply_due_at(T0, "normal", POLICY)
    assert rules.reminder_schedule(T0, due, POLICY) == [("P14D", due - 14 * DAY), ("P3D", due - 3 * DAY)]
    short = SuggestionPolicy.parse(normal="PT10S", reminder_before="P14D,PT3S")
    due = rules.reply_due_at(T0, "normal", short)
    assert rules.reminder_schedule(T0, due, short) == [("PT3S", T0 + timedelta(seconds=7))]


def test_a_promised_date_passes_when_its_local_day_is_over():
    assert not rules.promise_passed(date(2026, 6, 30), datetime(2026, 6, 30, 23, 59, tzinfo=TZ), TZ)
    assert rules.promise_passed(date(2026, 6, 30), datetime(2026, 6, 30, 16, 0, tzinfo=ZoneInfo("UTC")), TZ)


# -- reminders -------------------------------------------------------------------------------------
def test_each_reminder_is_decided_once_at_its_lead_time():
    s = assigned()
    due = s.due_at
    assert sg.decide_reminders(s, now=due - 15 * DAY, policy=POLICY) == []
    [first] = sg.decide_reminders(s, now=due - 14 * DAY, policy=POLICY)
    assert isinstance(first, ReplyReminderDue) and (first.lead_time, first.due_at) == ("P14D", due)
    s = sg.evolve(s, first)
    assert sg.decide_reminders(s, now=due - 10 * DAY, policy=POLICY) == []
    [second] = sg.decide_reminders(s, now=due - 2 * DAY, policy=POLICY)
    assert second.lead_time == "P3D"
    assert sg.decide_reminders(sg.evolve(s, second), now=due - DAY, policy=POLICY) == []


def test_a_watcher_that_was_down_sends_every_missed_reminder_but_none_after_the_deadline():
    s = assigned()
    assert [e.lead_time for e in sg.decide_reminders(s, now=s.due_at - DAY, policy=POLICY)] == ["P14D", "P3D"]
    assert sg.decide_reminders(s, now=s.due_at, policy=POLICY) == []


def test_an_extension_brings_new_reminders_for_the_new_deadline():
    s = assigned()
    old = s.due_at
    s = fold(s, sg.decide_reminders(s, now=old - DAY, policy=POLICY))
    c = ExtendDeadline(S1, old + 30 * DAY, "需县里协调资金")
    s = fold(s, sg.decide_extend(s, c, now=old - DAY, is_street=False, actor_role="township_staff"))
    assert [e.lead_time for e in sg.decide_reminders(s, now=old + 20 * DAY, policy=POLICY)] == ["P14D"]


# -- overdue ---------------------------------------------------------------------------------------
def test_overdue_is_raised_once():
    s = assigned()
    assert sg.decide_overdue(s, now=s.due_at) == []  # answered by its due_at is still on time
    [raised] = sg.decide_overdue(s, now=s.due_at + DAY)
    assert isinstance(raised, ReplyOverdue) and raised.due_at == s.due_at and raised.deputy_ids == (LEAD,)
    s = sg.evolve(s, raised)
    assert s.overdue(s.due_at + DAY)
    assert sg.decide_overdue(s, now=s.due_at + 2 * DAY) == []


def test_an_extended_deadline_that_passes_is_overdue_again():
    s = assigned()
    old = s.due_at
    s = fold(s, sg.decide_overdue(s, now=old + DAY))
    s = fold(
        s,
        sg.decide_extend(
            s,
            ExtendDeadline(S1, old + 10 * DAY, "批准延期"),
            now=old + DAY,
            is_street=False,
            actor_role="township_staff",
        ),
    )
    assert sg.decide_overdue(s, now=old + 5 * DAY) == []
    [again] = sg.decide_overdue(s, now=old + 11 * DAY)
    assert again.due_at == old + 10 * DAY


def test_a_replied_suggestion_is_never_overdue():
    s = answered_b(date(2026, 12, 31))
    assert sg.decide_overdue(s, now=T0 + 400 * DAY) == []
    assert sg.decide_reminders(s, now=T0 + 80 * DAY, policy=POLICY) == []


def test_a_rehandling_round_is_overdue_after_its_own_deadline():
    s = answered_b(date(2026, 12, 31))
    s = fold(
        s, sg.decide_evaluate(s, EvaluateSuggestion(S1, "unsatisfied"), deputy_id=LEAD, now=T0 + 2 * DAY, policy=POLICY)
    )
    assert s.due_at == datetime(2026, 3, 2, 9, tzinfo=TZ)  # 2 Feb + P1M
    [e] = sg.decide_overdue(s, now=s.due_at + DAY)
    assert e.round == 2


# -- B promises ------------------------------------------------------------------------------------
def test_an_unkept_promise_is_overdue_once_after_its_date():
    s = answered_b(date(2026, 3, 31))
    assert sg.decide_promise_overdue(s, now=datetime(2026, 3, 31, 23, tzinfo=TZ), policy=POLICY) == []
    [e] = sg.decide_promise_overdue(s, now=datetime(2026, 4, 1, 0, 1, tzinfo=TZ), policy=POLICY)
    assert isinstance(e, PromiseOverdue) and e.promised_by == date(2026, 3, 31)
    assert sg.decide_promise_overdue(sg.evolve(s, e), now=datetime(2026, 5, 1, tzinfo=TZ), policy=POLICY) == []


def test_a_kept_promise_is_never_overdue():
    s = answered_b(date(2026, 3, 31))
    c = RecordImplementation(S1, date(2026, 3, 30), "已完成")
    s = fold(s, sg.decide_implementation(s, c, unit_id=UNIT, now=datetime(2026, 3, 30, tzinfo=TZ), policy=POLICY))
    assert sg.decide_promise_overdue(s, now=datetime(2026, 5, 1, tzinfo=TZ), policy=POLICY) == []


def test_next_check_at_names_the_watchers_next_duty():
    s = assigned()
    assert sg.next_check_at(s, POLICY) == s.due_at - 14 * DAY
    s = fold(s, sg.decide_reminders(s, now=s.due_at - DAY, policy=POLICY))
    assert sg.next_check_at(s, POLICY) == s.due_at + timedelta(microseconds=1)
    s = fold(s, sg.decide_overdue(s, now=s.due_at + DAY))
    assert sg.next_check_at(s, POLICY) is None
    assert sg.next_check_at(answered_b(date(2026, 3, 31)), POLICY) == datetime(2026, 4, 1, tzinfo=TZ)
