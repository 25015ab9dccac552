"""The Suggestion aggregate (代表建议): state, the pure fold ``evolve`` and the handling decisions.

Submitted → assigned (round 1, due_at) → consultations → replied (A/B/C) → evaluated by the lead
deputy → closed, or re-handling (round 2, 3 …, each with its own due_at) until satisfied.
Oversight decisions (extension, key supervision, merge, escalation …) are in ``oversight.py``;
the clocks (reminders, overdue, promise overdue) in ``clocks.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.suggestions.domain import rules
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EvaluateSuggestion,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import (
    AlreadyEvaluated,
    AlreadyExists,
    ConsultationRequired,
    DeputyTerminated,
    InvalidInput,
    NoOpenPromise,
    NotForStreet,
    NotLeadDeputy,
    NotLeadUnit,
    ReturnWindowPassed,
    SuggestionNotFound,
    WrongTransition,
)
from services.suggestions.domain.events import (
    AttachmentAdded,
    ConsultationHeld,
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
    SuggestionSubmitted,
    UnsatisfiedJustified,
)
from services.suggestions.domain.rules import SuggestionPolicy

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
    consultation_modes: tuple[str, ...] = ()
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
        case SuggestionClosed():
            return replace(
                s,
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


def _require_lead_unit(s: Suggestion, unit_id: str | None) -> None:
    """``unit_id`` is the acting organizer's unit; None when staff record on the unit's behalf."""
    if unit_id is not None and unit_id != s.lead_unit_id:
        raise NotLeadUnit()


# -- decisions ------------------------------------------------------------------------------------
def decide_submit(
    s: Suggestion,
    c: SubmitSuggestion,
    *,
    now: datetime,
    is_street: bool,
    terminated_deputy_ids: frozenset[str] = frozenset(),
) -> list[Event]:
    if s.status != "new":
        raise AlreadyExists("该建议已提出，请勿重复提交。")
    code = c.jurisdiction.strip()
    if not code.isdigit() or len(code) not in (6, 9):
        raise InvalidInput("township", "请填写乡镇（街道）9 位或县（区）6 位行政区划代码。")
    title = text(c.title, "title", "请填写建议标题。")
    content = text(c.content, "content", "请填写建议内容。")
    deputies = tuple(d.strip() for d in c.deputy_ids)
    if not deputies or any(not d for d in deputies) or len(set(deputies)) != len(deputies):
        raise InvalidInput("deputy_ids", "请填写领衔代表及联名代表（不能为空，不能重复）。")
    if c.submitted_during not in ("session", "recess"):
        raise InvalidInput("submitted_during", "提出时间须为“大会期间”(session)或“闭会期间”(recess)。")
    if c.submitted_during == "session" and is_street:
        raise NotForStreet()
    if c.source in ("constituents_opinion", "escalation") and not c.source_id:
        raise InvalidInput("source_id", "由群众意见转来或向上反映的建议须注明来源。")
    for d in deputies:
        if d in terminated_deputy_ids:
            raise DeputyTerminated(d)
    return [
        SuggestionSubmitted(
            suggestion_id=s.id,
            jurisdiction=code,
            title=title,
            content=content,
            deputy_ids=deputies,
            category=c.category,
            submitted_during=c.submitted_during,  # type: ignore[arg-type]
            meeting_id=c.meeting_id,
            source=c.source,
            source_id=c.source_id,
            submitted_at=now,
        )
    ]


def decide_assign(
    s: Suggestion,
    c: AssignSuggestion,
    *,
    now: datetime,
    policy: SuggestionPolicy,
    is_street: bool,
    actor_role: str,
) -> list[Event]:
    require(s, ("submitted",), "assign")
    if is_street and actor_role != "county_staff":
        raise NotForStreet()
    lead = text(c.lead_unit_id, "lead_unit_id", "请选择主办单位。")
    leader = text(
        c.responsible_leader, "responsible_leader", "请填写分管领导（“三落实”：单位、领导、经办人）。"
    )
    if lead in c.co_unit_ids or len(set(c.co_unit_ids)) != len(c.co_unit_ids):
        raise InvalidInput("co_unit_ids", "协办单位不能重复，也不能与主办单位相同。")
    if c.complexity not in ("normal", "complex"):
        raise InvalidInput("complexity", "办理类型须为一般(normal)或涉及面广、难度大(complex)。")
    return [
        SuggestionAssigned(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            lead_unit_id=lead,
            co_unit_ids=c.co_unit_ids,
            complexity=c.complexity,
            responsible_leader=leader,
            handler=c.handler,
            assigned_by_role=actor_role,
            assigned_at=now,
            round=len(s.rounds) + 1,
            due_at=rules.reply_due_at(now, c.complexity, policy),
            return_by=rules.return_deadline(now, policy),
        )
    ]


def decide_acknowledge(s: Suggestion, *, unit_id: str | None, now: datetime) -> list[Event]:
    require(s, ("assigned", "replied", "rehandling", "closed"), "acknowledge")
    _require_lead_unit(s, unit_id)
    if s.acknowledged:
        return []  # signing twice changes nothing
    require(s, ("assigned",), "acknowledge")
    unit = s.lead_unit_id or ""
    return [
        SuggestionAcknowledged(
            suggestion_id=s.id, jurisdiction=s.jurisdiction, unit_id=unit, acknowledged_at=now
        )
    ]


def decide_return(s: Suggestion, c: ReturnSuggestion, *, unit_id: str | None, now: datetime) -> list[Event]:
    require(s, ("assigned",), "return")
    _require_lead_unit(s, unit_id)
    reason = text(c.reason, "reason", "请说明退办理由（例如不属于本单位职责）。")
    r = s.current_round
    if s.return_by is None or r is None or now > s.return_by:
        raise ReturnWindowPassed(return_by=s.return_by.isoformat() if s.return_by else None)
    return [
        SuggestionReturned(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            unit_id=s.lead_unit_id or "",
            round=r.number,
            reason=reason,
            returned_at=now,
        )
    ]


def decide_consult(
    s: Suggestion, c: RecordConsultation, *, unit_id: str | None, now: datetime, policy: SuggestionPolicy
) -> list[Event]:
    require(s, OPEN, "consult")
    _require_lead_unit(s, unit_id)
    r = s.current_round
    assert r is not None  # an open status always has a round
    if c.mode not in MODES:
        raise InvalidInput("mode", "面商方式须为当面(face_to_face)、电话(phone)或网络(online)。")
    summary = text(c.summary, "summary", "请简要记录面商情况。")
    if c.held_on > rules.local_date(now, policy.tz):
        raise InvalidInput("held_on", "面商日期不能晚于今天。")
    if c.held_on < rules.local_date(r.started_at, policy.tz):
        raise InvalidInput("held_on", "面商日期不能早于本轮办理的开始日期（交办或重新办理之日）。")
    return [
        ConsultationHeld(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            unit_id=s.lead_unit_id or "",
            round=r.number,
            held_on=c.held_on,
            mode=c.mode,
            summary=summary,
            recorded_at=now,
        )
    ]


def decide_reply(
    s: Suggestion, c: ReplyToSuggestion, *, unit_id: str | None, now: datetime, policy: SuggestionPolicy
) -> list[Event]:
    require(s, OPEN, "reply")
    _require_lead_unit(s, unit_id)
    r = s.current_round
    assert r is not None
    if c.result not in RESULTS:
        raise InvalidInput(
            "result", "答复类别须为 A（已解决/采纳）、B（正在解决/列入计划）或 C（暂不能解决）。"
        )
    content = text(c.content, "content", "请填写答复内容。")
    promised_by, measures, reason = None, None, None
    if c.result == "B":
        if c.promised_by is None:
            raise InvalidInput("promised_by", "B 类答复须写明承诺办结日期（延办反馈书）。")
        if c.promised_by < rules.local_date(now, policy.tz):
            raise InvalidInput("promised_by", "承诺办结日期不能早于今天。")
        promised_by = c.promised_by
        measures = text(c.measures, "measures", "B 类答复须写明办理措施。")
    if c.result == "C":
        reason = text(c.reason, "reason", "C 类答复须说明因政策或条件限制暂不能解决的原因。")
    if policy.require_consultation == "true" and not r.consultation_modes:
        raise ConsultationRequired()
    if policy.require_consultation == "face_to_face" and "face_to_face" not in r.consultation_modes:
        raise ConsultationRequired(face_to_face=True)
    return [
        SuggestionReplied(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            unit_id=s.lead_unit_id or "",
            round=r.number,
            result=c.result,
            content=content,
            promised_by=promised_by,
            measures=measures,
            reason=reason,
            consultation_modes=r.consultation_modes,
            due_at=r.due_at,
            replied_at=now,  # type: ignore[arg-type]
        )
    ]


def decide_evaluate(
    s: Suggestion, c: EvaluateSuggestion, *, deputy_id: str | None, now: datetime, policy: SuggestionPolicy
) -> list[Event]:
    """Only the lead deputy's own login evaluates (``deputy_id`` None: not a deputy at all)."""
    if s.status == "new":
        raise SuggestionNotFound()
    if deputy_id is None or deputy_id != s.lead_deputy_id:
        raise NotLeadDeputy()
    r = s.current_round
    if s.status != "replied" or r is None:
        if r is not None and r.satisfaction is not None:
            raise AlreadyEvaluated()
        raise WrongTransition(s.status, "evaluate")
    if c.satisfaction not in SATISFACTIONS:
        raise InvalidInput("satisfaction", "评价须为满意、基本满意或不满意。")
    lead_unit = s.lead_unit_id or ""
    evaluated = SatisfactionEvaluated(
        suggestion_id=s.id,
        jurisdiction=s.jurisdiction,
        lead_unit_id=lead_unit,
        round=r.number,
        deputy_id=deputy_id,
        satisfaction=c.satisfaction,
        comment=c.comment.strip(),
        evaluated_at=now,
    )
    if c.satisfaction == "unsatisfied":
        return [
            evaluated,
            RehandlingStarted(
                suggestion_id=s.id,
                jurisdiction=s.jurisdiction,
                lead_unit_id=lead_unit,
                round=r.number + 1,
                started_at=now,
                due_at=rules.rehandling_due_at(now, policy),
            ),
        ]
    closed = SuggestionClosed(
        suggestion_id=s.id,
        jurisdiction=s.jurisdiction,
        because="satisfied",
        satisfaction=c.satisfaction,
        closed_at=now,
    )
    return [evaluated, closed]


def decide_implementation(
    s: Suggestion, c: RecordImplementation, *, unit_id: str | None, now: datetime, policy: SuggestionPolicy
) -> list[Event]:
    """A B promise carried out; allowed in any status, closed included (promises stay tracked)."""
    if s.status == "new":
        raise SuggestionNotFound()
    _require_lead_unit(s, unit_id)
    p = s.open_promise
    if p is None:
        raise NoOpenPromise()
    if c.carried_out_on > rules.local_date(now, policy.tz):
        raise InvalidInput("carried_out_on", "落实日期不能晚于今天。")
    summary = text(c.summary, "summary", "请简要说明承诺事项的落实情况。")
    return [
        PromiseCarriedOut(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            lead_unit_id=s.lead_unit_id or "",
            round=p.round,
            promised_by=p.promised_by,
            carried_out_on=c.carried_out_on,
            summary=summary,
            recorded_at=now,
        )
    ]
