"""Events of the meetings context, named as in the contract. Each class is its stored schema.

Events carry what read models and notifications need (body code, kind, group, times, invitees),
and every value decided by a rule (quorum, majority, ``due_at``, minutes hash) is decided once
and stored, never recomputed on replay.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from libs.events.event import Event

MeetingKind = Literal["congress_session", "presidium_meeting", "group_activity", "inspection", "special_report_hearing"]
AttendanceStatus = Literal["present", "on_leave", "absent"]


class AgendaItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str


class LinkedInspection(BaseModel):
    """One participating township (or street) of a joint inspection and its own inspection meeting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    township: str
    meeting_id: str


# --- meetings ---------------------------------------------------------------------------------


class MeetingScheduled(Event, version=1):
    meeting_id: str
    kind: MeetingKind
    body: str  # jurisdiction code of the congress, presidium, group's township or inspecting body
    title: str
    starts_at: datetime
    ends_at: datetime
    venue: str = ""
    agenda: tuple[AgendaItem, ...] = ()
    invitee_ids: tuple[str, ...] = ()
    observers: tuple[str, ...] = ()
    group_id: str | None = None  # group activities
    joint_inspection_id: str | None = None  # a township's inspection within a joint inspection


class MeetingChanged(Event, version=1):
    """The meeting as it now stands (every field), plus who was added or dropped from the invitees."""

    meeting_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    agenda: tuple[AgendaItem, ...]
    invitee_ids: tuple[str, ...]
    observers: tuple[str, ...]
    added_invitee_ids: tuple[str, ...] = ()
    removed_invitee_ids: tuple[str, ...] = ()


class MeetingCancelled(Event, version=1):
    meeting_id: str
    reason: str = ""
    invitee_ids: tuple[str, ...] = ()  # to tell them


class AttendanceRecorded(Event, version=1):
    """Attendance of the people named here; a later record overrides an earlier one per person."""

    meeting_id: str
    present: tuple[str, ...] = ()
    on_leave: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()


class MeetingConvened(Event, version=1):
    meeting_id: str
    kind: MeetingKind
    body: str
    convened_at: datetime
    present: int  # members present when convened
    members: int  # all members as of the meeting date (deputies of the congress, presidium members)
    needed: int  # the quorum applied; 0 for kinds without one
    member_ids: tuple[str, ...] = ()


class VoteHeld(Event, version=1):
    meeting_id: str
    vote_index: int
    agenda_index: int
    motion: str
    yes: int
    no: int
    abstain: int
    present: int
    members: int
    passed: bool  # more than half of ALL members voted yes


class ResolutionAdopted(Event, version=1):
    meeting_id: str
    resolution_index: int
    vote_index: int
    agenda_index: int
    title: str


class SpeechRecorded(Event, version=1):
    meeting_id: str
    speaker_id: str
    summary: str
    agenda_index: int | None = None


class MeetingAdjourned(Event, version=1):
    meeting_id: str
    kind: MeetingKind
    body: str
    adjourned_at: datetime
    minutes: dict[str, Any]  # generated from the meeting's events; see minutes.py
    minutes_sha256: str  # SHA-256 of the canonical encoding of ``minutes``
    invitee_ids: tuple[str, ...] = ()  # for the deputies' dossiers: invited …
    present_ids: tuple[str, ...] = ()  # … and attended
    group_id: str | None = None


# --- review opinions (审议意见) -----------------------------------------------------------------


class ReviewOpinionSent(Event, version=1):
    review_opinion_id: str
    meeting_id: str
    meeting_kind: MeetingKind
    body: str
    agenda_index: int
    to_unit_id: str
    content: str
    sent_at: datetime
    due_at: datetime  # decided once, never recomputed
    joint_inspection_id: str | None = None


class ReviewOpinionReminderDue(Event, version=1):
    review_opinion_id: str
    to_unit_id: str
    due_at: datetime
    leads: tuple[str, ...]  # the lead times (ISO-8601) this reminder covers, each reminded once


class ReviewOpinionOverdue(Event, version=1):
    review_opinion_id: str
    to_unit_id: str
    due_at: datetime


class ReviewOpinionAnswered(Event, version=1):
    review_opinion_id: str
    to_unit_id: str
    content: str
    answered_at: datetime
    on_time: bool  # answered by ``due_at``


# --- joint inspections (县乡联动) ----------------------------------------------------------------


class JointInspectionLaunched(Event, version=1):
    joint_inspection_id: str
    county: str
    theme: str
    window_start: date
    window_end: date
    requirements: str
    steps: tuple[str, ...]
    inspections: tuple[LinkedInspection, ...]
    law: str | None = None


class InspectionFindingRecorded(Event, version=1):
    """A finding; with ``unit_id`` it is to become a suggestion assigned to that unit."""

    joint_inspection_id: str
    finding_id: str
    county: str
    township: str
    meeting_id: str
    description: str
    recorded_at: datetime
    unit_id: str | None = None
    deputy_ids: tuple[str, ...] = ()  # deputies who raised it: the suggestion's submitters
