"""Suggestions (代表建议) through every path of the rule book, with realistic delays.

Submitted (at a session or in recess, alone or jointly) → assigned (some returned and re-assigned,
some escalated to the county, some merged) → signed for → consulted (face to face, by phone,
online) → replied A/B/C on time, late (overdue raised by the watcher) or never (still open) →
evaluated: satisfied, basically satisfied, or unsatisfied and re-handled once or twice; some
unsatisfied results marked justified; B promises kept, kept late, or broken (overdue); key
supervision and extensions here and there.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from renda.seed import vocab
from renda.seed.handling import Case, S, handle
from renda.seed.people import Person
from renda.seed.places import County, Place
from renda.seed.plan import Plan, county_staff, deputy_actor, staff, unit_actor
from services.suggestions.domain import rules
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EscalateSuggestion,
    MergeSuggestion,
    ReturnSuggestion,
    SubmitSuggestion,
)
from services.suggestions.events import Complexity


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
    units = plan.county_units
    follow = Case(county_id, county, False, case.lead, units, county_staff(county))
    _assign(plan, follow, plan.later(then, 3, 10))
    return at


def _assign(plan: Plan, case: Case, at: datetime, *, returned: bool = False) -> datetime:
    rng = plan.rng
    lead_unit = rng.choice(case.units)[0]
    co = tuple(u for u, _ in rng.sample(case.units, min(2, len(case.units))) if u != lead_unit)[
        : 1 if rng.random() < 0.2 else 0
    ]
    complexity: Complexity = "complex" if rng.random() < 0.15 else "normal"
    c = AssignSuggestion(case.id, lead_unit, plan.names.name(), co, complexity, plan.names.name())
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
