"""Deputies' lives in a county: registration and qualification, presidiums, groups, liaison stations,
contacts, and each year's terminations and by-elections (with the group changes they bring).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import partial

from libs.events.event import Event
from renda.seed import vocab
from renda.seed.people import Person
from renda.seed.places import County, Place
from renda.seed.plan import Plan, States, deputy_actor, staff
from services.deputies.domain import deputy as dp
from services.deputies.domain import group as gp
from services.deputies.domain import presidium as pr
from services.deputies.domain import station as st
from services.deputies.events import Gender, SixHaves, TerminationReason

TERMS = {"township": 18, "county": 18, "city": 16}
REASONS: tuple[TerminationReason, ...] = ("resigned", "moved", "moved", "deceased", "resigned", "recalled")


def plan_deputies(plan: Plan, county: County) -> None:
    """Registration, qualification, groups, presidium, stations; then each year's changes."""
    day = plan.start + timedelta(days=3)
    for place in county.places:
        actor = staff(place.code)
        t = plan.at(day, 9, 0)
        for p in place.deputies:
            t += timedelta(seconds=15)
            _register(plan, place, p, t)
        if place.presidium:
            t = plan.at(day + timedelta(days=1), 10)
            c = pr.FormPresidium(
                place.code, tuple(p.id for p in place.presidium), place.presidium[0].id, day + timedelta(days=1)
            )
            current = frozenset(p.id for p in place.congress(c.formed_on))
            plan.add(
                t,
                pr.PRESIDIUM,
                place.code,
                place.code,
                actor,
                partial(_form_presidium, c=c, current=current),
            )
        t = plan.at(day + timedelta(days=2), 10)
        for g in place.groups:
            t += timedelta(minutes=3)
            fc = gp.FormDeputyGroup(
                g.id, place.code, g.name, (g.leader.id,), tuple(m.id for m in g.members), central=g.central
            )
            plan.add(
                t,
                gp.GROUP,
                g.id,
                place.code,
                actor,
                partial(_form_group, c=fc),
            )
        station = plan.id("station", place.code)
        sc = st.RegisterLiaisonStation(
            station,
            place.code,
            f"{place.name}人大代表联络站",
            f"{place.name}政务服务中心二楼",
            SixHaves(place=True, sign=True, rules=True, materials=True, records=place.role != "weak", roll=True),
            ("tuesday", "friday"),
        )
        plan.add(
            t + timedelta(minutes=30),
            st.STATION,
            station,
            place.code,
            actor,
            partial(_register_station, c=sc),
        )
        _contacts(plan, place, day + timedelta(days=5))
    for year in plan.years():
        for place in county.places:
            _changes(plan, place, year)


def _form_presidium(s: pr.Presidium, w: States, *, c: pr.FormPresidium, current: frozenset[str]) -> list[Event]:
    return pr.decide_form(
        s, c, is_street=False, large_township=False, office_holder_ids=frozenset(), current_ids=current
    )


def _form_group(s: gp.DeputyGroup, w: States, *, c: gp.FormDeputyGroup) -> list[Event]:
    return gp.decide_form(s, c, central_group_exists=False, current_ids=None)


def _register_station(s: st.LiaisonStation, w: States, *, c: st.RegisterLiaisonStation) -> list[Event]:
    return st.decide_register(s, c)


def _register(plan: Plan, place: Place, p: Person, t: datetime) -> None:
    c = dp.RegisterDeputy(
        deputy_id=p.id,
        name=p.name,
        gender=p.gender,
        level=p.level,
        congress=p.congress,
        township=place.code,
        constituency=f"{place.name}第{plan.rng.randint(1, 12)}选区",
        term=TERMS[p.level],
        sector=p.sector,
        phone=p.phone,
        by_election=p.by_election,
        elected_on=p.elected_on,
    )
    street = place.kind == "street"
    actor = staff(place.code)
    plan.add(
        t,
        dp.DEPUTY,
        p.id,
        place.code,
        actor,
        partial(_register_deputy, c=c, street=street),
    )
    confirm = dp.ConfirmQualification(p.id, plan.day_of(t))
    plan.add(
        t + timedelta(minutes=1),
        dp.DEPUTY,
        p.id,
        place.code,
        actor,
        partial(_confirm_qualification, c=confirm),
    )


def _register_deputy(s: dp.Deputy, w: States, *, c: dp.RegisterDeputy, street: bool) -> list[Event]:
    return dp.decide_register(s, c, congress_is_street=street and c.level == "township")


def _confirm_qualification(s: dp.Deputy, w: States, *, c: dp.ConfirmQualification) -> list[Event]:
    return dp.decide_confirm_qualification(s, c)


def _contacts(plan: Plan, place: Place, day: date) -> None:
    """Each presidium member keeps contact with ≥ 10 deputies; each deputy with ≥ 3 constituents."""
    rng = plan.rng
    others = [p for p in place.deputies if not p.presidium]
    for m in place.presidium:
        for k, other in enumerate(rng.sample(others, min(10, len(others)))):
            c = dp.RecordContact(
                m.id, plan.id("contact-deputy", m.id, k), "presidium_member", day, contact_deputy_id=other.id
            )
            plan.add(
                plan.office_time(day),
                dp.DEPUTY,
                m.id,
                place.code,
                deputy_actor(m.id),
                partial(_record_contact, c=c, presidium_member=True, today=day),
            )
    for p in place.deputies:
        if "inactive" in p.tags:
            continue
        for k in range(3):
            c = dp.RecordContact(
                p.id,
                plan.id("contact-voter", p.id, k),
                "constituent",
                day,
                constituent_name=plan.names.name(),
                village=rng.choice(vocab.VILLAGES),
            )
            plan.add(
                plan.office_time(day),
                dp.DEPUTY,
                p.id,
                place.code,
                deputy_actor(p.id),
                partial(_record_contact, c=c, presidium_member=False, today=day),
            )


def _record_contact(
    s: dp.Deputy, w: States, *, c: dp.RecordContact, presidium_member: bool, today: date
) -> list[Event]:
    return dp.decide_record_contact(s, c, is_presidium_member=presidium_member, today=today)


def _changes(plan: Plan, place: Place, year: int) -> None:
    """One or two deputies leave each year; a township by-elects a successor two months later."""
    rng = plan.rng
    first = max(date(year, 1, 1), plan.start + timedelta(days=20))
    for _ in range(rng.randint(1, 2)):
        day = plan.random_day(first + timedelta(days=30), date(year, 10, 31))
        pool = [
            p
            for p in place.deputies
            if p.active(day) and p.terminated_on is None and not p.presidium and "leader" not in p.tags
        ]
        if not pool:
            return
        leaving = rng.choice(pool)
        reason = rng.choice(REASONS)
        tc = dp.TerminateDeputy(leaving.id, reason, day, "本人辞职，经主席团会议接受" if reason == "resigned" else "")
        if not plan.add(
            plan.office_time(day),
            dp.DEPUTY,
            leaving.id,
            place.code,
            staff(place.code),
            partial(_terminate, c=tc),
        ):
            return
        leaving.terminated_on = day
        group = next(g for g in place.groups if leaving in g.members)
        newcomer = None
        joined = day  # the newcomer's election day, or the leaving day when none comes
        if leaving.level == "township":
            by_day = day + timedelta(days=rng.randint(45, 75))
            gender: Gender = "female" if rng.random() < 0.35 else "male"
            newcomer = Person(
                plan.id("deputy", place.code, "by", leaving.id),
                plan.names.person_name(gender),
                gender,
                plan.names.phone(),
                rng.choice(vocab.SECTORS),
                "township",
                place.code,
                place.code,
                by_day,
                by_election=True,
            )
            t = plan.office_time(by_day)
            if t + timedelta(minutes=1) <= plan.end:
                place.deputies.append(newcomer)
                _register(plan, place, newcomer, t)
                joined = by_day
            else:
                newcomer = None
        change_day = joined + timedelta(days=rng.randint(3, 20))
        members = [m for m in group.on(change_day) if m is not leaving] + ([newcomer] if newcomer else [])
        cc = gp.ChangeDeputyGroup(
            group.id, group.name, (group.leader.id,), tuple(m.id for m in members), central=group.central
        )
        if (
            plan.add(
                plan.office_time(change_day),
                gp.GROUP,
                group.id,
                place.code,
                staff(place.code),
                partial(_change_group, c=cc),
            )
            and newcomer
        ):
            group.members.append(newcomer)
            group.joined[newcomer.id] = change_day


def _terminate(s: dp.Deputy, w: States, *, c: dp.TerminateDeputy) -> list[Event]:
    return dp.decide_terminate(s, c)


def _change_group(s: gp.DeputyGroup, w: States, *, c: gp.ChangeDeputyGroup) -> list[Event]:
    return gp.decide_change(s, c, central_group_exists=False)
