"""How the access matrix exercises each route: build an inside and an outside request per role.

Every (method, path) of every service must have a case here, or the matrix test fails and
names the route: a new route cannot escape. The expected status comes from the route's own
declared rule (``access_roles``: a role not listed → 403, no token → 401) and from the case's
kind for the roles it admits:

- ``Create``: the body names a jurisdiction — inside → 201, outside → 403 (the caller named it);
- ``Record``: the path names an existing record — inside → 2xx, outside → 404 (existence hidden);
- ``List``: inside → 200 with the known inside row; outside (``under`` a foreign prefix) → 200 and
  empty; every row of every answer lies inside the caller's scope;
- ``Self``: about the caller only (``/me``, logout) — the same answer inside and outside;
- ``Public``: no token needed — the same answer for everyone.

A case for a new route: add an entry to ``CASES`` (its setup may create records through the
operator's command handlers or over HTTP as a staff user with ``w.headers(...)``).
"""

from __future__ import annotations

import http.cookiejar
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from libs.auth.actor import ROLES
from libs.auth.matrix import RouteRule
from tests.auth.helpers import PASSWORD, new_user, register_tree
from tests.support.system import System

Where = Literal["inside", "outside"]
WHERES: tuple[Where, ...] = ("inside", "outside")


@dataclass
class World:
    """One fresh city (and a foreign one) for a matrix run; each role's home and its foreign place."""

    system: System
    nc: Any
    city: str
    other_city: str
    deputy_id: str = "dep-inside"
    other_deputy_id: str = "dep-outside"
    unit_id: str = "unit-inside"
    other_unit_id: str = "unit-outside"
    login_user: str = ""
    store: dict[str, Any] = field(default_factory=dict)  # what case setups created
    _counter: itertools.count = field(default_factory=lambda: itertools.count(10))  # type: ignore[type-arg]
    client: httpx.AsyncClient = field(init=False)

    def __post_init__(self) -> None:
        # The matrix's own client keeps no cookies: a session cookie from the login probe must not
        # turn the anonymous probes into authenticated ones.
        jar = http.cookiejar.CookieJar(policy=http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.client = httpx.AsyncClient(base_url=self.system.base_url, timeout=30, cookies=jar)

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
            role, self.other_township)

    def principal(self, role: str) -> dict[str, str | None]:
        bound: dict[str, str | None] = {}
        if role == "deputy":
            bound["deputy_id"] = self.deputy_id
        if role == "organizer":
            bound["unit_id"] = self.unit_id
        return bound

    def headers(self, role: str | None) -> dict[str, str]:
        if role is None:
            return {}
        return self.system.auth(role, self.home(role), subject=f"matrix:{role}", **self.principal(role))

    async def setup(self) -> None:
        c, co = self.city, self.other_city
        await register_tree(self.nc, [
            (c, "city", None), (co, "city", None),
            (self.county, "county", c), (self.other_county, "county", c), (co + "01", "county", co),
            (self.township, "township", self.county), (self.other_township, "township", self.county),
            (self.street, "street", self.county), (self.other_county + "001", "township", self.other_county),
            (co + "01001", "township", co + "01"),
        ])
        self.login_user = await new_user(self.nc, "township_staff", self.township)


@dataclass
class Probe:
    method: str
    url: str
    json: Any = None
    params: dict[str, Any] | None = None


ProbeFn = Callable[[World, str, Where], Probe]


@dataclass
class Case:
    probe: ProbeFn
    success: int = 200
    kind: str = "record"
    outside_status: int = 404
    setup: Callable[[World], Awaitable[None]] | None = None

    def expected(self, rule: RouteRule, role: str | None, where: Where) -> int:
        if rule.public:
            return self.success
        if role is None:
            return 401
        if not rule.allows(role):
            return 403
        return self.success if where == "inside" else self.outside_status

    async def check(self, w: World, role: str, where: Where, response: httpx.Response) -> None:
        """Extra assertions on a 2xx answer."""


def Record(probe: ProbeFn, success: int = 200, setup: Any = None) -> Case:
    return Case(probe, success, "record", 404, setup)


def Create(probe: ProbeFn, success: int = 201, setup: Any = None) -> Case:
    return Case(probe, success, "create", 403, setup)


@dataclass
class Self_(Case):
    kind: str = "self"

    def expected(self, rule: RouteRule, role: str | None, where: Where) -> int:
        return super().expected(rule, role, "inside")


@dataclass
class Public(Case):
    kind: str = "public"


@dataclass
class List_(Case):
    """A list: filtered to the caller's scope; ``jurisdiction_of(item)`` says where a row lies."""

    kind: str = "list"
    jurisdiction_of: Callable[[dict[str, Any]], str] = lambda item: item["jurisdiction"]
    must_show: Callable[[World, str], str | None] = lambda w, role: None  # a jurisdiction an inside answer shows

    def expected(self, rule: RouteRule, role: str | None, where: Where) -> int:
        return super().expected(rule, role, "inside")

    async def check(self, w: World, role: str, where: Where, response: httpx.Response) -> None:
        items = response.json()["items"]
        places = [self.jurisdiction_of(i) for i in items]
        home = w.home(role)
        assert all(p.startswith(home) for p in places), f"rows outside {home}: {places}"
        if where == "outside":
            assert items == [] and response.json()["next_cursor"] is None, f"foreign rows shown: {places}"
        else:
            wanted = self.must_show(w, role)
            assert wanted is None or wanted in places, f"{wanted} missing from {places}"


def _list_probe(path: str, param: str = "under", township: bool = False) -> ProbeFn:
    """Inside: the caller's whole scope; outside: ``param`` set to a foreign prefix (or township)."""

    def probe(w: World, role: str, where: Where) -> Probe:
        params: dict[str, Any] = {"limit": 500}
        if where == "outside":
            params[param] = w.foreign_township(role) if township else w.foreign(role)
        return Probe("GET", path, params=params)

    return probe


# -- deputies: deputies -----------------------------------------------------------------------
def _deputy_body(township: str, n: int) -> dict[str, Any]:
    return {"name": f"代表{n}", "gender": "female", "level": "township", "congress": township,
            "township": township, "constituency": "第一选区", "term": 18}


async def _register_deputy(w: World, township: str, role: str = "county_staff") -> str:
    headers = w.system.auth(role, township[: {"city_staff": 4, "county_staff": 6}.get(role, 9)])
    r = await w.system.client.post("/api/deputies", json=_deputy_body(township, w.next()), headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["deputy_id"])


async def _deputies_setup(w: World) -> None:
    """The deputy role's own record, a neighbour's, and per role a fresh inside record to change."""
    if "deputies" in w.store:
        return
    w.deputy_id = await _register_deputy(w, w.township)
    w.other_deputy_id = await _register_deputy(w, w.other_township)
    outside = {}
    for role in ("city_staff", "county_staff", "township_staff"):
        outside[role] = await _register_deputy(w, w.foreign_township(role), "city_staff")
    fresh = {(verb, role): await _register_deputy(w, w.township)
             for verb in ("terminate", "qualification") for role in ROLES}
    w.store["deputies"] = {"outside": outside, "fresh": fresh}


def _deputy_record(verb: str, body: dict[str, Any]) -> ProbeFn:
    def probe(w: World, role: str, where: Where) -> Probe:
        d = w.store["deputies"]
        deputy = d["fresh"][(verb, role)] if where == "inside" else d["outside"].get(role, w.other_deputy_id)
        return Probe("POST", f"/api/deputies/{deputy}/{verb}", json=body)

    return probe


def _new_deputy(w: World, role: str, where: Where) -> Probe:
    township = w.township if where == "inside" else w.foreign_township(role)
    return Probe("POST", "/api/deputies", json=_deputy_body(township, w.next()))


# -- deputies: jurisdictions ------------------------------------------------------------------
def _new_jurisdiction(w: World, role: str, where: Where) -> Probe:
    n = w.next()
    if role == "city_staff":
        base = w.city if where == "inside" else w.other_city
        body = {"code": f"{base}{n % 90 + 10}", "name": f"新区{n}", "kind": "county", "parent": base}
    else:
        base = w.county if where == "inside" else w.foreign("county_staff")
        body = {"code": f"{base}{n % 900 + 100}", "name": f"新镇{n}", "kind": "township", "parent": base}
    return Probe("POST", "/api/deputies/jurisdictions", json=body)


# -- auth -----------------------------------------------------------------------------------
def _login(path: str) -> ProbeFn:
    return lambda w, role, where: Probe("POST", path, json={"username": w.login_user, "password": PASSWORD})


async def _users_setup(w: World) -> None:
    w.store["inside_user"] = await new_user(w.nc, "deputy", w.township, deputy_id="dep-x")
    w.store["outside_user"] = await new_user(w.nc, "township_staff", w.other_township)
    w.store["foreign_city_user"] = await new_user(w.nc, "city_staff", w.other_city)


@dataclass
class Me(Self_):
    async def check(self, w: World, role: str, where: Where, response: httpx.Response) -> None:
        me = response.json()
        assert (me["role"], me["jurisdiction"]) == (role, w.home(role))


CASES: dict[tuple[str, str], Case] = {
    ("POST", "/api/deputies/jurisdictions"): Create(_new_jurisdiction),
    ("GET", "/api/deputies/jurisdictions"): List_(
        _list_probe("/api/deputies/jurisdictions"), jurisdiction_of=lambda i: i["code"],
        must_show=lambda w, role: w.township,
    ),
    ("POST", "/api/deputies"): Create(_new_deputy, setup=_deputies_setup),
    ("GET", "/api/deputies"): List_(
        _list_probe("/api/deputies", "township", township=True), setup=_deputies_setup,
        jurisdiction_of=lambda i: i["township"] or i["congress"], must_show=lambda w, role: w.township,
    ),
    ("POST", "/api/deputies/{deputy_id}/terminate"): Record(
        _deputy_record("terminate", {"reason": "resigned", "effective_on": "2026-01-05"}), setup=_deputies_setup),
    ("POST", "/api/deputies/{deputy_id}/qualification"): Record(
        _deputy_record("qualification", {"confirmed_on": "2026-01-05"}), setup=_deputies_setup),
    ("POST", "/api/auth/token"): Public(_login("/api/auth/token")),
    ("POST", "/api/auth/session"): Public(_login("/api/auth/session")),
    ("DELETE", "/api/auth/session"): Self_(lambda w, role, where: Probe("DELETE", "/api/auth/session"), 204),
    ("GET", "/api/auth/me"): Me(lambda w, role, where: Probe("GET", "/api/auth/me")),
    ("GET", "/api/auth/users"): List_(
        _list_probe("/api/auth/users"), setup=_users_setup,
        must_show=lambda w, role: w.township,
    ),
}


def role_only_case(rule: RouteRule) -> Case:
    """For a route without a case: only the cells that need no record (401 anonymous, 403 other roles)."""
    path = rule.path.replace("{", "matrix-").replace("}", "")
    return Case(lambda w, role, where: Probe(rule.method, path, json={}), success=0, kind="role-only")


def case_for(rule: RouteRule) -> Case | None:
    if rule.kind == "ops":  # health, readiness, metrics: added by create_app itself, public by design
        return Public(lambda w, role, where: Probe("GET", rule.path))
    return CASES.get((rule.method, rule.path))


ROLES_AND_ANONYMOUS: tuple[str | None, ...] = (*ROLES, None)
