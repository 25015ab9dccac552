"""The access matrix's machinery: one world of places and records, probes, and the kinds of case.

A ``World`` is one fresh city (and a foreign one) with a county, a neighbouring county, two
townships and a street, seeded once per run with the records every case needs (real events
appended through the ``EventStore``, or real HTTP requests), shared by all cases.

Kinds of case, for the roles a route's rule admits (other roles: 403, no token: 401):

- ``Create``: the body names a jurisdiction — inside → 2xx, outside → 403 (the caller named it);
- ``Record``: the path names an existing record — inside → 2xx, outside → 404 (existence hidden);
- ``List_``: inside → 200 with the known inside row; outside (a foreign filter) → 200, empty, no
  cursor; every row of every answer is the caller's (inside its prefix, or its own);
- ``Self_``: about the caller only (``/me``, logout) — the same answer inside and outside;
- ``Public``: no token needed — the same answer for everyone.

A case may add ``extras``: further cells beyond inside / outside (a deputy on a neighbour's
record, a co-unit acting as lead, street staff assigning), each with its expected status.
"""

from __future__ import annotations

import http.cookiejar
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from libs.events.envelope import Actor
from libs.events.event import Event
from libs.events.store import CommandMeta, EventStore
from renda.matrix import RouteRule
from tests.auth.helpers import new_user, register_tree
from tests.support.system import System

Where = Literal["inside", "outside"]
WHERES: tuple[Where, ...] = ("inside", "outside")
STAFF = ("city_staff", "county_staff", "township_staff")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Seed:
    """Appends real events as the operator would, remembering the last position per stream."""

    def __init__(self, nc: Any) -> None:
        self.store = EventStore(nc)
        self.positions: dict[str, int] = {}

    async def append(self, agg: Any, aggregate_id: str, jurisdiction: str, events: list[Event]) -> None:
        meta = CommandMeta(Actor("operator:matrix", "operator"), "matrix", str(uuid.uuid4()), datetime.now(UTC))
        loaded = await self.store.load(agg, aggregate_id, jurisdiction=jurisdiction)
        done = await self.store.append(loaded, events, meta, jurisdiction=jurisdiction)
        self.note(done.stream, done.stream_seq)

    def note(self, stream: str, seq: int) -> None:
        self.positions[stream] = max(self.positions.get(stream, 0), seq)

    def note_header(self, header: str | None) -> None:
        for part in (header or "").split(","):
            stream, _, seq = part.strip().partition(":")
            if stream and seq.isdigit():
                self.note(stream, int(seq))

    @property
    def after(self) -> dict[str, str]:
        return {"Renda-After": ",".join(f"{s}:{n}" for s, n in sorted(self.positions.items()))}


@dataclass
class World:
    """One fresh city (and a foreign one) for a matrix run; each role's home and its foreign place."""

    system: System
    nc: Any
    city: str
    other_city: str
    deputy_id: str = ""
    other_deputy_id: str = ""
    unit_id: str = ""
    other_unit_id: str = ""
    login_user: str = ""
    store: dict[str, Any] = field(default_factory=dict)  # what the seeds created
    _counter: itertools.count = field(default_factory=lambda: itertools.count(10))  # type: ignore[type-arg]
    client: httpx.AsyncClient = field(init=False)
    seed: Seed = field(init=False)

    def __post_init__(self) -> None:
        # The matrix's own client keeps no cookies: a session cookie from the login probe must not
        # turn the anonymous probes into authenticated ones.
        jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.client = httpx.AsyncClient(base_url=self.system.base_url, timeout=60, cookies=jar)
        self.seed = Seed(self.nc)
        self.deputy_id = self.deputy_id or new_id("dep")
        self.other_deputy_id = self.other_deputy_id or new_id("dep")
        self.unit_id = self.unit_id or new_id("unit")
        self.other_unit_id = self.other_unit_id or new_id("unit")

    @property
    def county(self) -> str:
        return self.city + "01"

    @property
    def other_county(self) -> str:
        return self.city + "02"

    @property
    def township(self) -> str:
        return self.county + "001"

    @property
    def other_township(self) -> str:
        return self.county + "002"

    @property
    def street(self) -> str:
        return self.county + "003"

    def next(self) -> int:
        return next(self._counter)

    def home(self, role: str) -> str:
        return {"city_staff": self.city, "county_staff": self.county}.get(role, self.township)

    def foreign(self, role: str) -> str:
        return {"city_staff": self.other_city, "county_staff": self.other_county}.get(role, self.other_township)

    def foreign_township(self, role: str) -> str:
        """A township outside ``role``'s home (for a city: in the other city)."""
        return {"city_staff": self.other_city + "01001", "county_staff": self.other_county + "001"}.get(
            role, self.other_township
        )

    def principal(self, role: str) -> dict[str, str | None]:
        bound: dict[str, str | None] = {}
        if role == "deputy":
            bound["deputy_id"] = self.deputy_id
        if role == "organizer":
            bound["unit_id"] = self.unit_id
        return bound

    def headers(self, role: str | None, **bound: str | None) -> dict[str, str]:
        if role is None:
            return {}
        return self.system.auth(
            role,
            bound.pop("jurisdiction", None) or self.home(role),
            subject=f"matrix:{role}",
            **{**self.principal(role), **bound},
        )

    async def setup(self) -> None:
        c, co = self.city, self.other_city
        await register_tree(
            self.nc,
            [
                (c, "city", None),
                (co, "city", None),
                (self.county, "county", c),
                (self.other_county, "county", c),
                (co + "01", "county", co),
                (self.township, "township", self.county),
                (self.other_township, "township", self.county),
                (self.street, "street", self.county),
                (self.other_county + "001", "township", self.other_county),
                (co + "01001", "township", co + "01"),
            ],
        )
        self.login_user = await new_user(self.nc, "township_staff", self.township)


@dataclass
class Probe:
    method: str
    url: str
    json: Any = None
    params: dict[str, Any] | None = None
    files: Any = None


ProbeFn = Callable[[World, str, Where], Probe]


@dataclass
class Extra:
    """One more cell: ``role`` (with ``bound`` claims) sends ``probe`` and expects ``expected``."""

    role: str
    label: str
    probe: Callable[[World], Probe]
    expected: int
    bound: Callable[[World], dict[str, str | None]] | None = None


@dataclass
class Case:
    probe: ProbeFn
    success: int = 200
    kind: str = "record"
    outside_status: int = 404
    # claims of the deputy / organizer role for this route (default: the world's own deputy and unit)
    identity: Callable[[World, str], dict[str, str | None]] | None = None
    extras: Callable[[World], list[Extra]] | None = None
    validate: Callable[[World, str, Where, httpx.Response], None] | None = None

    def expected(self, rule: RouteRule, role: str | None, where: Where) -> int:
        if rule.public:
            return self.success
        if role is None:
            return 401
        if not rule.allows(role):
            return 403
        return self.success if where == "inside" else self.outside_status

    def bound(self, w: World, role: str) -> dict[str, str | None]:
        return self.identity(w, role) if self.identity is not None else {}

    async def check(self, w: World, role: str, where: Where, response: httpx.Response) -> None:
        """Extra assertions on a 2xx answer."""
        if self.validate is not None:
            self.validate(w, role, where, response)


def Record(probe: ProbeFn, success: int = 200, **kw: Any) -> Case:
    return Case(probe, success, "record", 404, **kw)


def Create(probe: ProbeFn, success: int = 201, **kw: Any) -> Case:
    return Case(probe, success, "create", 403, **kw)


@dataclass
class Self_(Case):
    kind: str = "self"

    def expected(self, rule: RouteRule, role: str | None, where: Where) -> int:
        return super().expected(rule, role, "inside")


@dataclass
class Public(Case):
    kind: str = "public"


Item = dict[str, Any]


@dataclass
class List_(Case):
    """A list, filtered to the caller: ``jurisdiction_of(item)`` says where a row lies; ``owns``
    (for a deputy or an organizer) says whether the row is theirs; ``shows`` picks the row an
    inside answer must contain."""

    kind: str = "list"
    jurisdiction_of: Callable[[Item], str] = lambda item: item["jurisdiction"]
    owns: Callable[[World, str, Item], bool] | None = None
    shows: Callable[[World, str, Item], bool] | None = None
    shown_to: tuple[str, ...] | None = None  # the roles ``shows`` applies to (default: all)
    items_key: str = "items"
    # instead of the prefix check: each row's own URL, which must answer the caller 200
    detail: Callable[[Item], str] | None = None

    def expected(self, rule: RouteRule, role: str | None, where: Where) -> int:
        return super().expected(rule, role, "inside")

    async def check(self, w: World, role: str, where: Where, response: httpx.Response) -> None:
        body = response.json()
        items = body[self.items_key]
        if self.owns is not None and role in ("deputy", "organizer"):
            foreign = [i for i in items if not self.owns(w, role, i)]
            assert not foreign, f"rows not the {role}'s own: {foreign[:3]}"
        elif self.detail is not None:
            for i in items:
                one = await w.client.get(self.detail(i), headers=w.headers(role))
                assert one.status_code == 200, (
                    f"a listed row the {role} may not open: {self.detail(i)} {one.status_code}"
                )
        else:
            home = w.home(role)
            places = [self.jurisdiction_of(i) for i in items]
            assert all(p.startswith(home) for p in places), f"rows outside {home}: {places}"
        if where == "outside":
            assert items == [], f"foreign rows shown: {items[:3]}"
            assert body.get("next_cursor") is None, "a cursor on an empty foreign list"
        elif self.shows is not None and (self.shown_to is None or role in self.shown_to):
            assert any(self.shows(w, role, i) for i in items), f"the known inside row is missing from {items[:5]}"
        await super().check(w, role, where, response)


def list_probe(path: str, param: str = "under", township: bool = False, **fixed: Any) -> ProbeFn:
    """Inside: the caller's whole scope; outside: ``param`` set to a foreign prefix (or township)."""

    def probe(w: World, role: str, where: Where) -> Probe:
        params: dict[str, Any] = {"limit": 500, **fixed}
        if where == "outside":
            params[param] = w.foreign_township(role) if township else w.foreign(role)
        return Probe("GET", path, params=params)

    return probe


def by_role(key: str) -> Callable[[World, str, Where], str]:
    """The record a role uses: ``w.store[key][where]``, one shared id or one per role."""

    def pick(w: World, role: str, where: Where) -> str:
        d = w.store[key]
        table = d[where]
        if isinstance(table, dict):
            return str(table.get(role) or next(iter(table.values())))
        return str(table)

    return pick


Setup = Callable[[World], Awaitable[None]]
