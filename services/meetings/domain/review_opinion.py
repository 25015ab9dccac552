"""The ReviewOpinion aggregate (审议意见): sent to a government unit after an inspection or a
special-report hearing; the unit's feedback is due ``RENDA_REVIEW_OPINION_DEADLINE`` after
sending (decided once), reminded at each lead time exactly once and raised overdue exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from libs.config.durations import CalendarDuration
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.meetings.domain.errors import (
    AlreadyAnswered,
    InvalidInput,
    InvalidTransition,
    ReviewOpinionNotAllowed,
)
from services.meetings.domain.meeting import HELD, Meeting
from services.meetings.events import (
    ReviewOpinionAnswered,
    ReviewOpinionOverdue,
    ReviewOpinionReminderDue,
    ReviewOpinionSent,
)

Status = Literal["new", "sent", "answered"]
REVIEWABLE_KINDS: frozenset[str] = frozenset({"inspection", "special_report_hearing"})


@dataclass(frozen=True)
class ReviewOpinion:
    id: str
    status: Status = "new"
    meeting_id: str = ""
    body: str = ""
    to_unit_id: str = ""
    sent_at: datetime | None = None
    due_at: datetime | None = None
    reminded: frozenset[str] = frozenset()  # lead times already reminded
    overdue_for: datetime | None = None
    answered_at: datetime | None = None
    on_time: bool | None = None


@dataclass(frozen=True)
class SendReviewOpinion:
    review_opinion_id: str  # the handler derives it from the command id
    agenda_index: int
    to_unit_id: str
    content: str
    meeting_id: str = ""  # the held meeting it follows (``decide_send`` gets that meeting itself)


@dataclass(frozen=True)
class AnswerReviewOpinion:
    review_opinion_id: str
    content: str


def initial(review_opinion_id: str) -> ReviewOpinion:
    return ReviewOpinion(id=review_opinion_id)


def evolve(r: ReviewOpinion, e: Event) -> ReviewOpinion:
    match e:
        case ReviewOpinionSent():
            return ReviewOpinion(
                id=e.review_opinion_id,
                status="sent",
                meeting_id=e.meeting_id,
                body=e.body,
                to_unit_id=e.to_unit_id,
                sent_at=e.sent_at,
                due_at=e.due_at,
            )
        case ReviewOpinionReminderDue():
            return replace(r, reminded=r.reminded | frozenset(e.leads))
        case ReviewOpinionOverdue():
            return replace(r, overdue_for=e.due_at)
        case ReviewOpinionAnswered():
            return replace(r, status="answered", answered_at=e.answered_at, on_time=e.on_time)
    return r


REVIEW_OPINION: AggregateType[ReviewOpinion] = AggregateType(
    name="review_opinion", context="meetings", initial=initial, evolve=evolve
)


def decide_send(
    r: ReviewOpinion,
    c: SendReviewOpinion,
    *,
    meeting: Meeting,
    deadline: CalendarDuration,
    tz: ZoneInfo,
    now: datetime,
) -> list[Event]:
    """Only after a held inspection or special-report hearing; ``due_at`` = now + ``deadline``."""
    if r.status != "new":
        raise InvalidTransition(r.status, "send_review_opinion")
    if meeting.kind not in REVIEWABLE_KINDS or meeting.kind is None:
        raise ReviewOpinionNotAllowed()
    if meeting.status not in HELD:
        raise InvalidTransition(meeting.status, "send_review_opinion")
    if not 0 <= c.agenda_index < len(meeting.agenda):
        raise InvalidInput("agenda_index", f"议程序号 {c.agenda_index} 不存在。")
    if not c.to_unit_id.strip():
        raise InvalidInput("to_unit_id", "请指定接收审议意见的单位。")
    if not c.content.strip():
        raise InvalidInput("content", "审议意见内容不能为空。")
    return [
        ReviewOpinionSent(
            review_opinion_id=c.review_opinion_id,
            meeting_id=meeting.id,
            meeting_kind=meeting.kind,
            body=meeting.body,
            agenda_index=c.agenda_index,
            to_unit_id=c.to_unit_id.strip(),
            content=c.content.strip(),
            sent_at=now,
            due_at=deadline.after(now, tz),
            joint_inspection_id=meeting.joint_inspection_id,
        )
    ]


def decide_remind(
    r: ReviewOpinion, *, lead_times: Sequence[CalendarDuration], tz: ZoneInfo, now: datetime
) -> list[Event]:
    """One reminder covering every lead time that has come since the last look, each only once.

    A lead time that had already come when the opinion was sent (a deadline shorter than the
    lead) is covered by the first reminder, so a unit is never told twice at the same moment.
    """
    if r.status != "sent" or r.due_at is None or now >= r.due_at:
        return []
    due = tuple(lead.text for lead in lead_times if lead.text not in r.reminded and now >= lead.before(r.due_at, tz))
    if not due:
        return []
    return [
        ReviewOpinionReminderDue(
            review_opinion_id=r.id, to_unit_id=r.to_unit_id, due_at=r.due_at, leads=tuple(dict.fromkeys(due))
        )
    ]


def decide_overdue(r: ReviewOpinion, *, now: datetime) -> list[Event]:
    if r.status != "sent" or r.due_at is None or now < r.due_at:
        return []
    if r.overdue_for == r.due_at:
        return []  # a retry or a second watcher decides nothing
    return [ReviewOpinionOverdue(review_opinion_id=r.id, to_unit_id=r.to_unit_id, due_at=r.due_at)]


def decide_answer(r: ReviewOpinion, *, content: str, now: datetime) -> list[Event]:
    """The unit's feedback; late feedback is accepted and recorded as not on time."""
    if r.status == "answered":
        raise AlreadyAnswered()
    if r.status != "sent" or r.due_at is None:
        raise InvalidTransition(r.status, "answer_review_opinion")
    if not content.strip():
        raise InvalidInput("content", "反馈内容不能为空。")
    return [
        ReviewOpinionAnswered(
            review_opinion_id=r.id,
            to_unit_id=r.to_unit_id,
            content=content.strip(),
            answered_at=now,
            on_time=now <= r.due_at,
        )
    ]
