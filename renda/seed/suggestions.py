"""Suggestions (代表建议) through every path of the rule book, with realistic delays.

Submitted (at a session or in recess, alone or jointly) → assigned (some returned and re-assigned,
some escalated to the county, some merged) → signed for → consulted (face to face, by phone,
online) → replied A/B/C on time, late (overdue raised by the watcher) or never (still open) →
evaluated: satisfied, basically satisfied, or unsatisfied and re-handled once or twice; some
unsatisfied results marked justified; B promises kept, kept late, or broken (overdue); key
supervision and extensions here and there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from renda.seed import vocab
from renda.seed.people import Person
from renda.seed.places import County, Place
from renda.seed.plan import Plan, county_staff, deputy_actor, staff, system, unit_actor
from services.suggestions.domain import rules
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EscalateSuggestion,
    EvaluateSuggestion,
    ExtendDeadline,
    JustifyUnsatisfied,
    MergeSuggestion,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    SetKeySupervision,
    SubmitSuggestion,
)

S = sg.SUGGESTION
WATCHER = system("suggestions-watcher")
MODES = (("face_to_face", 0.72), ("phone", 0.18), ("online", 0.10))


@dataclass
class Case:
    """One suggestion as planned: where it lives, who leads, which units may handle it."""

    id: str
    where: str  # township / street (9 digits) or county (6)
    street: bool
    lead: Person
    units: list[tuple[str, str]]
    assigner: Any  # Actor


def plan_suggestions(plan: Plan, county: County, sessions: dict[str, list[tuple[str, date]]]) -> None:
    rng = plan.rng
    for year in plan.years():
        first = max(date(year, 1, 1), plan.start + timedelta(days=10))
        for place in county.places:
            people = [p for p in place.deputies if p.active(first) and "inactive" not in p.tags]
            count = round(len(people) * plan.scale.suggestions)
            opened: dict[str, list[tuple[str, datetime, datetime]]] = {}  # where -> (id, submitted, closed)
            for k in range(count):
                at_session = place.kind == "township" and sessions.get(place.code) and rng.random() < 0.35
                if at_session:
                    meeting_id, day = rng.choice(
                        [s for s in sessions[place.code] if s[1].year == year] or [(None, first)]
                    )
                    submitted = plan.at(day, rng.randint(10, 16), rng.randint(0, 59))
                else:
                    meeting_id = None
                    submitted = plan.office_time(plan.random_day(first, date(year, 12, 20)))
                day = plan.day_of(submitted)
                authors = [p for p in people if p.active(day)]
                if not authors:
                    continue
                lead = rng.choice(authors)
                if meeting_id and lead.level != "township":
                    meeting_id = None  # only the township's own deputies sit in its session
                co = [p for p in rng.sample(authors, min(len(authors), rng.randint(1, 3))) if p is not lead]
                deputies = (lead, *(co if rng.random() < 0.2 else ()))
                to_county = place.kind == "township" and lead.level == "county" and rng.random() < 0.25
                case = _case(plan, county, place, lead, to_county, ("s", place.code, year, k))
                here = opened.setdefault(case.where, [])
                closed = _submit(plan, case, deputies, submitted, meeting_id, here)
                here.append((case.id, submitted, closed))


def _case(plan: Plan, county: County, place: Place, lead: Person, to_county: bool, key: tuple[Any, ...]) -> Case:
    where = county.code if to_county else place.code
    street = place.kind == "street"
    units = county.units if (to_county or street or not place.units) else place.units
    assigner = county_staff(county.code) if (to_county or street) else staff(place.code)
    return Case(plan.id("suggestion", *key), where, street and not to_county, lead, units, assigner)


def _theme(plan: Plan) -> tuple[str, str, str]:
    category = plan.rng.choice(list(vocab.THEMES))
    title = plan.rng.choice(vocab.THEMES[category]).format(village=plan.rng.choice(vocab.VILLAGES))
    core = title.removeprefix("关于").removesuffix("的建议")
    return category, title, vocab.CONTENT.format(title_core=core)


def _submit(
    plan: Plan,
    case: Case,
    deputies: tuple[Person, ...],
    at: datetime,
    meeting_id: str | None,
    opened: list[tuple[str, datetime, datetime]],
) -> datetime:
    """Submit, then one path; answer when it closes (or the end of the history)."""
    rng = plan.rng
    category, title, content = _theme(plan)
    c = SubmitSuggestion(
        case.id,
        case.where,
        title,
        content,
        tuple(p.id for p in deputies),
        category,
        "session" if meeting_id else "recess",
        meeting_id,
    )
    street = case.street
    if not plan.add(
        at,
        S,
        case.id,
        case.where,
        deputy_actor(case.lead.id),
        lambda s, w: sg.decide_submit(s, c, now=at, is_street=street),
    ):
        return at
    roll = rng.random()
    if roll < 0.03 and len(case.where) == 9 and not street:
        return _escalate(plan, case, at)
    if roll < 0.06:
        target = next(
            (o for o in reversed(opened) if o[1] < at - timedelta(days=3) and o[2] > at + timedelta(days=20)), None
        )
        if target is not None:
            return _merge(plan, case, target[0], at)
    return _assign(plan, case, plan.later(at, 3, 15))


def _merge(plan: Plan, case: Case, into: str, submitted: datetime) -> datetime:
    at = plan.later(submitted, 1, 6)
    c = MergeSuggestion(case.id, into, "与已交办的建议反映同一问题，并案办理。")
    plan.add(
        at,
        S,
        case.id,
        case.where,
        case.assigner,
        lambda s, w: sg.decide_merge(s, c, target=w.state(S, into), now=at),
        needs=((S, into),),
    )
    then = at + timedelta(minutes=1)
    plan.add(
        then,
        S,
        into,
        case.where,
        case.assigner,
        lambda s, w: sg.decide_receive_merge(s, w.state(S, case.id), now=then),
        needs=((S, case.id),),
    )
    return at


def _escalate(plan: Plan, case: Case, submitted: datetime) -> datetime:
    """Beyond the township's powers: forwarded to the county, where it continues as a county suggestion."""
    at = plan.later(submitted, 3, 12)
    county_id = plan.id("escalated", case.id)
    c = EscalateSuggestion(case.id, county_id, "涉及跨乡镇规划和县级财政资金，超出乡镇职权范围。")
    if not plan.add(
        at, S, case.id, case.where, case.assigner, lambda s, w: sg.decide_escalate(s, c, now=at, is_street=False)
    ):
        return at
    then = at + timedelta(minutes=2)
    county = case.where[:6]
    plan.add(
        then,
        S,
        county_id,
        county,
        case.assigner,
        lambda s, w: sg.decide_submit(
            s, sg.escalated_submission(w.state(S, case.id), escalated_to=county_id), now=then, is_street=False
        ),
        needs=((S, case.id),),
    )
    units = plan.county_units  # type: ignore[attr-defined]
    follow = Case(county_id, county, False, case.lead, units, county_staff(county))
    _assign(plan, follow, plan.later(then, 3, 10))
    return at


def _assign(plan: Plan, case: Case, at: datetime, *, returned: bool = False) -> datetime:
    rng = plan.rng
    lead_unit = rng.choice(case.units)[0]
    co = tuple(u for u, _ in rng.sample(case.units, min(2, len(case.units))) if u != lead_unit)[
        : 1 if rng.random() < 0.2 else 0
    ]
    complexity = "complex" if rng.random() < 0.15 else "normal"
    c = AssignSuggestion(case.id, lead_unit, plan.names.name(), co, complexity, plan.names.name())  # type: ignore[arg-type]
    role, street, policy = case.assigner.role, case.street, plan.policy
    if not plan.add(
        at,
        S,
        case.id,
        case.where,
        case.assigner,
        lambda s, w: sg.decide_assign(s, c, now=at, policy=policy, is_street=street, actor_role=role),
    ):
        return at
    if not returned and rng.random() < 0.04:
        back = plan.later(at, 1, 5)
        rc = ReturnSuggestion(case.id, "该事项不属于本单位职责范围，申请退回重新交办。")
        if back < rules.return_deadline(at, policy) and plan.add(
            back,
            S,
            case.id,
            case.where,
            unit_actor(lead_unit),
            lambda s, w: sg.decide_return(s, rc, unit_id=lead_unit, now=back),
        ):
            return _assign(plan, case, plan.later(back, 1, 4), returned=True)
    return handle(plan, case, lead_unit, at, rules.reply_due_at(at, complexity, policy))


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
                lambda s, w, c=ec, at=at: sg.decide_extend(s, c, now=at, is_street=street, actor_role=role),
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
        satisfaction = "unsatisfied" if unsatisfied else ("satisfied" if rng.random() < 0.78 else "basically_satisfied")
        ev = EvaluateSuggestion(sid, satisfaction, vocab.COMMENTS[satisfaction])  # type: ignore[arg-type]
        lead, policy = case.lead.id, plan.policy
        if not plan.add(
            evaluated,
            S,
            sid,
            where,
            deputy_actor(lead),
            lambda s, w, c=ev, t=evaluated, d=lead, p=policy: sg.decide_evaluate(s, c, deputy_id=d, now=t, policy=p),
        ):
            return plan.end
        if not unsatisfied:
            if promised is not None:
                _promise(plan, case, unit, replied, promised)
            return evaluated
        if rng.random() < 0.25:
            at = plan.later(evaluated, 5, 20)
            jc = JustifyUnsatisfied(sid, "代表诉求超出现行政策规定，经主席团审议认定不满意理由不成立。")
            plan.add(
                at, S, sid, where, case.assigner, lambda s, w, c=jc, t=at: sg.decide_justify_unsatisfied(s, c, now=t)
            )
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
            plan.add(t, S, sid, where, WATCHER, lambda s, w, t=t: sg.decide_reminders(s, now=t, policy=policy))
    if horizon > due:
        t = due + timedelta(minutes=30)
        plan.add(t, S, sid, where, WATCHER, lambda s, w, t=t: sg.decide_overdue(s, now=t))
    if replied is None:
        return None, "", None
    t = start
    for _ in range(1 if rng.random() < 0.7 else 2):
        t = t + (replied - t) * rng.uniform(0.2, 0.7)
        mode = rng.choices([m for m, _ in MODES], [w for _, w in MODES])[0]
        rc = RecordConsultation(sid, plan.day_of(t), mode, rng.choice(vocab.CONSULT_SUMMARIES))  # type: ignore[arg-type]
        plan.add(
            t, S, sid, where, actor, lambda s, w, c=rc, t=t: sg.decide_consult(s, c, unit_id=unit, now=t, policy=policy)
        )
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
        lambda s, w, c=rp, t=replied: sg.decide_reply(s, c, unit_id=unit, now=t, policy=policy),
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


def finding_case(plan: Plan, county: County, place: Place, sid: str, lead: Person) -> Case:
    street = place.kind == "street"
    units = county.units if street or not place.units else place.units
    return Case(sid, place.code, street, lead, units, county_staff(county.code))
