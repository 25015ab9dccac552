from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from libs.config.durations import CalendarDuration
from libs.events.event import Event
from services.meetings.domain.errors import (
    AlreadyAnswered,
    InvalidInput,
    InvalidTransition,
    ReviewOpinionNotAllowed,
)
from services.meetings.domain.meeting import (
    MEETING,
    Meeting,
    ScheduleMeeting,
    decide_convene,
    decide_schedule,
)
from services.meetings.domain.review_opinion import (
    REVIEW_OPINION,
    ReviewOpinion,
    SendReviewOpinion,
    decide_answer,
    decide_overdue,
    decide_remind,
    decide_send,
    evolve,
)
from services.meetings.events import (
    ReviewOpinionAnswered,
    ReviewOpinionOverdue,
    ReviewOpinionReminderDue,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 12, 31, 10, 0, tzinfo=TZ)
R1 = "r-1"
LEADS = (CalendarDuration.parse("P14D"), CalendarDuration.parse("P3D"))


def held(kind: str = "inspection", *, convene: bool = True) -> Meeting:
    c = ScheduleMeeting(
        meeting_id="m-1",
        kind=kind,
        body="340403001",
        title="视察农村道路建设",
        starts_at=T0 - timedelta(days=1),
        ends_at=T0 - timedelta(hours=18),
        agenda=("视察农村道路建设",),
        invitee_ids=("a", "b"),
        group_id="g1",
    )
    events = decide_schedule(Meeting("m-1"), c, is_street=False)
    m = MEETING.replay("m-1", events)
    if convene:
        events += decide_convene(m, members=None, now=T0 - timedelta(days=1))
    return MEETING.replay("m-1", events)


def send(deadline: str = "P2M", now: datetime = T0, meeting: Meeting | None = None) -> list[Event]:
    c = SendReviewOpinion(review_opinion_id=R1, agenda_index=0, to_unit_id="unit-transport", content="加快道路修缮")
    return decide_send(
        ReviewOpinion(R1),
        c,
        meeting=meeting or held(),
        deadline=CalendarDuration.parse(deadline),
        tz=TZ,
        now=now,
    )


def sent(deadline: str = "P2M") -> ReviewOpinion:
    return REVIEW_OPINION.replay(R1, send(deadline))


def step(r: ReviewOpinion, events: list[Event]) -> ReviewOpinion:
    for e in events:
        r = evolve(r, e)
    return r


def test_feedback_is_due_two_calendar_months_after_sending() -> None:
    [e] = send()
    assert e.due_at == datetime(2026, 2, 28, 10, 0, tzinfo=TZ)  # 31 Dec + 2 months, clamped
    assert (e.meeting_kind, e.body, e.to_unit_id) == ("inspection", "340403001", "unit-transport")


@pytest.mark.parametrize("kind", ["inspection", "special_report_hearing"])
def test_review_opinions_follow_inspections_and_special_report_hearings(kind: str) -> None:
    assert send(meeting=held(kind))


@pytest.mark.parametrize("kind", ["group_activity", "congress_session"])
def test_other_meetings_send_no_review_opinions(kind: str) -> None:
    with pytest.raises(ReviewOpinionNotAllowed):
        send(meeting=held(kind, convene=False))


def test_a_review_opinion_follows_a_held_meeting_only() -> None:
    with pytest.raises(InvalidTransition):
        send(meeting=held(convene=False))


def test_a_review_opinion_names_a_real_agenda_item() -> None:
    c = SendReviewOpinion(review_opinion_id=R1, agenda_index=3, to_unit_id="u", content="x")
    with pytest.raises(InvalidInput):
        decide_send(ReviewOpinion(R1), c, meeting=held(), deadline=CalendarDuration.parse("P2M"), tz=TZ, now=T0)


def test_the_clock_with_short_durations_reminds_once_then_raises_overdue_once() -> None:
    given_ = sent("PT10S")
    leads = (CalendarDuration.parse("PT5S"),)
    assert decide_remind(given_, lead_times=leads, tz=TZ, now=T0 + timedelta(seconds=4)) == []
    [reminder] = decide_remind(given_, lead_times=leads, tz=TZ, now=T0 + timedelta(seconds=5))
    assert isinstance(reminder, ReviewOpinionReminderDue) and reminder.leads == ("PT5S",)
    given_ = evolve(given_, reminder)
    assert decide_remind(given_, lead_times=leads, tz=TZ, now=T0 + timedelta(seconds=6)) == []
    assert decide_overdue(given_, now=T0 + timedelta(seconds=9)) == []
    [overdue] = decide_overdue(given_, now=T0 + timedelta(seconds=10))
    assert isinstance(overdue, ReviewOpinionOverdue) and overdue.due_at == T0 + timedelta(seconds=10)
    given_ = evolve(given_, overdue)
    assert decide_overdue(given_, now=T0 + timedelta(seconds=11)) == []
    assert decide_remind(given_, lead_times=leads, tz=TZ, now=T0 + timedelta(seconds=12)) == []


def test_each_lead_time_is_reminded_once() -> None:
    given_ = sent()
    due = datetime(2026, 2, 28, 10, 0, tzinfo=TZ)
    assert decide_remind(given_, lead_times=LEADS, tz=TZ, now=due - timedelta(days=15)) == []
    [first] = decide_remind(given_, lead_times=LEADS, tz=TZ, now=due - timedelta(days=14))
    assert first.leads == ("P14D",)
    given_ = evolve(given_, first)
    assert decide_remind(given_, lead_times=LEADS, tz=TZ, now=due - timedelta(days=5)) == []
    [second] = decide_remind(given_, lead_times=LEADS, tz=TZ, now=due - timedelta(days=3))
    assert second.leads == ("P3D",)
    assert decide_remind(evolve(given_, second), lead_times=LEADS, tz=TZ, now=due - timedelta(days=1)) == []


def test_lead_times_that_came_together_make_one_reminder() -> None:
    given_ = sent("P5D")  # shorter than the 14-day lead: both come at once
    [reminder] = decide_remind(given_, lead_times=LEADS, tz=TZ, now=T0 + timedelta(days=2))
    assert reminder.leads == ("P14D", "P3D")
    assert decide_remind(evolve(given_, reminder), lead_times=LEADS, tz=TZ, now=T0 + timedelta(days=3)) == []


def test_feedback_by_the_due_date_is_on_time_and_stops_the_clock() -> None:
    given_ = sent("PT10S")
    [answered] = decide_answer(given_, content="已安排资金修缮", now=T0 + timedelta(seconds=10))
    assert isinstance(answered, ReviewOpinionAnswered) and answered.on_time
    given_ = evolve(given_, answered)
    assert decide_overdue(given_, now=T0 + timedelta(days=1)) == []
    assert decide_remind(given_, lead_times=LEADS, tz=TZ, now=T0 + timedelta(seconds=5)) == []
    with pytest.raises(AlreadyAnswered):
        decide_answer(given_, content="again", now=T0 + timedelta(days=1))


def test_late_feedback_is_accepted_and_recorded_late() -> None:
    given_ = sent("PT10S")
    given_ = step(given_, decide_overdue(given_, now=T0 + timedelta(seconds=11)))
    [answered] = decide_answer(given_, content="已整改", now=T0 + timedelta(seconds=12))
    assert not answered.on_time


def test_feedback_needs_a_sent_opinion_and_content() -> None:
    with pytest.raises(InvalidTransition):
        decide_answer(ReviewOpinion(R1), content="x", now=T0)
    with pytest.raises(InvalidInput):
        decide_answer(sent(), content="  ", now=T0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 20), max_size=15), st.integers(0, 20) | st.none())
def test_any_watcher_schedule_reminds_each_lead_and_raises_overdue_at_most_once(
    ticks: list[int], answer_at: int | None
) -> None:
    leads = (CalendarDuration.parse("PT8S"), CalendarDuration.parse("PT3S"))
    events = send("PT10S")
    state = REVIEW_OPINION.replay(R1, events)
    for second in sorted(ticks):
        now = T0 + timedelta(seconds=second)
        if answer_at is not None and second >= answer_at and state.status == "sent":
            new = decide_answer(state, content="已办理", now=now)
        else:
            new = decide_remind(state, lead_times=leads, tz=TZ, now=now) + decide_overdue(state, now=now)
        events += new
        state = step(state, new)
    assert REVIEW_OPINION.replay(R1, events) == state
    reminded = [lead for e in events if isinstance(e, ReviewOpinionReminderDue) for lead in e.leads]
    assert len(reminded) == len(set(reminded))
    assert sum(isinstance(e, ReviewOpinionOverdue) for e in events) <= 1
    assert all(e.due_at == T0 + timedelta(seconds=10) for e in events if isinstance(e, ReviewOpinionOverdue))
