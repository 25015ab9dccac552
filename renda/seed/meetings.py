"""Meetings of a county's townships and streets: congress sessions, presidium meetings, group
activities, inspections with review opinions (the county's joint inspections: ``joint.py``).

Sessions: two a year (the ``weak`` township one); presidium meetings: one each quarter (``missing``
skips the third, ``gap`` leaves four months between its first two); each group meets two to four
times a year; streets hold no session and no presidium meeting.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from libs.events.event import Event
from renda.seed import vocab
from renda.seed.people import Person
from renda.seed.places import County, Place
from renda.seed.plan import Plan, States, staff, system, unit_actor
from services.meetings.domain import meeting as mt
from services.meetings.domain import review_opinion as ro
from services.meetings.domain.meeting_commands import HoldVote, RecordAttendance, RecordSpeech, ScheduleMeeting
from services.meetings.domain.quorum import needed_for_quorum
from services.meetings.events import MeetingKind

SUBMIT_AT_SESSION = 0.35  # share of a township's suggestions submitted at its sessions


def plan_meetings(plan: Plan, county: County) -> dict[str, list[tuple[str, date]]]:
    """Plan every meeting; answer each township's sessions (id, day) for suggestions made there."""
    sessions: dict[str, list[tuple[str, date]]] = {}
    for year in plan.years():
        for place in county.places:
            if place.kind == "township":
                if not place.presidium_days:
                    place.presidium_days = presidium_days(plan, place)
                sessions.setdefault(place.code, []).extend(_sessions(plan, place, year))
                _presidium_meetings(plan, place, year)
                _inspections(plan, place, year)
            _group_activities(plan, place, year)
    return sessions


def _day(plan: Plan, year: int, month: int, lo: int = 1, hi: int = 28) -> date:
    return date(year, month, plan.rng.randint(lo, hi))


def _meeting(
    plan: Plan,
    place: Place,
    c: ScheduleMeeting,
    members: list[Person] | None,
    *,
    votes: int = 0,
    speeches: int = 0,
    present_share: tuple[float, float] = (0.88, 0.97),
    scheduled_days_before: int = 7,
    actor_code: str | None = None,
) -> None:
    """Schedule, record attendance, convene, vote, speak, adjourn: each a step of the meeting."""
    rng = plan.rng
    actor = staff(actor_code or place.code)
    mid = c.meeting_id
    day = plan.day_of(c.starts_at)
    is_street = place.kind == "street"
    at = plan.office_time(day - timedelta(days=scheduled_days_before))
    if not plan.add(at, mt.MEETING, mid, place.code, actor, lambda s, w: mt.decide_schedule(s, c, is_street=is_street)):
        return
    invitees = list(c.invitee_ids)
    member_ids = frozenset(p.id for p in members) if members is not None else None
    if invitees:
        share = rng.uniform(*present_share)
        order = invitees[:]
        rng.shuffle(order)
        n_present = max(int(len(order) * share), needed_for_quorum(len(order)) if members is not None else 1)
        present = tuple(order[:n_present])
        rest = order[n_present:]
        on_leave = tuple(rest[: (len(rest) + 1) // 2])
        absent = tuple(rest[(len(rest) + 1) // 2 :])
        current = member_ids if member_ids is not None else frozenset(invitees)
        att = RecordAttendance(present, on_leave, absent)
        plan.add(
            c.starts_at - timedelta(minutes=10),
            mt.MEETING,
            mid,
            place.code,
            actor,
            lambda s, w: mt.decide_record_attendance(s, att, current_members=current),
        )
    else:
        present = ()
    t = c.starts_at
    plan.add(t, mt.MEETING, mid, place.code, actor, partial(_convene, members=member_ids, now=t))
    for k in range(speeches):
        if not present:
            break
        sp = RecordSpeech(rng.choice(present), "就议题发表意见，建议加快推进民生实事项目。", agenda_index=0)
        plan.add(
            t + timedelta(minutes=20 + 7 * k),
            mt.MEETING,
            mid,
            place.code,
            actor,
            partial(_speech, c=sp),
        )
    for k in range(min(votes, len(c.agenda))):
        no, abstain = rng.randint(0, 2), rng.randint(0, 2)
        yes = max(0, len(present) - no - abstain - rng.randint(0, 1))
        v = HoldVote(k, yes, no, abstain)
        plan.add(
            t + timedelta(minutes=90 + 10 * k),
            mt.MEETING,
            mid,
            place.code,
            actor,
            partial(_vote, c=v),
        )
    end = c.ends_at
    plan.add(
        end,
        mt.MEETING,
        mid,
        place.code,
        actor,
        partial(_adjourn, notes="会议按议程进行。", now=end),
    )


def _schedule(s: mt.Meeting, w: States, *, c: ScheduleMeeting, is_street: bool) -> list[Event]:
    return mt.decide_schedule(s, c, is_street=is_street)


def _convene(s: mt.Meeting, w: States, *, members: frozenset[str] | None, now: datetime) -> list[Event]:
    return mt.decide_convene(s, members=members, now=now)


def _speech(s: mt.Meeting, w: States, *, c: RecordSpeech) -> list[Event]:
    return mt.decide_speech(s, c)


def _vote(s: mt.Meeting, w: States, *, c: HoldVote) -> list[Event]:
    return mt.decide_vote(s, c)


def _adjourn(s: mt.Meeting, w: States, *, notes: str, now: datetime) -> list[Event]:
    return mt.decide_adjourn(s, notes=notes, now=now)


def _sessions(plan: Plan, place: Place, year: int) -> list[tuple[str, date]]:
    months = (2,) if place.role == "weak" else (2, 8)
    out = []
    for k, month in enumerate(months, start=1):
        day = _day(plan, year, month, 5, 25)
        mid = plan.id("session", place.code, year, k)
        members = place.congress(day)
        two_days = plan.rng.random() < 0.3
        c = ScheduleMeeting(
            mid,
            "congress_session",
            place.code,
            f"{place.name}第十八届人民代表大会第{_nth(year, k)}次会议",
            plan.at(day, 8, 30),
            plan.at(day + timedelta(days=1 if two_days else 0), 17, 30),
            venue=f"{place.name}人民政府大会议室",
            agenda=vocab.SESSION_AGENDA,
            invitee_ids=tuple(p.id for p in members),
        )
        _meeting(plan, place, c, members, votes=len(vocab.SESSION_AGENDA), speeches=3, scheduled_days_before=10)
        out.append((mid, day))
    return out


def _nth(year: int, k: int) -> str:
    n = (year - 2022) * 2 + k + 1
    return "一二三四五六七八九十"[n - 1] if 1 <= n <= 10 else str(n)


def presidium_days(plan: Plan, place: Place) -> list[date]:
    """A meeting every 80–88 days over the whole period, so every quarter has one and no gap tops
    three months; ``missing`` drops those of each third quarter, ``gap`` waits four months each spring."""
    days: list[date] = []
    day = plan.start + timedelta(days=plan.rng.randint(18, 30))
    while day <= plan.end.date():
        if place.role == "gap" and day.month == 1:
            days.append(day)
            day = day + timedelta(days=plan.rng.randint(125, 130))  # over four months
            continue
        if not (place.role == "missing" and day.month in (7, 8, 9)):
            days.append(day)
        day = day + timedelta(days=plan.rng.randint(80, 88))
    return days


def _presidium_meetings(plan: Plan, place: Place, year: int) -> None:
    days = [d for d in place.presidium_days if d.year == year]
    for k, day in enumerate(days):
        members = [p for p in place.presidium if p.current(day)]
        agenda = (vocab.PRESIDIUM_AGENDA[k % 4], vocab.PRESIDIUM_AGENDA[(k + 1) % 4])
        c = ScheduleMeeting(
            plan.id("presidium", place.code, year, k),
            "presidium_meeting",
            place.code,
            f"{place.name}人大主席团{year}年第{k + 1}次会议",
            plan.at(day, 14, 30),
            plan.at(day, 16, 30),
            venue=f"{place.name}人大主席团会议室",
            agenda=agenda,
            invitee_ids=tuple(p.id for p in members),
        )
        _meeting(plan, place, c, members, votes=1, present_share=(0.85, 1.0), scheduled_days_before=5)


def _group_activities(plan: Plan, place: Place, year: int) -> None:
    rng = plan.rng
    for g in place.groups:
        n = 4 if g.central else rng.randint(2, 3)
        for k in range(n):
            month = 1 + k * (12 // n) + rng.randint(0, 12 // n - 1)
            day = _day(plan, year, month)
            if day < plan.start + timedelta(days=10):
                continue
            members = g.on(day)
            c = ScheduleMeeting(
                plan.id("group-activity", g.id, year, k),
                "group_activity",
                place.code,
                rng.choice(vocab.GROUP_ACTIVITY_TITLES),
                plan.at(day, 9),
                plan.at(day, 11, 30),
                venue=f"{place.name}人大代表联络站",
                agenda=("集中学习", "听取选民意见"),
                invitee_ids=tuple(p.id for p in members),
                group_id=g.id,
            )
            _meeting(plan, place, c, None, present_share=(0.7, 0.95))


def _inspections(plan: Plan, place: Place, year: int) -> None:
    """Two inspections or special-report hearings a year, each followed by a review opinion."""
    rng = plan.rng
    for k, month in enumerate((4, 10)):
        day = _day(plan, year, month)
        title, _law = rng.choice(vocab.INSPECTIONS)
        kind: MeetingKind = "inspection" if k == 0 or rng.random() < 0.5 else "special_report_hearing"
        mid = plan.id("inspection", place.code, year, k)
        invited = [p for p in place.presidium if p.current(day)]
        c = ScheduleMeeting(
            mid,
            kind,
            place.code,
            title,
            plan.at(day, 9),
            plan.at(day, 16),
            agenda=(title,),
            invitee_ids=tuple(p.id for p in invited),
        )
        _meeting(plan, place, c, None, present_share=(0.8, 1.0))
        if place.units:
            _review_opinion(
                plan, place.code, mid, rng.choice(place.units)[0], plan.at(day, 16), f"关于{title}的审议意见"
            )


def _review_opinion(plan: Plan, where: str, meeting_id: str, unit_id: str, held: datetime, content: str) -> None:
    rng = plan.rng
    rid = plan.id("review-opinion", meeting_id)
    sent = plan.later(held, 5, 20)
    c = ro.SendReviewOpinion(rid, 0, unit_id, content)
    deadline = plan.review_deadline
    tz = plan.tz

    def send(s: ro.ReviewOpinion, w: States) -> list[Any]:
        return ro.decide_send(s, c, meeting=w.state(mt.MEETING, meeting_id), deadline=deadline, tz=tz, now=sent)

    if not plan.add(sent, ro.REVIEW_OPINION, rid, where, staff(where), send, needs=((mt.MEETING, meeting_id),)):
        return
    due = deadline.after(sent, tz)
    roll = rng.random()
    answered = plan.later(sent, 20, 55) if roll < 0.8 else plan.later(due, 3, 30) if roll < 0.92 else None
    if answered is None or answered > due:
        at = due + timedelta(hours=1)
        plan.add(
            at,
            ro.REVIEW_OPINION,
            rid,
            where,
            system("meetings-watcher"),
            partial(_opinion_overdue, now=at),
        )
    if answered is not None:
        plan.add(
            answered,
            ro.REVIEW_OPINION,
            rid,
            where,
            unit_actor(unit_id),
            partial(_answer_opinion, now=answered),
        )


def _opinion_overdue(s: ro.ReviewOpinion, w: States, *, now: datetime) -> list[Event]:
    return ro.decide_overdue(s, now=now)


def _answer_opinion(s: ro.ReviewOpinion, w: States, *, now: datetime) -> list[Event]:
    return ro.decide_answer(s, content="已按审议意见逐条整改，整改情况报告如下。", now=now)
