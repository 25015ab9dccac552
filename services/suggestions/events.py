"""Events of the suggestions context, named as in the contract.

Every event carries the ids and the ``jurisdiction`` code (a township or street, 9 digits; a
county, 6 digits, for an escalated suggestion) that the read side needs, and every time that
decides a figure (``due_at``, ``replied_at`` …) is decided once by the command and stored here:
projections read only events and never recompute a deadline.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from libs.events.event import Event, upcaster

Complexity = Literal["normal", "complex"]
Result = Literal["A", "B", "C"]
Satisfaction = Literal["satisfied", "basically_satisfied", "unsatisfied"]
ConsultationMode = Literal["face_to_face", "phone", "online"]
Source = Literal["deputy", "constituents_opinion", "inspection", "joint_inspection", "escalation"]
ClosedBecause = Literal["satisfied", "merged", "escalated"]


# -- organizer units -----------------------------------------------------------------------------
class OrganizerUnitRegistered(Event, version=2):
    unit_id: str
    jurisdiction: str
    name: str
    kind: str  # e.g. "township_office", "station", "county_department"
    registered_at: datetime
    head: str = ""  # 负责人: loses award eligibility with the unit ("" when not given)
    deputy_head: str = ""  # 主管副职
    supervising_department: str = ""  # 主管局委
    email: str | None = None  # where the unit's notifications go (the notify service reads them here)
    phone: str | None = None


@upcaster(OrganizerUnitRegistered, from_version=1)
def _unit_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 demanded ``head`` and ``deputy_head`` and had no contacts."""
    return {**data, "supervising_department": "", "email": None, "phone": None}


# -- suggestions ---------------------------------------------------------------------------------
class SuggestionSubmitted(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    title: str
    content: str
    deputy_ids: tuple[str, ...]  # the lead deputy first, then co-submitters (联名)
    category: str
    submitted_during: Literal["session", "recess"]
    meeting_id: str | None = None
    source: Source = "deputy"
    source_id: str | None = None  # opinion, finding or escalated suggestion it came from
    submitted_at: datetime


class SuggestionAssigned(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    lead_unit_id: str
    co_unit_ids: tuple[str, ...] = ()
    complexity: Complexity
    responsible_leader: str
    handler: str | None = None
    assigned_by_role: str
    assigned_at: datetime
    round: int  # handling round opened by this assignment (1)
    due_at: datetime  # decided once, never recomputed
    return_by: datetime  # end of the return window (退办)


class SuggestionAcknowledged(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    unit_id: str
    acknowledged_at: datetime


class SuggestionReturned(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    unit_id: str
    round: int  # the round withdrawn with the assignment; it never counts
    reason: str
    returned_at: datetime


class ConsultationHeld(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    unit_id: str
    round: int
    held_on: date
    mode: ConsultationMode
    summary: str
    recorded_at: datetime


class SuggestionReplied(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    unit_id: str
    round: int
    result: Result
    content: str
    promised_by: date | None = None  # B
    measures: str | None = None  # B
    reason: str | None = None  # C
    consultation_modes: tuple[ConsultationMode, ...] = ()  # consultations of this round before the reply
    due_at: datetime  # the round's deadline at the time of the reply
    replied_at: datetime


class ReplyReminderDue(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    unit_id: str
    round: int
    due_at: datetime
    lead_time: str  # the configured lead time, e.g. "P14D"
    remind_at: datetime


class ReplyOverdue(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    unit_id: str
    round: int
    due_at: datetime
    deputy_ids: tuple[str, ...]
    detected_at: datetime


class DeadlineExtended(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    unit_id: str
    round: int
    previous_due_at: datetime
    new_due_at: datetime
    reason: str
    approved_by_role: str
    extended_at: datetime


class SatisfactionEvaluated(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    lead_unit_id: str  # the unit the (un)satisfied result counts against
    round: int
    deputy_id: str
    satisfaction: Satisfaction
    comment: str = ""
    evaluated_at: datetime


class RehandlingStarted(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    lead_unit_id: str
    round: int  # the new round (2, 3 …)
    started_at: datetime
    due_at: datetime  # decided once


class PromiseCarriedOut(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    lead_unit_id: str
    round: int  # round of the B reply that made the promise
    promised_by: date
    carried_out_on: date
    summary: str
    recorded_at: datetime


class PromiseOverdue(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    lead_unit_id: str
    round: int
    promised_by: date
    deputy_ids: tuple[str, ...]
    detected_at: datetime


class KeySupervisionSet(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    reason: str
    set_by_role: str
    set_at: datetime


class SuggestionClosed(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    because: ClosedBecause
    satisfaction: Satisfaction | None = None
    merged_into: str | None = None
    escalated_to: str | None = None
    closed_at: datetime


class SuggestionMerged(Event, version=1):
    """On the merged suggestion (并案); it is closed as merged in the same command."""

    suggestion_id: str
    jurisdiction: str
    into_id: str
    deputy_ids: tuple[str, ...]  # become co-submitters of the target
    reason: str
    merged_at: datetime


class CoSubmittersAdded(Event, version=1):
    """On the target of a merge: the merged suggestion's deputies join as co-submitters."""

    suggestion_id: str
    jurisdiction: str
    deputy_ids: tuple[str, ...]  # only the new ones
    merged_from: str
    added_at: datetime


class AttachmentAdded(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    attachment_id: str
    filename: str
    content_type: str
    sha256: str
    size: int
    added_at: datetime


class SuggestionEscalated(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    county: str
    escalated_to: str  # the linked county-level suggestion
    reason: str
    escalated_at: datetime


class UnsatisfiedJustified(Event, version=1):
    suggestion_id: str
    jurisdiction: str
    lead_unit_id: str
    reason: str
    justified_at: datetime


class SuggestionSentBack(Event, version=1):
    """退回修改 (the 三关 review of a submitted suggestion): staff send it back to its deputies."""

    suggestion_id: str
    jurisdiction: str
    reason: str  # what to revise: law, content or form (法律法规关、内容质量关、文字格式关)
    sent_back_by_role: str
    sent_back_at: datetime


class SuggestionRevised(Event, version=1):
    """The lead deputy's revision of a sent-back suggestion; it is back in the staff's queue.

    Only the fields the deputy changed are given (None: kept as they were).
    """

    suggestion_id: str
    jurisdiction: str
    deputy_id: str
    title: str | None = None
    content: str | None = None
    category: str | None = None
    revised_at: datetime


# -- constituents' opinions ----------------------------------------------------------------------
class ConstituentOpinionRecorded(Event, version=1):
    opinion_id: str
    jurisdiction: str  # the township
    deputy_id: str
    on: date
    place: str
    content: str
    people_count: int
    recorded_at: datetime


class ConstituentOpinionConverted(Event, version=1):
    opinion_id: str
    jurisdiction: str
    suggestion_id: str
    converted_at: datetime


class ConstituentOpinionAnswered(Event, version=1):
    opinion_id: str
    jurisdiction: str
    content: str
    answered_at: datetime
