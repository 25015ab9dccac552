"""State of the Suggestion aggregate and its pure fold ``evolve``.

One ``Round`` per handling round (the first after assignment, one per re-handling), each with
its own due_at, consultations, reply and evaluation: the on-time figures count rounds. ``evolve``
never raises, never reads the clock or the settings, so replay is exact when rules change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.suggestions.domain.errors import (
    InvalidInput,
    NotLeadUnit,
    SuggestionNotFound,
    WrongTransition,
)
from services.suggestions.events import (
    AttachmentAdded,
    ConsultationHeld,
    ConsultationMode,
    CoSubmittersAdded,
    DeadlineExtended,
    KeySupervisionSet,
    PromiseCarriedOut,
    PromiseOverdue,
    RehandlingStarted,
    ReplyOverdue,
    ReplyReminderDue,
    SatisfactionEvaluated,
    SuggestionAcknowledged,
    SuggestionAssigned,
    SuggestionClosed,
    SuggestionEscalated,
    SuggestionMerged,
    SuggestionReplied,
    SuggestionReturned,
    SuggestionRevised,
    SuggestionSentBack,
    SuggestionSubmitted,
    UnsatisfiedJustified,
)

Status = Literal["new", "submitted", "assigned", "replied", "rehandling", "closed"]
OPEN: tuple[Status, ...] = ("assigned", "rehandling")  # a deadline runs
RESULTS = ("A", "B", "C")
SATISFACTIONS = ("satisfied", "basically_satisfied", "unsatisfied")
MODES = ("face_to_face", "phone", "online")


@dataclass(frozen=True)
class Round:
    """One handling round: the first after assignment, then one per re-handling."""

    number: int
    started_at: datetime
    due_at: datetime  # after any extension
    consultation_modes: tuple[ConsultationMode, ...] = ()
    replied_at: datetime | None = None
    result: str | None = None
    satisfaction: str | None = None
    reminded: frozenset[tuple[datetime, str]] = frozenset()  # (due_at, lead time) already reminded
    overdue_for: datetime | None = None  # the due_at an overdue was raised for


@dataclass(frozen=True)
class Promise:
    """What a B reply promised (延办反馈书); tracked until carried out, even after closing."""

    round: int
    promised_by: date
    measures: str
    carried_out_on: date | None = None
    overdue_raised: bool = False
    superseded: bool = False  # a later reply replaced it before it was carried out

    @property
    def open(self) -> bool:
        return self.carried_out_on is None and not self.superseded


@dataclass(frozen=True)
class Suggestion:
    id: str
    status: Status = "new"
    jurisdiction: str = ""
    title: str = ""
    content: str = ""
    category: str = ""
    source: str = "deputy"
    source_id: str | None = None
    deputy_ids: tuple[str, ...] = ()  # the lead deputy first
    submitted_at: datetime | None = None
    lead_unit_id: str | None = None
    co_unit_ids: tuple[str, ...] = ()
    complexity: str | None = None
    acknowledged: bool = False
    return_by: datetime | None = None
    rounds: tuple[Round, ...] = ()
    promises: tuple[Promise, ...] = ()
    key_supervision: bool = False
    unsatisfied: bool = False  # at least one unsatisfied evaluation
    justified: bool = False  # staff found the unsatisfied result justified
    attachment_ids: tuple[str, ...] = ()
    closed_because: str | None = None
    merged_into: str | None = None
    escalated_to: str | None = None
    revision_requested_at: datetime | None = None  # sent back (退回修改) and not revised yet
    revision_reason: str | None = None

    @property
    def lead_deputy_id(self) -> str | None:
        return self.deputy_ids[0] if self.deputy_ids else None

    @property
    def current_round(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

    @property
    def due_at(self) -> datetime | None:
        """The open deadline: only while assigned or re-handling."""
        r = self.current_round
        return r.due_at if self.status in OPEN and r is not None else None

    @property
    def open_promise(self) -> Promise | None:
        p = self.promises[-1] if self.promises else None
        return p if p is not None and p.open else None

    def overdue(self, now: datetime) -> bool:
        due = self.due_at
        return due is not None and now > due


def _with_round(s: Suggestion, number: int, **changes: object) -> Suggestion:
    rounds = tuple(replace(r, **changes) if r.number == number else r for r in s.rounds)  # type: ignore[arg-type]
    return replace(s, rounds=rounds)


def _with_promise(s: Suggestion, round: int, **changes: object) -> Suggestion:
    promises = tuple(replace(p, **changes) if p.round == round else p for p in s.promises)  # type: ignore[arg-type]
    return replace(s, promises=promises)


def evolve(s: Suggestion, e: Event) -> Suggestion:
    match e:
        case SuggestionSubmitted():
            return Suggestion(
                id=e.suggestion_id,
                status="submitted",
                jurisdiction=e.jurisdiction,
                title=e.title,
                content=e.content,
                category=e.category,
                source=e.source,
                source_id=e.source_id,
                deputy_ids=e.deputy_ids,
                submitted_at=e.submitted_at,
            )
        case SuggestionAssigned():
            first = Round(number=e.round, started_at=e.assigned_at, due_at=e.due_at)
            return replace(
                s,
                status="assigned",
                lead_unit_id=e.lead_unit_id,
                co_unit_ids=e.co_unit_ids,
                complexity=e.complexity,
                acknowledged=False,
                return_by=e.return_by,
                rounds=(*s.rounds, first),
            )
        case SuggestionAcknowledged():
            return replace(s, acknowledged=True)
        case SuggestionReturned():
            rounds = tuple(r for r in s.rounds if r.number != e.round)
            return replace(
                s,
                status="submitted",
                lead_unit_id=None,
                co_unit_ids=(),
                complexity=None,
                acknowledged=False,
                return_by=None,
                rounds=rounds,
            )
        case ConsultationHeld():
            r = next((r for r in s.rounds if r.number == e.round), None)
            modes = (*r.consultation_modes, e.mode) if r else ()
            return _with_round(s, e.round, consultation_modes=modes)
        case SuggestionReplied():
            s = _with_round(replace(s, status="replied"), e.round, replied_at=e.replied_at, result=e.result)
            promises = tuple(replace(p, superseded=True) if p.open else p for p in s.promises)
            if e.result == "B" and e.promised_by is not None:
                promises = (
                    *promises,
                    Promise(round=e.round, promised_by=e.promised_by, measures=e.measures or ""),
                )
            return replace(s, promises=promises)
        case ReplyReminderDue():
            r = next((r for r in s.rounds if r.number == e.round), None)
            reminded = r.reminded | {(e.due_at, e.lead_time)} if r else frozenset()
            return _with_round(s, e.round, reminded=reminded)
        case ReplyOverdue():
            return _with_round(s, e.round, overdue_for=e.due_at)
        case DeadlineExtended():
            return _with_round(s, e.round, due_at=e.new_due_at)
        case SatisfactionEvaluated():
            s = _with_round(s, e.round, satisfaction=e.satisfaction)
            return replace(s, unsatisfied=s.unsatisfied or e.satisfaction == "unsatisfied")
        case RehandlingStarted():
            again = Round(number=e.round, started_at=e.started_at, due_at=e.due_at)
            return replace(s, status="rehandling", rounds=(*s.rounds, again))
        case PromiseCarriedOut():
            return _with_promise(s, e.round, carried_out_on=e.carried_out_on)
        case PromiseOverdue():
            return _with_promise(s, e.round, overdue_raised=True)
        case KeySupervisionSet():
            return replace(s, key_supervision=True)
        case SuggestionSentBack():
            return replace(s, revision_requested_at=e.sent_back_at, revision_reason=e.reason)
        case SuggestionRevised():
            return replace(
                s,
                title=s.title if e.title is None else e.title,
                content=s.content if e.content is None else e.content,
                category=s.category if e.category is None else e.category,
                revision_requested_at=None,
                revision_reason=None,
            )
        case SuggestionClosed():
            return replace(
                s,
                revision_requested_at=None,
                revision_reason=None,
                status="closed",
                closed_because=e.because,
                merged_into=e.merged_into or s.merged_into,
                escalated_to=e.escalated_to or s.escalated_to,
            )
        case SuggestionMerged():
            return replace(s, merged_into=e.into_id)
        case CoSubmittersAdded():
            return replace(s, deputy_ids=(*s.deputy_ids, *(d for d in e.deputy_ids if d not in s.deputy_ids)))
        case AttachmentAdded():
            return replace(s, attachment_ids=(*s.attachment_ids, e.attachment_id))
        case SuggestionEscalated():
            return replace(s, escalated_to=e.escalated_to)
        case UnsatisfiedJustified():
            return replace(s, justified=True)
    return s


SUGGESTION: AggregateType[Suggestion] = AggregateType(
    name="suggestion", context="suggestions", initial=lambda id: Suggestion(id=id), evolve=evolve
)


# -- guards shared with oversight.py and clocks.py ------------------------------------------------
def require(s: Suggestion, statuses: tuple[Status, ...], action: str) -> None:
    if s.status == "new":
        raise SuggestionNotFound()
    if s.status not in statuses:
        raise WrongTransition(s.status, action)


def text(value: str | None, field: str, message: str) -> str:
    if value is None or not value.strip():
        raise InvalidInput(field, message)
    return value.strip()


def require_lead_unit(s: Suggestion, unit_id: str | None) -> None:
    """``unit_id`` is the acting organizer's unit; None when staff record on the unit's behalf."""
    if unit_id is not None and unit_id != s.lead_unit_id:
        raise NotLeadUnit()
