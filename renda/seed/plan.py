"""The plan of one county's history: steps (who decides what on which aggregate, when), in time order.

A step holds the aggregate it acts on and a ``decide`` that calls that aggregate's own ``decide_*``
on its state at the time the step runs, so a seeded history is one the rules allow; the writer
(``writer.py``) appends what it decides through ``EventStore.append``. Every id, time and choice
derives from ``(seed, county)``: the same seed plans the same steps, hence the same events.
"""

from __future__ import annotations

import functools
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from libs.events.aggregate import AggregateType
from libs.events.envelope import Actor
from libs.events.event import Event
from renda.seed.people import Names
from renda.seed.scales import END, Scale

if TYPE_CHECKING:
    from libs.config.durations import CalendarDuration
    from services.suggestions.domain.rules import SuggestionPolicy

SEED_NS = uuid.UUID("9a1f3c6e-5b2d-4e8f-a7c0-3d1e2f4b5a69")
_SEED_NS_BYTES = SEED_NS.bytes
OPERATOR = Actor(subject="operator:seed", role="operator")


class States(Protocol):
    """What a step may read of other aggregates at the time it runs (the writer's latest states)."""

    def state(self, agg: AggregateType[Any], aggregate_id: str) -> Any: ...


Decide = Callable[[Any, States], list[Event]]


@dataclass(slots=True)
class Step:
    at: datetime
    order: int
    agg: AggregateType[Any]
    agg_id: str
    where: str  # the jurisdiction its subject names
    actor: Actor
    decide: Decide
    command_id: str | None = None  # default: derived from the seed, the aggregate and its step count
    needs: tuple[tuple[str, str], ...] = ()  # (aggregate type, id) whose earlier steps must be done first


@functools.lru_cache(maxsize=4096)
def staff(code: str) -> Actor:
    role = {4: "city_staff", 6: "county_staff"}.get(len(code), "township_staff")
    return Actor(subject=f"staff-{code}", role=role)


def county_staff(code: str) -> Actor:
    return Actor(subject=f"staff-{code[:6]}", role="county_staff")


@functools.lru_cache(maxsize=65_536)
def deputy_actor(deputy_id: str) -> Actor:
    return Actor(subject=f"deputy:{deputy_id}", role="deputy")


@functools.lru_cache(maxsize=4096)
def unit_actor(unit_id: str) -> Actor:
    return Actor(subject=f"unit:{unit_id}", role="organizer")


def system(name: str) -> Actor:
    return Actor.system(name)


class Plan:
    """Steps of one county, from ``start`` to the end of ``END`` (later steps are never planned)."""

    # set by ``run.plan_county`` before anything is planned
    policy: SuggestionPolicy  # the suggestions service's deadlines (from the settings)
    review_deadline: CalendarDuration  # a review opinion's answer deadline
    county_units: list[tuple[str, str]]  # the county departments (unit id, name)

    def __init__(self, seed: int, county: str, scale: Scale, tz: ZoneInfo) -> None:
        self.seed = seed
        self.county = county
        self.scale = scale
        self.tz = tz
        self.rng = random.Random(f"{seed}/{county}")
        self.start = scale.start
        self.end = datetime.combine(END, time(23, 59), tz)
        self.names = Names(self.rng)
        self.steps: list[Step] = []
        self._order = 0

    # -- ids, times --------------------------------------------------------------------------------
    def id(self, *parts: object) -> str:
        """``str(uuid.uuid5(SEED_NS, "seed/part/…"))``, computed directly (a fifth of the cost)."""
        name = "/".join([str(self.seed), *map(str, parts)])
        h = bytearray(hashlib.sha1(_SEED_NS_BYTES + name.encode()).digest()[:16])
        h[6] = (h[6] & 0x0F) | 0x50
        h[8] = (h[8] & 0x3F) | 0x80
        x = h.hex()
        return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"

    def at(self, day: date, hour: int = 9, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), self.tz)

    def day_of(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def office_time(self, day: date) -> datetime:
        """A moment of office hours on ``day`` (8:30–17:30)."""
        return self.at(day, self.rng.randint(8, 16), self.rng.choice((0, 10, 20, 30, 40, 50)))

    def later(self, moment: datetime, min_days: int, max_days: int) -> datetime:
        """Office hours ``min_days``..``max_days`` days after ``moment`` (never before it)."""
        day = self.day_of(moment) + timedelta(days=self.rng.randint(min_days, max_days))
        t = self.office_time(day)
        return t if t > moment else moment + timedelta(minutes=self.rng.randint(5, 90))

    def years(self) -> range:
        return range(self.start.year, END.year + 1)

    def random_day(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max(0, (last - first).days)))

    # -- steps -------------------------------------------------------------------------------------
    def add(
        self,
        at: datetime,
        agg: AggregateType[Any],
        agg_id: str,
        where: str,
        actor: Actor,
        decide: Decide,
        *,
        command_id: str | None = None,
        needs: tuple[tuple[AggregateType[Any], str], ...] = (),
    ) -> bool:
        """Plan one step; False (and nothing planned) when ``at`` lies past the end of the history.

        ``needs``: other aggregates this step reads (``States.state``); their steps planned before
        this one are appended before it decides.
        """
        if at > self.end:
            return False
        self._order += 1
        wanted = tuple((a.name, i) for a, i in needs)
        self.steps.append(Step(at, self._order, agg, agg_id, where, actor, decide, command_id, wanted))
        return True

    def ordered(self) -> list[Step]:
        self.steps.sort(key=lambda s: (s.at, s.order))
        return self.steps
