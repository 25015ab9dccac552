"""A suggestion once assigned (the unit's side and what follows): signed for, consulted, replied
A/B/C on time, late or never, evaluated and re-handled, promises kept or broken; the watcher's
reminders and overdue marks; key supervision and extensions. ``suggestions.py`` submits and assigns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from libs.events.event import Event
from renda.seed import vocab
from renda.seed.people import Person
from renda.seed.places import County, Place
from renda.seed.plan import Plan, States, county_staff, deputy_actor, system, unit_actor
from services.suggestions.domain import rules
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    EvaluateSuggestion,
    ExtendDeadline,
    JustifyUnsatisfied,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    SetKeySupervision,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import Suggestion
from services.suggestions.events import ConsultationMode, Satisfaction

S = sg.SUGGESTION
WATCHER = system("suggestions-watcher")
MODES: tuple[tuple[ConsultationMode, float], ...] = (("face_to_face", 0.72), ("phone", 0.18), ("online", 0.10))


@dataclass
class Case:
    """One suggestion as planned: where it lives, who leads, which units may handle it."""

    id: str
    where: str  # township / street (9 digits) or county (6)
    street: bool
    lead: Person
    units: list[tuple[str, str]]
    assigner: Any  # Actor


def handle(plan: Plan, case: Case, unit: str, assigned: datetime, due: datetime) -> datetime:
    """From assignment on: sign, supervise, consult, reply, evaluate, re-handle, promises."""
    rng = plan.rng
    sid, where, actor = case.id, case.where, unit_actor(unit)
    acked = plan.later(assigned, 0, 3)
    plan.add(acked, S, sid, where, actor, lambda s, w: sg.decide_acknowledge(s, unit_id=unit, now=acked))
    role, street = case.assigner.role, case.street
    if rng.random() < 0.06:
        at = plan.later(acked, 1, 3)
        kc = SetKeySupervision(sid, "群众反映强烈，列为年度重点督办建议。")
        plan.add(
            at,
            S,
            sid,
            where,
            case.assigner,
            lambda s, w: sg.decide_key_supervision(s, kc, now=at, is_street=street, actor_role=role),
        )
    start, last = acked, acked
    for number in (1, 2, 3):
        extended = None
        if number == 1 and rng.random() < 0.03 and due - timedelta(days=10) > acked + timedelta(days=5):
            at = extended = due - timedelta(days=10)
            new_due = due + timedelta(days=rng.randint(30, 60))
            ec = ExtendDeadline(sid, new_due, "涉及项目立项审批，需延长办理期限。")
            plan.add(
                at,
                S,
                sid,
                where,
                case.assigner,
                partial(_extend, c=ec, now=at, is_street=street, actor_role=role),
            )
            due = new_due
        replied, _result, promised = _round(plan, case, unit, number, start, due, final=number == 3, after=extended)
        if replied is None:
            return plan.end  # still open (overdue) at the end
        last = replied
        if rng.random() < 0.07:
            return plan.end  # the deputy has not evaluated yet
        evaluated = plan.later(replied, 3, 20)
        unsatisfied = rng.random() < (0.12, 0.35, 0.0)[number - 1]
        satisfaction: Satisfaction = (
            "unsatisfied" if unsatisfied else ("satisfied" if rng.random() < 0.78 else "basically_satisfied")
        )
        ev = EvaluateSuggestion(sid, satisfaction, vocab.COMMENTS[satisfaction])
        lead, policy = case.lead.id, plan.policy
        if not plan.add(
            evaluated,
            S,
            sid,
            where,
            deputy_actor(lead),
            partial(_evaluate, c=ev, deputy_id=lead, now=evaluated, policy=policy),
        ):
            return plan.end
        if not unsatisfied:
            if promised is not None:
                _promise(plan, case, unit, replied, promised)
            return evaluated
        if rng.random() < 0.25:
            at = plan.later(evaluated, 5, 20)
            jc = JustifyUnsatisfied(sid, "代表诉求超出现行政策规定，经主席团审议认定不满意理由不成立。")
            plan.add(at, S, sid, where, case.assigner, partial(_justify_unsatisfied, c=jc, now=at))
        start, due = evaluated, rules.rehandling_due_at(evaluated, plan.policy)
    return last


def _round(
    plan: Plan,
    case: Case,
    unit: str,
    number: int,
    start: datetime,
    due: datetime,
    *,
    final: bool,
    after: datetime | None = None,
) -> tuple[datetime | None, str, date | None]:
    """Consultations and the reply of one round; reminders and overdue as the watcher raises them."""
    rng = plan.rng
    sid, where, actor, policy = case.id, case.where, unit_actor(unit), plan.policy
    roll = rng.random()
    span = max(2, (due - start).days)
    if after is not None:  # extended: answered within the new deadline, after the extension
        replied = min(plan.later(after, 1, max(1, (due - after).days - 1)), due - timedelta(hours=1))
    elif roll < 0.86:
        replied = plan.later(start, min(span - 1, 8), max(min(span - 1, 8), span - 2))
        replied = min(replied, due - timedelta(hours=1))
    elif roll < 0.97 or number > 1:
        replied = plan.later(due, 2, 40)
    else:
        replied = None  # never answered: overdue and still open
    horizon = replied or plan.end
    for _lead_time, at in rules.reminder_schedule(start, due, policy):
        if at < horizon:
            t = at + timedelta(minutes=5)
            plan.add(t, S, sid, where, WATCHER, partial(_reminders, now=t, policy=policy))
    if horizon > due:
        t = due + timedelta(minutes=30)
        plan.add(t, S, sid, where, WATCHER, partial(_overdue, now=t))
    if replied is None:
        return None, "", None
    t = start
    for _ in range(1 if rng.random() < 0.7 else 2):
        t = t + (replied - t) * rng.uniform(0.2, 0.7)
        mode = rng.choices([m for m, _ in MODES], [w for _, w in MODES])[0]
        rc = RecordConsultation(sid, plan.day_of(t), mode, rng.choice(vocab.CONSULT_SUMMARIES))
        plan.add(t, S, sid, where, actor, partial(_consult, c=rc, unit_id=unit, now=t, policy=policy))
    result = rng.choices(("A", "B", "C"), (0.55, 0.30, 0.15))[0]
    day = plan.day_of(replied)
    promised = None
    if result == "A":
        rp = ReplyToSuggestion(sid, "A", vocab.REPLY_A)
    elif result == "B":
        promised = day + timedelta(days=rng.randint(30, 150) if final or number > 1 else rng.randint(120, 200))
        rp = ReplyToSuggestion(sid, "B", vocab.REPLY_B, promised_by=promised, measures=vocab.MEASURES_B)
    else:
        rp = ReplyToSuggestion(sid, "C", vocab.REPLY_C, reason=vocab.REASON_C)
    ok = plan.add(
        replied,
        S,
        sid,
        where,
        actor,
        partial(_reply, c=rp, unit_id=unit, now=replied, policy=policy),
    )
    return (replied, result, promised) if ok else (None, "", None)


def _promise(plan: Plan, case: Case, unit: str, replied: datetime, promised: date) -> None:
    """A B promise: carried out by its date, late (overdue first), or not at all (overdue)."""
    rng = plan.rng
    policy = plan.policy
    sid, where = case.id, case.where
    state_day = plan.day_of(replied)
    roll = rng.random()
    overdue_at = plan.at(promised + timedelta(days=1), 0, 30)
    if roll < 0.72:
        done_day = plan.random_day(state_day + timedelta(days=10), promised)
    elif roll < 0.85:
        done_day = promised + timedelta(days=rng.randint(5, 40))
    else:
        done_day = None
    if done_day is None or done_day > promised:
        plan.add(
            overdue_at, S, sid, where, WATCHER, lambda s, w: sg.decide_promise_overdue(s, now=overdue_at, policy=policy)
        )
    if done_day is not None:
        at = plan.office_time(done_day)
        ic = RecordImplementation(sid, done_day, "承诺事项已全部落实，经代表现场查看确认。")
        plan.add(
            at,
            S,
            sid,
            where,
            unit_actor(unit),
            lambda s, w: sg.decide_implementation(s, ic, unit_id=unit, now=at, policy=policy),
        )


# -- the decisions the steps above bind their values to ---------------------------------------------
def _extend(
    s: Suggestion, w: States, *, c: ExtendDeadline, now: datetime, is_street: bool, actor_role: str
) -> list[Event]:
    return sg.decide_extend(s, c, now=now, is_street=is_street, actor_role=actor_role)


def _evaluate(
    s: Suggestion, w: States, *, c: EvaluateSuggestion, deputy_id: str, now: datetime, policy: SuggestionPolicy
) -> list[Event]:
    return sg.decide_evaluate(s, c, deputy_id=deputy_id, now=now, policy=policy)


def _justify_unsatisfied(s: Suggestion, w: States, *, c: JustifyUnsatisfied, now: datetime) -> list[Event]:
    return sg.decide_justify_unsatisfied(s, c, now=now)


def _reminders(s: Suggestion, w: States, *, now: datetime, policy: SuggestionPolicy) -> list[Event]:
    return sg.decide_reminders(s, now=now, policy=policy)


def _overdue(s: Suggestion, w: States, *, now: datetime) -> list[Event]:
    return sg.decide_overdue(s, now=now)


def _consult(
    s: Suggestion, w: States, *, c: RecordConsultation, unit_id: str, now: datetime, policy: SuggestionPolicy
) -> list[Event]:
    return sg.decide_consult(s, c, unit_id=unit_id, now=now, policy=policy)


def _reply(
    s: Suggestion, w: States, *, c: ReplyToSuggestion, unit_id: str, now: datetime, policy: SuggestionPolicy
) -> list[Event]:
    return sg.decide_reply(s, c, unit_id=unit_id, now=now, policy=policy)


def finding_case(plan: Plan, county: County, place: Place, sid: str, lead: Person) -> Case:
    street = place.kind == "street"
    units = county.units if street or not place.units else place.units
    return Case(sid, place.code, street, lead, units, county_staff(county.code))
