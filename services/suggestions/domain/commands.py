"""Commands of the suggestions context: what a caller asks for, as plain frozen values.

Who acts (role, unit, deputy), the clock and the configured rules are not part of a command:
the ``decide_*`` functions receive them as keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from services.suggestions.events import Complexity, ConsultationMode, Result, Satisfaction, Source


@dataclass(frozen=True)
class RegisterOrganizerUnit:
    unit_id: str
    jurisdiction: str
    name: str
    kind: str
    head: str = ""  # 负责人 (optional: named in the unsatisfied-limit flag when given)
    deputy_head: str = ""  # 分管副职
    supervising_department: str = ""  # 主管局委
    email: str | None = None  # where the unit's notifications go
    phone: str | None = None


@dataclass(frozen=True)
class SubmitSuggestion:
    suggestion_id: str
    jurisdiction: str
    title: str
    content: str
    deputy_ids: tuple[str, ...]  # lead first
    category: str = ""
    submitted_during: str = "recess"  # "session" | "recess"
    meeting_id: str | None = None
    source: Source = "deputy"
    source_id: str | None = None


@dataclass(frozen=True)
class AssignSuggestion:
    suggestion_id: str
    lead_unit_id: str
    responsible_leader: str
    co_unit_ids: tuple[str, ...] = ()
    complexity: Complexity = "normal"
    handler: str | None = None


@dataclass(frozen=True)
class AcknowledgeSuggestion:
    suggestion_id: str


@dataclass(frozen=True)
class ReturnSuggestion:
    suggestion_id: str
    reason: str


@dataclass(frozen=True)
class RecordConsultation:
    suggestion_id: str
    held_on: date
    mode: ConsultationMode
    summary: str


@dataclass(frozen=True)
class ReplyToSuggestion:
    suggestion_id: str
    result: Result
    content: str
    promised_by: date | None = None
    measures: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class EvaluateSuggestion:
    suggestion_id: str
    satisfaction: Satisfaction
    comment: str = ""


@dataclass(frozen=True)
class RecordImplementation:
    suggestion_id: str
    carried_out_on: date
    summary: str


@dataclass(frozen=True)
class ExtendDeadline:
    suggestion_id: str
    new_due_at: datetime
    reason: str


@dataclass(frozen=True)
class SetKeySupervision:
    suggestion_id: str
    reason: str


@dataclass(frozen=True)
class MergeSuggestion:
    suggestion_id: str
    into_id: str
    reason: str


@dataclass(frozen=True)
class AddAttachment:
    suggestion_id: str
    attachment_id: str  # derived from the command id and the content by the handler
    filename: str
    content_type: str
    sha256: str
    size: int


@dataclass(frozen=True)
class EscalateSuggestion:
    suggestion_id: str
    escalated_to: str  # id of the county-level suggestion to submit ("": derived by the handler)
    reason: str


@dataclass(frozen=True)
class JustifyUnsatisfied:
    suggestion_id: str
    reason: str


@dataclass(frozen=True)
class SendBackSuggestion:
    """退回修改: staff send a submitted suggestion back to its deputies (the 三关 review)."""

    suggestion_id: str
    reason: str


@dataclass(frozen=True)
class ReviseSuggestion:
    """The lead deputy's revision of a sent-back suggestion; None keeps a field as it was."""

    suggestion_id: str
    title: str | None = None
    content: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class RecordOpinion:
    opinion_id: str
    jurisdiction: str
    deputy_id: str
    on: date
    place: str
    content: str
    people_count: int


@dataclass(frozen=True)
class ConvertOpinion:
    opinion_id: str
    suggestion_id: str = ""  # derived by the handler
    title: str | None = None


@dataclass(frozen=True)
class AnswerOpinion:
    opinion_id: str
    content: str
