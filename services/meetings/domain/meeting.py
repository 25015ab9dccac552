"""The Meeting aggregate: scheduling, attendance, quorum, votes, resolutions, speeches, minutes.
``evolve`` never raises and reads neither clock nor settings; ``decide_*`` get everything else (the
members as of the meeting date, the body's kind, ``now``, the zone) as plain values, and refuse
with a ``DomainError``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any, Literal

from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.meetings.domain import minutes as minutes_
from services.meetings.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotCurrentMember,
    NotForStreet,
    NotInvitee,
    QuorumNotMet,
    TallyExceedsPresent,
    VoteNotAllowed,
)
from services.meetings.domain.meeting_commands import (
    ChangeMeeting,
    HoldVote,
    RecordAttendance,
    RecordSpeech,
    ScheduleMeeting,
    agenda_of,
    check_text,
    check_times,
    unique,
)
from services.meetings.domain.quorum import Quorum, majority_passes, needed_for_quorum
from services.meetings.events import (
    AgendaItem,
    AttendanceRecorded,
    AttendanceStatus,
    MeetingAdjourned,
    MeetingCancelled,
    MeetingChanged,
    MeetingConvened,
    MeetingKind,
    MeetingScheduled,
    ResolutionAdopted,
    SpeechRecorded,
    VoteHeld,
)

Status = Literal["new", "scheduled", "convened", "adjourned", "cancelled"]

TOWNSHIP_ONLY: frozenset[str] = frozenset({"congress_session", "presidium_meeting"})  # refused for streets
QUORUM_KINDS = TOWNSHIP_ONLY  # open with two thirds of all members
VOTING_KINDS = TOWNSHIP_ONLY  # decide by more than half of all members
HELD: frozenset[str] = frozenset({"convened", "adjourned"})


@dataclass(frozen=True)
class Vote:
    vote_index: int
    agenda_index: int
    motion: str
    yes: int
    no: int
    abstain: int
    present: int
    members: int
    passed: bool


@dataclass(frozen=True)
class Resolution:
    resolution_index: int
    vote_index: int
    agenda_index: int
    title: str


@dataclass(frozen=True)
class Speech:
    speaker_id: str
    summary: str
    agenda_index: int | None = None


@dataclass(frozen=True)
class Meeting:
    id: str
    status: Status = "new"
    kind: MeetingKind | None = None
    body: str = ""
    title: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    venue: str = ""
    agenda: tuple[AgendaItem, ...] = ()
    invitee_ids: tuple[str, ...] = ()
    observers: tuple[str, ...] = ()
    group_id: str | None = None
    joint_inspection_id: str | None = None
    attendance: Mapping[str, AttendanceStatus] = field(default_factory=dict)
    convened_at: datetime | None = None
    member_ids: frozenset[str] = frozenset()  # fixed when convened
    needed: int = 0
    votes: tuple[Vote, ...] = ()
    resolutions: tuple[Resolution, ...] = ()
    speeches: tuple[Speech, ...] = ()
    cancel_reason: str = ""
    adjourned_at: datetime | None = None
    minutes: Mapping[str, Any] | None = None
    minutes_sha256: str | None = None

    def with_status(self, status: AttendanceStatus) -> tuple[str, ...]:
        return tuple(sorted(p for p, s in self.attendance.items() if s == status))


def initial(meeting_id: str) -> Meeting:
    return Meeting(id=meeting_id)


def evolve(m: Meeting, e: Event) -> Meeting:
    match e:
        case MeetingScheduled():
            return Meeting(id=e.meeting_id, status="scheduled", **_fields(e, "meeting_id"))
        case MeetingChanged():
            kept = {p: s for p, s in m.attendance.items() if p in e.invitee_ids}
            return replace(
                m,
                title=e.title,
                starts_at=e.starts_at,
                ends_at=e.ends_at,
                venue=e.venue,
                agenda=e.agenda,
                invitee_ids=e.invitee_ids,
                observers=e.observers,
                attendance=kept,
            )
        case MeetingCancelled():
            return replace(m, status="cancelled", cancel_reason=e.reason)
        case AttendanceRecorded():
            marks: dict[str, AttendanceStatus] = dict(m.attendance)
            marks.update(dict.fromkeys(e.present, "present"))
            marks.update(dict.fromkeys(e.on_leave, "on_leave"))
            marks.update(dict.fromkeys(e.absent, "absent"))
            return replace(m, attendance=marks)
        case MeetingConvened():
            return replace(
                m,
                status="convened",
                convened_at=e.convened_at,
                member_ids=frozenset(e.member_ids),
                needed=e.needed,
            )
        case VoteHeld():
            return replace(m, votes=(*m.votes, Vote(**_fields(e, "meeting_id"))))
        case ResolutionAdopted():
            resolution = Resolution(e.resolution_index, e.vote_index, e.agenda_index, e.title)
            return replace(m, resolutions=(*m.resolutions, resolution))
        case SpeechRecorded():
            return replace(m, speeches=(*m.speeches, Speech(e.speaker_id, e.summary, e.agenda_index)))
        case MeetingAdjourned():
            return replace(
                m,
                status="adjourned",
                adjourned_at=e.adjourned_at,
                minutes=e.minutes,
                minutes_sha256=e.minutes_sha256,
            )
    return m


def _fields(e: Event, *skip: str) -> dict[str, Any]:
    return {name: getattr(e, name) for name in type(e).model_fields if name not in skip}


MEETING: AggregateType[Meeting] = AggregateType(name="meeting", context="meetings", initial=initial, evolve=evolve)


def quorum_of(m: Meeting, members: frozenset[str] | None = None) -> Quorum:
    """The live quorum: once convened, against the members fixed then; before, against ``members``
    (computed by the caller as of the meeting date; for kinds without a quorum, the invitees)."""
    if m.status in HELD or m.convened_at is not None:
        base = m.member_ids
        needed = m.needed
    else:
        base = members if members is not None else frozenset(m.invitee_ids)
        needed = needed_for_quorum(len(base)) if m.kind in QUORUM_KINDS else 0
    present = sum(1 for p, s in m.attendance.items() if s == "present" and p in base)
    return Quorum(present=present, members=len(base), needed=needed)


def decide_schedule(m: Meeting, c: ScheduleMeeting, *, is_street: bool, body_kind: str | None = None) -> list[Event]:
    """Sessions and presidium meetings are a township's only: a street is refused ``not_for_street`` (403,
    as in every context), a county or city ``body_kind`` is the wrong level (422 ``body``)."""
    if m.status != "new":
        raise InvalidTransition(m.status, "schedule")
    if body_kind is not None:
        is_street = body_kind == "street"
        if c.kind in TOWNSHIP_ONLY and body_kind not in ("township", "street"):
            raise InvalidInput("body", "人民代表大会会议和主席团会议只在乡镇召开，请填写乡镇的 9 位区划代码。")
    if c.kind in TOWNSHIP_ONLY and is_street:
        raise NotForStreet()
    if c.kind == "group_activity" and not c.group_id:
        raise InvalidInput("group_id", "代表小组活动必须指明代表小组。")
    check_text("title", c.title, "会议名称不能为空。")
    check_times(c.starts_at, c.ends_at)
    return [
        MeetingScheduled(
            meeting_id=c.meeting_id,
            kind=c.kind,
            body=c.body,
            title=c.title.strip(),
            starts_at=c.starts_at,
            ends_at=c.ends_at,
            venue=c.venue.strip(),
            agenda=agenda_of(c.agenda),
            invitee_ids=unique(c.invitee_ids),
            observers=unique(c.observers),
            group_id=c.group_id,
            joint_inspection_id=c.joint_inspection_id,
        )
    ]


def decide_change(m: Meeting, c: ChangeMeeting) -> list[Event]:
    if m.status != "scheduled":
        raise InvalidTransition(m.status, "change")
    assert m.starts_at is not None and m.ends_at is not None
    title = m.title if c.title is None else c.title.strip()
    check_text("title", title, "会议名称不能为空。")
    starts_at = c.starts_at or m.starts_at
    ends_at = c.ends_at or m.ends_at
    check_times(starts_at, ends_at)
    agenda = m.agenda if c.agenda is None else agenda_of(c.agenda)
    invitees = m.invitee_ids if c.invitee_ids is None else unique(c.invitee_ids)
    observers = m.observers if c.observers is None else unique(c.observers)
    venue = m.venue if c.venue is None else c.venue.strip()
    now = (title, starts_at, ends_at, venue, agenda, invitees, observers)
    if now == (m.title, m.starts_at, m.ends_at, m.venue, m.agenda, m.invitee_ids, m.observers):
        return []
    return [
        MeetingChanged(
            meeting_id=m.id,
            title=title,
            starts_at=starts_at,
            ends_at=ends_at,
            venue=venue,
            agenda=agenda,
            invitee_ids=invitees,
            observers=observers,
            added_invitee_ids=tuple(p for p in invitees if p not in m.invitee_ids),
            removed_invitee_ids=tuple(p for p in m.invitee_ids if p not in invitees),
        )
    ]


def decide_cancel(m: Meeting, *, reason: str = "") -> list[Event]:
    if m.status == "cancelled":
        return []  # cancelling twice changes nothing
    if m.status != "scheduled":
        raise InvalidTransition(m.status, "cancel")
    return [MeetingCancelled(meeting_id=m.id, reason=reason.strip(), invitee_ids=m.invitee_ids)]


def decide_record_attendance(m: Meeting, c: RecordAttendance, *, current_members: frozenset[str]) -> list[Event]:
    """Only invitees who are current members (as of the meeting date) may be listed."""
    if m.status not in ("scheduled", "convened"):
        raise InvalidTransition(m.status, "record_attendance")
    lists = {"present": unique(c.present), "on_leave": unique(c.on_leave), "absent": unique(c.absent)}
    named = [p for ids in lists.values() for p in ids]
    twice = sorted({p for p in named if named.count(p) > 1})
    if twice:
        raise InvalidInput("present", f"同一人不能同时登记为两种出席状态：{'、'.join(twice)}。")
    invited = set(m.invitee_ids)
    strangers = sorted(p for p in named if p not in invited)
    if strangers:
        raise NotInvitee(strangers)
    outsiders = sorted(p for p in named if p not in current_members)
    if outsiders:
        raise NotCurrentMember(outsiders)
    if all(m.attendance.get(p) == s for s, ids in lists.items() for p in ids):
        return []  # nothing new: a retry records nothing twice
    return [AttendanceRecorded(meeting_id=m.id, **lists)]


def decide_convene(m: Meeting, *, members: frozenset[str] | None, now: datetime) -> list[Event]:
    """``members``: for a congress session every current deputy of that congress, for a presidium
    meeting its members, both as of the meeting date; for other kinds ``None`` (the invitees)."""
    if m.status != "scheduled":
        raise InvalidTransition(m.status, "convene")
    if m.kind in QUORUM_KINDS and members is None:
        raise ValueError("the members as of the meeting date are required to convene this kind")
    q = quorum_of(m, members)
    if m.kind in QUORUM_KINDS and not q.met:
        raise QuorumNotMet(present=q.present, members=q.members, needed=q.needed)
    base = members if members is not None else frozenset(m.invitee_ids)
    assert m.kind is not None
    return [
        MeetingConvened(
            meeting_id=m.id,
            kind=m.kind,
            body=m.body,
            convened_at=now,
            present=q.present,
            members=q.members,
            needed=q.needed,
            member_ids=tuple(sorted(base)),
        )
    ]


def decide_vote(m: Meeting, c: HoldVote) -> list[Event]:
    """Passes by more than half of ALL members; a tally larger than those present is refused (422)."""
    if m.kind not in VOTING_KINDS:
        raise VoteNotAllowed()
    if m.status != "convened":
        raise InvalidTransition(m.status, "vote")
    _check_agenda_index(m, c.agenda_index)
    for name in ("yes", "no", "abstain"):
        if getattr(c, name) < 0:
            raise InvalidInput(name, "票数不能为负数。")
    q = quorum_of(m)
    tally = c.yes + c.no + c.abstain
    if tally > q.present:
        raise TallyExceedsPresent(tally=tally, present=q.present)
    motion = c.motion.strip() or m.agenda[c.agenda_index].title
    passed = majority_passes(c.yes, q.members)
    index = len(m.votes)
    events: list[Event] = [
        VoteHeld(
            meeting_id=m.id,
            vote_index=index,
            agenda_index=c.agenda_index,
            motion=motion,
            yes=c.yes,
            no=c.no,
            abstain=c.abstain,
            present=q.present,
            members=q.members,
            passed=passed,
        )
    ]
    if passed:
        title = c.resolution_title.strip() or motion
        events.append(
            ResolutionAdopted(
                meeting_id=m.id,
                resolution_index=len(m.resolutions),
                vote_index=index,
                agenda_index=c.agenda_index,
                title=title,
            )
        )
    return events


def decide_speech(m: Meeting, c: RecordSpeech) -> list[Event]:
    if m.status != "convened":
        raise InvalidTransition(m.status, "record_speech")
    if c.speaker_id not in m.invitee_ids and c.speaker_id not in m.observers:
        raise NotInvitee([c.speaker_id])
    check_text("summary", c.summary, "发言摘要不能为空。")
    if c.agenda_index is not None:
        _check_agenda_index(m, c.agenda_index)
    return [
        SpeechRecorded(meeting_id=m.id, speaker_id=c.speaker_id, summary=c.summary.strip(), agenda_index=c.agenda_index)
    ]


def decide_adjourn(m: Meeting, *, notes: str = "", now: datetime, tz: tzinfo | None = None) -> list[Event]:
    """Closes the meeting with minutes generated from its state and their SHA-256.

    ``tz``: the zone the minutes print their times in (``RENDA_TIMEZONE``), each with its offset.
    """
    if m.status != "convened":
        raise InvalidTransition(m.status, "adjourn")
    assert m.kind is not None
    generated = minutes_.build_minutes(m, adjourned_at=now, notes=notes.strip(), tz=tz)
    return [
        MeetingAdjourned(
            meeting_id=m.id,
            kind=m.kind,
            body=m.body,
            adjourned_at=now,
            minutes=generated,
            minutes_sha256=minutes_.minutes_sha256(generated),
            invitee_ids=m.invitee_ids,
            present_ids=m.with_status("present"),
            group_id=m.group_id,
        )
    ]


def _check_agenda_index(m: Meeting, index: int) -> None:
    if not 0 <= index < len(m.agenda):
        raise InvalidInput("agenda_index", f"议程序号 {index} 不存在（本次会议共 {len(m.agenda)} 项议程）。")
