"""The county's joint inspections (县乡联动): the county sets the theme and window, chosen townships and
a street inspect in a meeting of their own, and each finding that names a unit becomes a suggestion.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from functools import partial

from libs.events.event import Event
from renda.seed import vocab
from renda.seed.meetings import _adjourn, _convene, _day, _schedule
from renda.seed.places import County, Place
from renda.seed.plan import Plan, States, county_staff, staff
from services.meetings.domain import joint_inspection as ji
from services.meetings.domain import meeting as mt

Finding = Callable[
    ..., None
]  # (plan, place, finding_id, unit_id, description, deputy_ids, at, *, joint_inspection_id, meeting_id)


def plan_joint_inspections(plan: Plan, county: County, on_finding: Finding) -> None:
    """One a year: the county sets the theme and window; three townships and a street inspect."""
    rng = plan.rng
    towns = [p for p in county.places if p.kind == "township"]
    streets = [p for p in county.places if p.kind == "street"]
    for year in plan.years():
        theme, law = vocab.JOINT_THEMES[(year + int(county.code)) % len(vocab.JOINT_THEMES)]
        start = _day(plan, year, 6, 1, 10)
        end = start + timedelta(days=20)
        chosen = rng.sample(towns, min(3, len(towns))) + streets[:1]
        jid = plan.id("joint", county.code, year)
        meeting_ids = {p.code: plan.id("joint-meeting", jid, p.code) for p in chosen}
        c = ji.LaunchJointInspection(
            jid,
            county.code,
            theme,
            start,
            end,
            "各乡镇（街道）对照检查要点开展自查和实地检查。",
            vocab.JOINT_STEPS,
            tuple(meeting_ids),
            law=law,
        )
        launched_at = plan.office_time(start - timedelta(days=12))
        actor = county_staff(county.code)
        if not plan.add(
            launched_at,
            ji.JOINT_INSPECTION,
            jid,
            county.code,
            actor,
            partial(_launch, c=c, meeting_ids=meeting_ids),
        ):
            continue
        [launched] = ji.decide_launch(ji.initial(jid), c, meeting_ids=meeting_ids)
        for k, link in enumerate(launched.inspections):  # type: ignore[attr-defined]
            place = next(p for p in chosen if p.code == link.township)
            schedule = ji.township_inspection(launched, link, tz=plan.tz)  # type: ignore[arg-type]
            street = place.kind == "street"
            at = launched_at + timedelta(seconds=k + 1)
            plan.add(
                at,
                mt.MEETING,
                link.meeting_id,
                place.code,
                actor,
                partial(_schedule, c=schedule, is_street=street),
            )
            convened = plan.at(start, 9)
            plan.add(
                convened,
                mt.MEETING,
                link.meeting_id,
                place.code,
                staff(place.code),
                partial(_convene, members=None, now=convened),
            )
            for f in range(rng.randint(1, 2)):
                _finding(plan, county, place, jid, link.meeting_id, start, end, f, on_finding)
            closed = datetime.combine(end, time(17), plan.tz)
            plan.add(
                closed,
                mt.MEETING,
                link.meeting_id,
                place.code,
                staff(place.code),
                partial(_adjourn, notes="联动检查结束，问题清单报县人大常委会。", now=closed),
            )


def _launch(
    s: ji.JointInspection, w: States, *, c: ji.LaunchJointInspection, meeting_ids: dict[str, str]
) -> list[Event]:
    return ji.decide_launch(s, c, meeting_ids=meeting_ids)


def _finding(
    plan: Plan, county: County, place: Place, jid: str, meeting_id: str, start: date, end: date, k: int, on: Finding
) -> None:
    rng = plan.rng
    day = plan.random_day(start + timedelta(days=2), end - timedelta(days=1))
    at = plan.office_time(day)
    units = place.units or county.units
    unit_id = rng.choice(units)[0] if rng.random() < 0.85 else None
    deputies = [p for p in place.deputies if p.active(day)]
    raised = tuple(p.id for p in rng.sample(deputies, min(len(deputies), rng.randint(1, 2))))
    description = rng.choice(vocab.FINDINGS)
    finding_id = plan.id("finding", jid, place.code, k)
    rf = ji.RecordFinding(place.code, description, unit_id, raised)
    if (
        plan.add(
            at,
            ji.JOINT_INSPECTION,
            jid,
            county.code,
            staff(place.code),
            partial(_record_finding, c=rf, finding_id=finding_id, now=at),
        )
        and unit_id
    ):
        on(plan, place, finding_id, unit_id, description, raised, at, joint_inspection_id=jid, meeting_id=meeting_id)


def _record_finding(
    s: ji.JointInspection, w: States, *, c: ji.RecordFinding, finding_id: str, now: datetime
) -> list[Event]:
    return ji.decide_record_finding(s, c, finding_id=finding_id, now=now)
