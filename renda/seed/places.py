"""A county's set-up and its deputies' lives: the tree, organizer units, deputies, groups, presidiums,
liaison stations, terminations and by-elections, duty activities, contacts, demo accounts.

Three townships are made to break a rule (for the supervision view to show): ``weak`` holds one
session a year, ``missing`` skips the third quarter's presidium meeting, ``gap`` leaves four months
between two presidium meetings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from renda.seed import vocab
from renda.seed.people import Person
from renda.seed.plan import OPERATOR, Plan, States, deputy_actor, staff
from renda.seed.scales import CITY
from services.deputies.domain import deputy as dp
from services.deputies.domain import group as gp
from services.deputies.domain import jurisdiction as jd
from services.deputies.domain import presidium as pr
from services.deputies.domain import station as st
from services.deputies.events import SixHaves
from services.suggestions.domain import unit as un
from services.suggestions.domain.commands import RegisterOrganizerUnit

TERM_STARTED = {"township": date(2021, 12, 20), "county": date(2021, 12, 10), "city": date(2021, 12, 5)}
TERMS = {"township": 18, "county": 18, "city": 16}
CITY_NAME = "淮南市"
REASONS = ("resigned", "moved", "moved", "deceased", "resigned", "recalled")


@dataclass
class Group:
    id: str
    name: str
    leader: Person
    members: list[Person]  # everyone who ever belonged (see ``on``)
    central: bool = False
    joined: dict[str, date] = field(default_factory=dict)  # members who joined after the group was formed

    def on(self, day: date) -> list[Person]:
        """Members on ``day``: current deputies who had joined by then."""
        return [m for m in self.members if m.current(day) and self.joined.get(m.id, day) <= day]


@dataclass
class Place:
    code: str
    name: str
    kind: str  # township | street
    units: list[tuple[str, str]] = field(default_factory=list)  # (unit id, name)
    deputies: list[Person] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    presidium: list[Person] = field(default_factory=list)
    role: str = ""  # "", "weak", "missing", "gap"
    presidium_days: list[date] = field(default_factory=list)

    def congress(self, on: date) -> list[Person]:
        """Current deputies of this township's own congress on ``on``."""
        return [p for p in self.deputies if p.level == "township" and p.current(on)]

    def current(self, on: date) -> list[Person]:
        return [p for p in self.deputies if p.current(on)]


@dataclass
class County:
    code: str
    name: str
    places: list[Place]
    units: list[tuple[str, str]]  # county departments


def build_county(plan: Plan, index: int) -> County:
    """The county's places, units and deputies (not yet planned as steps)."""
    rng = plan.rng
    names = plan.names
    s = plan.scale
    stems = rng.sample(vocab.TOWN_STEMS, s.places - s.streets)
    places: list[Place] = []
    for k in range(s.places):
        street = k >= s.places - s.streets
        code = f"{plan.county}{k + 1:03d}" if not street else f"{plan.county}{400 + k + 1 - s.places + s.streets:03d}"
        if street:
            name = vocab.STREET_STEMS[(k + index) % len(vocab.STREET_STEMS)] + "街道"
        else:
            name = stems[k] + vocab.TOWN_SUFFIX[k % len(vocab.TOWN_SUFFIX)]
        place = Place(code, name, "street" if street else "township")
        for unit_name, _kind in vocab.TOWNSHIP_UNITS[: 6 + k % 6] if not street else ():
            place.units.append((plan.id("unit", code, unit_name), f"{name}{unit_name}"))
        if not street and k < 4:
            place.role = ("", "weak", "missing", "gap")[k]
        places.append(place)
    units = [
        (plan.id("unit", plan.county, u), u.replace("县", vocab.COUNTY_NAMES[index % 12][:-1], 1))
        for u in vocab.COUNTY_UNITS
    ]
    for place in places:
        for n in range(s.deputies):
            roll = rng.random()
            level = (
                ("county" if roll < 0.8 else "city")
                if place.kind == "street"
                else ("township" if roll < 0.78 else "county" if roll < 0.96 else "city")
            )
            congress = {"township": place.code, "county": plan.county, "city": CITY}[level]
            gender = "female" if rng.random() < 0.32 else "male"
            place.deputies.append(
                Person(
                    id=plan.id("deputy", place.code, n),
                    name=names.person_name(gender),
                    gender=gender,
                    phone=names.phone(),
                    sector=rng.choice(vocab.SECTORS),
                    level=level,
                    congress=congress,
                    place=place.code,
                    elected_on=TERM_STARTED[level],
                )
            )
        if place.kind == "township":
            own = [p for p in place.deputies if p.level == "township"]
            place.presidium = own[: 7 + rng.randint(0, 4)]
            for p in place.presidium:
                p.presidium = True
        for p in place.deputies:
            if rng.random() < 0.03 and not p.presidium:
                p.tags.add("inactive")  # takes part in nothing: the view must surface them
        _groups(plan, place)
    return County(plan.county, vocab.COUNTY_NAMES[index % len(vocab.COUNTY_NAMES)], places, units)


def _groups(plan: Plan, place: Place) -> None:
    n = 4 + plan.rng.randint(0, 2)
    members = list(place.deputies)
    for g in range(n):
        part = members[g::n]
        leader = next((p for p in part if p.presidium), part[0])
        leader.tags.add("leader")
        name = "中心代表小组" if g == 0 else f"第{'一二三四五六七八九'[g - 1]}代表小组"
        place.groups.append(Group(plan.id("group", place.code, g), f"{place.name}{name}", leader, part, g == 0))


# -- steps ------------------------------------------------------------------------------------------
def plan_tree(plan: Plan, county: County, *, with_city: bool) -> None:
    t = plan.at(plan.start + timedelta(days=2), 8, 0)
    if with_city:
        plan.add(t, jd.JURISDICTION, CITY, CITY, OPERATOR, _register_place(CITY, CITY_NAME, "city", None))
    t += timedelta(minutes=1)
    plan.add(
        t,
        jd.JURISDICTION,
        county.code,
        county.code,
        OPERATOR,
        _register_place(county.code, county.name, "county", CITY),
        needs=((jd.JURISDICTION, CITY),),
    )
    for place in county.places:
        t += timedelta(seconds=20)
        plan.add(
            t,
            jd.JURISDICTION,
            place.code,
            place.code,
            OPERATOR,
            _register_place(place.code, place.name, place.kind, county.code),
            needs=((jd.JURISDICTION, county.code),),
        )
    # organizer units, with a head and a deputy head (they lose award eligibility with the unit)
    for where, units in [(county.code, county.units), *((p.code, p.units) for p in county.places)]:
        for unit_id, name in units:
            t += timedelta(seconds=30)
            c = RegisterOrganizerUnit(
                unit_id, where, name, "县直部门" if len(where) == 6 else "站所", plan_name(plan), plan_name(plan)
            )
            plan.add(
                t,
                un.ORGANIZER_UNIT,
                unit_id,
                where,
                staff(where),
                lambda s, w, c=c, t=t: un.decide_register(s, c, now=t),
            )


def plan_name(plan: Plan) -> str:
    return plan.names.name()


def _register_place(code: str, name: str, kind: str, parent: str | None) -> Any:
    def decide(s: jd.Jurisdiction, w: States) -> list[Any]:
        above = w.state(jd.JURISDICTION, parent) if parent else None
        return jd.decide_register(s, name=name, kind=kind, parent=above)  # type: ignore[arg-type]

    return decide


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
                lambda s, w, c=c, cur=current: pr.decide_form(
                    s, c, is_street=False, large_township=False, office_holder_ids=frozenset(), current_ids=cur
                ),
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
                lambda s, w, c=fc: gp.decide_form(s, c, central_group_exists=False, current_ids=None),
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
            lambda s, w, c=sc: st.decide_register(s, c),
        )
        _contacts(plan, place, day + timedelta(days=5))
    for year in plan.years():
        for place in county.places:
            _changes(plan, place, year)


def _register(plan: Plan, place: Place, p: Person, t: Any) -> None:
    c = dp.RegisterDeputy(
        deputy_id=p.id,
        name=p.name,
        gender=p.gender,
        level=p.level,
        congress=p.congress,  # type: ignore[arg-type]
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
        lambda s, w, c=c: dp.decide_register(s, c, congress_is_street=street and c.level == "township"),
    )
    confirm = dp.ConfirmQualification(p.id, plan.day_of(t))
    plan.add(
        t + timedelta(minutes=1),
        dp.DEPUTY,
        p.id,
        place.code,
        actor,
        lambda s, w, c=confirm: dp.decide_confirm_qualification(s, c),
    )


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
                lambda s, w, c=c, d=day: dp.decide_record_contact(s, c, is_presidium_member=True, today=d),
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
                lambda s, w, c=c, d=day: dp.decide_record_contact(s, c, is_presidium_member=False, today=d),
            )


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
        tc = dp.TerminateDeputy(leaving.id, reason, day, "本人辞职，经主席团会议接受" if reason == "resigned" else "")  # type: ignore[arg-type]
        if not plan.add(
            plan.office_time(day),
            dp.DEPUTY,
            leaving.id,
            place.code,
            staff(place.code),
            lambda s, w, c=tc: dp.decide_terminate(s, c),
        ):
            return
        leaving.terminated_on = day
        group = next(g for g in place.groups if leaving in g.members)
        newcomer = None
        if leaving.level == "township":
            by_day = day + timedelta(days=rng.randint(45, 75))
            gender = "female" if rng.random() < 0.35 else "male"
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
            else:
                newcomer = None
        change_day = (newcomer.elected_on if newcomer is not None else day) + timedelta(days=rng.randint(3, 20))  # type: ignore[operator]
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
                lambda s, w, c=cc: gp.decide_change(s, c, central_group_exists=False),
            )
            and newcomer
        ):
            group.members.append(newcomer)
            group.joined[newcomer.id] = change_day
