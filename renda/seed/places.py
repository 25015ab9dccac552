"""A county's set-up: the tree, organizer units, and the deputies, groups and presidiums it is built
with (their registration and later lives are planned in ``deputies.py``).

Three townships are made to break a rule (for the supervision view to show): ``weak`` holds one
session a year, ``missing`` skips the third quarter's presidium meeting, ``gap`` leaves four months
between two presidium meetings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from libs.events.event import Event
from renda.seed import vocab
from renda.seed.people import Person
from renda.seed.plan import OPERATOR, Plan, States, staff
from renda.seed.scales import CITY
from services.deputies.domain import jurisdiction as jd
from services.deputies.events import Gender, Kind, Level
from services.suggestions.domain import unit as un
from services.suggestions.domain.commands import RegisterOrganizerUnit

TERM_STARTED = {"township": date(2021, 12, 20), "county": date(2021, 12, 10), "city": date(2021, 12, 5)}
CITY_NAME = "淮南市"


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
    kind: Kind  # township | street
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
            level: Level = (
                ("county" if roll < 0.8 else "city")
                if place.kind == "street"
                else ("township" if roll < 0.78 else "county" if roll < 0.96 else "city")
            )
            congress = {"township": place.code, "county": plan.county, "city": CITY}[level]
            gender: Gender = "female" if rng.random() < 0.32 else "male"
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
                partial(_register_unit, c=c, t=t),
            )


def plan_name(plan: Plan) -> str:
    return plan.names.name()


def _register_unit(s: un.OrganizerUnit, w: States, *, c: RegisterOrganizerUnit, t: datetime) -> list[Event]:
    return un.decide_register(s, c, now=t)


def _register_place(code: str, name: str, kind: Kind, parent: str | None) -> Any:
    def decide(s: jd.Jurisdiction, w: States) -> list[Any]:
        above = w.state(jd.JURISDICTION, parent) if parent else None
        return jd.decide_register(s, name=name, kind=kind, parent=above)

    return decide
