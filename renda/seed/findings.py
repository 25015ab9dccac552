"""A joint inspection's finding that names a unit becomes a suggestion, as the suggestions service's
reaction makes it (``services/suggestions/reactions.py``): same suggestion id, same command ids,
same actor. The service's reaction, replaying the findings later, then finds both commands applied
and adds nothing; the suggestion is then handled like any other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from renda.seed.handling import S, finding_case, handle
from renda.seed.places import County, Place
from renda.seed.plan import Plan
from services.meetings.events import InspectionFindingRecorded
from services.suggestions import reactions
from services.suggestions.domain import rules
from services.suggestions.domain import suggestion as sg


def suggestion_from_finding(
    plan: Plan,
    place: Place,
    finding_id: str,
    unit_id: str,
    description: str,
    deputy_ids: tuple[str, ...],
    recorded_at: datetime,
    *,
    county: County,
    joint_inspection_id: str,
    meeting_id: str,
) -> None:
    e = InspectionFindingRecorded(
        joint_inspection_id=joint_inspection_id,
        finding_id=finding_id,
        county=county.code,
        township=place.code,
        meeting_id=meeting_id,
        description=description,
        recorded_at=recorded_at,
        unit_id=unit_id,
        deputy_ids=deputy_ids,
    )
    ids = reactions.ids_for(finding_id)
    sid = ids.suggestion_id
    street = place.kind == "street"
    submitted = recorded_at + timedelta(minutes=2)
    c = reactions.submission(e, sid)
    if not plan.add(
        submitted,
        S,
        sid,
        place.code,
        reactions.ACTOR,
        lambda s, w: sg.decide_submit(s, c, now=submitted, is_street=street),
        command_id=ids.submit_command_id,
    ):
        return
    assigned = submitted + timedelta(seconds=5)
    a = reactions.assignment(e, sid)
    policy = plan.policy
    plan.add(
        assigned,
        S,
        sid,
        place.code,
        reactions.ACTOR,
        lambda s, w: sg.decide_assign(
            s, a, now=assigned, policy=policy, is_street=street, actor_role=reactions.ACTOR.role
        ),
        command_id=ids.assign_command_id,
    )
    lead = next(p for p in place.deputies if p.id == deputy_ids[0])
    case = finding_case(plan, county, place, sid, lead)
    handle(plan, case, unit_id, assigned, rules.reply_due_at(assigned, "normal", policy))
