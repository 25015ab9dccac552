"""Commands of the Meeting aggregate and the normalisation of their input (trimmed, de-duplicated)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.meetings.domain.errors import InvalidInput
from services.meetings.events import AgendaItem, MeetingKind

# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleMeeting:
    meeting_id: str
    kind: MeetingKind
    body: str
    title: str
    starts_at: datetime
    ends_at: datetime
    venue: str = ""
    agenda: tuple[str, ...] = ()
    invitee_ids: tuple[str, ...] = ()
    observers: tuple[str, ...] = ()
    group_id: str | None = None
    joint_inspection_id: str | None = None


# Commands on an existing meeting name it in ``meeting_id`` (last, so the domain's own tests may
# leave it out: ``decide_*`` get the meeting's state, the handler loads it by this id).
@dataclass(frozen=True)
class ChangeMeeting:
    """``None`` leaves a field as it is."""

    title: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    venue: str | None = None
    agenda: tuple[str, ...] | None = None
    invitee_ids: tuple[str, ...] | None = None
    observers: tuple[str, ...] | None = None
    meeting_id: str = ""


@dataclass(frozen=True)
class CancelMeeting:
    meeting_id: str
    reason: str = ""


@dataclass(frozen=True)
class RecordAttendance:
    present: tuple[str, ...] = ()
    on_leave: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    meeting_id: str = ""


@dataclass(frozen=True)
class ConveneMeeting:
    meeting_id: str


@dataclass(frozen=True)
class HoldVote:
    agenda_index: int
    yes: int
    no: int
    abstain: int
    motion: str = ""  # default: the agenda item's title
    resolution_title: str = ""  # default: the motion
    meeting_id: str = ""


@dataclass(frozen=True)
class RecordSpeech:
    speaker_id: str
    summary: str
    agenda_index: int | None = None
    meeting_id: str = ""


@dataclass(frozen=True)
class AdjournMeeting:
    meeting_id: str
    notes: str = ""


# --- checks -----------------------------------------------------------------------------------


def unique(ids: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.strip() for i in ids if i.strip()))


def agenda_of(titles: tuple[str, ...]) -> tuple[AgendaItem, ...]:
    for t in titles:
        check_text("agenda", t, "议程的每一项都要有标题。")
    return tuple(AgendaItem(title=t.strip()) for t in titles)


def check_text(name: str, value: str, message: str) -> None:
    if not value.strip():
        raise InvalidInput(name, message)


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or starts_at.utcoffset() is None:
        raise InvalidInput("starts_at", "开始时间必须带时区。")
    if ends_at.tzinfo is None or ends_at.utcoffset() is None:
        raise InvalidInput("ends_at", "结束时间必须带时区。")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at", "结束时间必须晚于开始时间。")
