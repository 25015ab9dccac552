"""The Suggestion aggregate (代表建议): the handling decisions, and the one import for callers.

Submitted → assigned (round 1, due_at) → consultations → replied (A/B/C) → evaluated by the lead
deputy → closed, or re-handling (round 2, 3 …, each with its own due_at) until satisfied; B
promises are tracked until carried out. State and ``evolve`` live in ``state.py``, the
presidium's decisions in ``oversight.py``, the watcher's in ``clocks.py``; all are re-exported
here, so a handler writes ``suggestion.decide_reply(...)`` and ``store.load(suggestion.SUGGESTION, id)``.
"""

from __future__ import annotations

from datetime import datetime

from libs.events.event import Event
from services.suggestions.domain import rules
from services.suggestions.domain.clocks import (
    decide_due,
    decide_overdue,
    decide_promise_overdue,
    decide_reminders,
    next_check_at,
)
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
    ReturnWindowPassed,
    SuggestionNotFound,
    WrongTransition,
)
from services.suggestions.domain.oversight import (
    decide_attachment,
    decide_escalate,
    decide_extend,
    decide_justify_unsatisfied,
    decide_key_supervision,
    decide_merge,
    decide_receive_merge,
    escalated_submission,
)
from services.suggestions.domain.revision import decide_revise, decide_send_back, require_not_sent_back
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import (
    MODES,
    OPEN,
    RESULTS,
    SATISFACTIONS,
    SUGGESTION,
    Promise,
    Round,
    Status,
    Suggestion,
    evolve,
    require,
    require_lead_unit,
    text,
)
from services.suggestions.events import (
    ConsultationHeld,
    PromiseCarriedOut,
    RehandlingStarted,
    SatisfactionEvaluated,
    SuggestionAcknowledged,
    SuggestionAssigned,
    SuggestionClosed,
    SuggestionReplied,
    SuggestionReturned,
    SuggestionSubmitted,
)

__all__ = [
    "OPEN",
    "SUGGESTION",
    "Promise",
    "Round",
    "Status",
    "Suggestion",
    "decide_acknowledge",
    "decide_assign",
    "decide_attachment",
    "decide_consult",
    "decide_due",
    "decide_escalate",
    "decide_evaluate",
    "decide_extend",
    "decide_implementation",
    "decide_justify_unsatisfied",
    "decide_key_supervision",
    "decide_merge",
    "decide_overdue",
    "decide_promise_overdue",
    "decide_receive_merge",
    "decide_reminders",
    "decide_reply",
    "decide_return",
    "decide_revise",
    "decide_send_back",
    "decide_submit",
    "escalated_submission",
    "evolve",
    "next_check_at",
]


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
        raise NotForStreet("街道人大工委不召开人民代表大会，街道的建议不能在“大会期间”提出；请选择闭会期间(recess)。")
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
    rules.check_street(is_street, actor_role)  # who acts, before what state
    require(s, ("submitted",), "assign")
    require_not_sent_back(s, "assign", policy.tz)  # 退回修改: waits for the lead deputy's revision
    lead = text(c.lead_unit_id, "lead_unit_id", "请选择主办单位。")
    leader = text(c.responsible_leader, "responsible_leader", "请填写分管领导（“三落实”：单位、领导、经办人）。")
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
    require_lead_unit(s, unit_id)
    if s.acknowledged:
        return []  # signing twice changes nothing
    require(s, ("assigned",), "acknowledge")
    unit = s.lead_unit_id or ""
    return [SuggestionAcknowledged(suggestion_id=s.id, jurisdiction=s.jurisdiction, unit_id=unit, acknowledged_at=now)]


def decide_return(s: Suggestion, c: ReturnSuggestion, *, unit_id: str | None, now: datetime) -> list[Event]:
    require(s, ("assigned",), "return")
    require_lead_unit(s, unit_id)
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
    require_lead_unit(s, unit_id)
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
    require_lead_unit(s, unit_id)
    r = s.current_round
    assert r is not None
    if c.result not in RESULTS:
        raise InvalidInput("result", "答复类别须为 A（已解决/采纳）、B（正在解决/列入计划）或 C（暂不能解决）。")
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
            replied_at=now,
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
        last_reply = next((x for x in reversed(s.rounds) if x.replied_at is not None), None)
        if last_reply is not None and last_reply.satisfaction is not None:
            raise AlreadyEvaluated()  # the latest reply was evaluated (closed, or re-handling since)
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
    require_lead_unit(s, unit_id)
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
