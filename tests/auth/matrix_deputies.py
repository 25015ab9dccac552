"""Matrix cases of the deputies service: jurisdictions, deputies, bodies, duty records, identity."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import httpx

from services.deputies.domain.deputy import DEPUTY
from services.deputies.domain.group import GROUP
from services.deputies.domain.presidium import PRESIDIUM
from services.deputies.domain.station import STATION
from services.deputies.events import (
    DeputyGroupFormed,
    DeputyRegistered,
    LiaisonStationRegistered,
    PresidiumFormed,
)
from tests.auth.helpers import PASSWORD, new_user
from tests.auth.matrix_core import (
    STAFF,
    Case,
    Create,
    List_,
    Probe,
    ProbeFn,
    Public,
    Record,
    Self_,
    Where,
    World,
    by_role,
    list_probe,
    new_id,
)

PAST = "2025-06-02"


# -- seeds ----------------------------------------------------------------------------------------
async def seed(w: World) -> None:
    """Deputies, groups, stations and presidiums inside the world's township and in each role's foreign place."""
    tw = w.township
    members = [new_id("dep") for _ in range(7)]
    act, con = new_id("dep"), new_id("dep")
    term = {r: new_id("dep") for r in STAFF}
    qual = {r: new_id("dep") for r in STAFF}
    foreign = {r: new_id("dep") for r in STAFF}
    homes: dict[str, str] = {w.deputy_id: tw, w.other_deputy_id: tw, act: tw, con: tw}
    homes |= {m: tw for m in members} | {d: tw for d in [*term.values(), *qual.values()]}
    homes |= {foreign[r]: w.foreign_township(r) for r in STAFF}

    def registered(did: str, township: str, n: int) -> DeputyRegistered:
        return DeputyRegistered(
            deputy_id=did,
            name=f"代表{n}",
            gender="female",
            level="township",
            congress=township,
            township=township,
            constituency="第一选区",
            term=18,
            elected_on=date(2021, 1, 1),
        )

    await asyncio.gather(
        *(
            w.seed.append(DEPUTY, did, where, [registered(did, where, n)])
            for n, (did, where) in enumerate(homes.items())
        )
    )

    groups = {"in": new_id("grp"), "put": new_id("grp"), **{r: new_id("grp") for r in STAFF}}
    group_at = {
        "in": (tw, w.deputy_id),
        "put": (tw, members[1]),
        **{r: (w.foreign_township(r), foreign[r]) for r in STAFF},
    }
    stations = {"in": new_id("stn"), "put": new_id("stn"), **{r: new_id("stn") for r in STAFF}}
    station_at = {"in": tw, "put": tw, **{r: w.foreign_township(r) for r in STAFF}}
    presidiums = {
        tw: (tuple(members), members[0]),
        **{w.foreign_township(r): ((foreign[r],), foreign[r]) for r in STAFF},
    }
    await asyncio.gather(
        *(
            w.seed.append(
                GROUP,
                groups[k],
                where,
                [
                    DeputyGroupFormed(
                        group_id=groups[k], township=where, name=f"小组{k}", leader_ids=(leader,), member_ids=(leader,)
                    )
                ],
            )
            for k, (where, leader) in group_at.items()
        ),
        *(
            w.seed.append(
                STATION,
                stations[k],
                where,
                [LiaisonStationRegistered(station_id=stations[k], township=where, name=f"联络站{k}", address="村委会")],
            )
            for k, where in station_at.items()
        ),
        *(
            w.seed.append(
                PRESIDIUM,
                where,
                where,
                [PresidiumFormed(township=where, member_ids=ids, chair_id=chair, formed_on=date(2021, 2, 1))],
            )
            for where, (ids, chair) in presidiums.items()
        ),
    )
    street_deputy = new_id("dep")  # a county deputy grouped in the street (a street elects no congress)
    await w.seed.append(
        DEPUTY,
        street_deputy,
        w.street,
        [registered(street_deputy, w.street, 99).model_copy(update={"level": "county", "congress": w.county})],
    )
    outside = {**foreign, "deputy": w.other_deputy_id}
    w.store.update(
        {
            "foreign_deputy": foreign,
            "street_deputy": street_deputy,
            "presidium_members": members,
            "deputy": {"inside": w.deputy_id, "outside": outside},
            "activities": {"inside": act, "outside": outside},
            "contacts": {"inside": con, "outside": outside},
            "terminate": {"inside": term, "outside": outside},
            "qualification": {"inside": qual, "outside": outside},
            "group": {
                "inside": groups["in"],
                "outside": {**{r: groups[r] for r in STAFF}, "deputy": groups["township_staff"]},
            },
            "group_put": {"inside": groups["put"], "outside": {r: groups[r] for r in STAFF}},
            "station": {
                "inside": stations["in"],
                "outside": {**{r: stations[r] for r in STAFF}, "deputy": stations["township_staff"]},
            },
            "station_put": {"inside": stations["put"], "outside": {r: stations[r] for r in STAFF}},
        }
    )
    w.store["inside_user"] = await new_user(w.nc, "deputy", w.township, deputy_id="dep-x")
    w.store["outside_user"] = await new_user(w.nc, "township_staff", w.other_township)
    w.store["foreign_city_user"] = await new_user(w.nc, "city_staff", w.other_city)


# -- probes ---------------------------------------------------------------------------------------
def _township(w: World, role: str, where: Where) -> str:
    """The world's township inside; outside, the role's foreign township (a deputy's: the neighbour)."""
    return w.township if where == "inside" else w.foreign_township("township_staff" if role == "deputy" else role)


def _on(key: str, method: str, suffix: str = "", body: Any = None, params: dict[str, Any] | None = None) -> ProbeFn:
    pick = by_role(key)

    def probe(w: World, role: str, where: Where) -> Probe:
        payload = body(w) if callable(body) else body
        return Probe(method, f"/api/deputies/{suffix.format(id=pick(w, role, where))}", json=payload, params=params)

    return probe


def _at_township(path: str, **params: Any) -> ProbeFn:
    return lambda w, role, where: Probe("GET", path, params={"township": _township(w, role, where), **params})


def _deputy_body(township: str, n: int) -> dict[str, Any]:
    return {
        "name": f"代表{n}",
        "gender": "female",
        "level": "township",
        "congress": township,
        "township": township,
        "constituency": "第一选区",
        "term": 18,
    }


def _new_deputy(w: World, role: str, where: Where) -> Probe:
    return Probe("POST", "/api/deputies", json=_deputy_body(_township(w, role, where), w.next()))


def _new_jurisdiction(w: World, role: str, where: Where) -> Probe:
    n = w.next()
    if role == "city_staff":
        base = w.city if where == "inside" else w.other_city
        body = {"code": f"{base}{n % 90 + 10}", "name": f"新区{n}", "kind": "county", "parent": base}
    else:
        base = w.county if where == "inside" else w.foreign("county_staff")
        body = {"code": f"{base}{n % 900 + 100}", "name": f"新镇{n}", "kind": "township", "parent": base}
    return Probe("POST", "/api/deputies/jurisdictions", json=body)


def _new_group(w: World, role: str, where: Where) -> Probe:
    leader = w.store["presidium_members"][2]
    return Probe(
        "POST",
        "/api/deputies/groups",
        json={"township": _township(w, role, where), "name": f"新小组{w.next()}", "leader_ids": [leader]},
    )


def _new_station(w: World, role: str, where: Where) -> Probe:
    return Probe(
        "POST", "/api/deputies/stations", json={"township": _township(w, role, where), "name": f"新联络站{w.next()}"}
    )


def _new_presidium(w: World, role: str, where: Where) -> Probe:
    members = w.store["presidium_members"]
    return Probe(
        "POST",
        "/api/deputies/presidium",
        json={"township": _township(w, role, where), "member_ids": members, "chair_id": members[0]},
    )


def _own(key: str) -> Any:
    """The deputy role acts as the deputy of this route's own record."""
    return lambda w, role: {"deputy_id": w.store[key]["inside"]} if role == "deputy" else {}


def _login(path: str) -> ProbeFn:
    return lambda w, role, where: Probe("POST", path, json={"username": w.login_user, "password": PASSWORD})


class _Me(Self_):
    async def check(self, w: World, role: str, where: Where, response: httpx.Response) -> None:
        me = response.json()
        assert (me["role"], me["jurisdiction"]) == (role, w.home(role))


def _inactive_nothing_foreign(w: World, role: str, where: Where, r: httpx.Response) -> None:
    body = r.json()
    if where == "outside":
        assert body["other_levels"] == [], f"foreign deputies shown: {body['other_levels'][:3]}"


def _is(key: str, field: str) -> Any:
    return lambda w, role, item: item[field] == w.store[key]["inside"]


D = "/api/deputies"
CASES: dict[tuple[str, str], Case] = {
    # jurisdictions
    ("POST", f"{D}/jurisdictions"): Create(_new_jurisdiction),
    ("GET", f"{D}/jurisdictions"): List_(
        list_probe(f"{D}/jurisdictions"),
        jurisdiction_of=lambda i: i["code"],
        shows=lambda w, role, i: i["code"] == w.township,
    ),
    # deputies
    ("POST", D): Create(_new_deputy),
    ("GET", D): List_(
        list_probe(D, "township", township=True),
        jurisdiction_of=lambda i: i["township"] or i["congress"],
        owns=lambda w, role, i: i["deputy_id"] == w.deputy_id,
        shows=lambda w, role, i: i["deputy_id"] == w.deputy_id,
    ),
    ("GET", f"{D}/{{deputy_id}}"): Record(_on("deputy", "GET", "{id}")),
    ("POST", f"{D}/{{deputy_id}}/terminate"): Record(
        _on("terminate", "POST", "{id}/terminate", {"reason": "resigned", "effective_on": PAST})
    ),
    ("POST", f"{D}/{{deputy_id}}/qualification"): Record(
        _on("qualification", "POST", "{id}/qualification", {"confirmed_on": PAST})
    ),
    # duty records: the deputy's own, or staff over its township
    ("GET", f"{D}/{{deputy_id}}/activities"): Record(_on("deputy", "GET", "{id}/activities")),
    ("POST", f"{D}/{{deputy_id}}/activities"): Record(
        _on("activities", "POST", "{id}/activities", {"kind": "reception", "on": PAST, "people_count": 3}),
        201,
        identity=_own("activities"),
    ),
    ("POST", f"{D}/{{deputy_id}}/contacts"): Record(
        _on(
            "contacts",
            "POST",
            "{id}/contacts",
            lambda w: {"kind": "constituent", "contact": {"name": f"群众{w.next()}", "village": "李庄村"}},
        ),
        201,
        identity=_own("contacts"),
    ),
    ("GET", f"{D}/{{deputy_id}}/dossier"): Record(_on("deputy", "GET", "{id}/dossier", params={"year": 2025})),
    # township figures: staff matters
    ("GET", f"{D}/contacts"): Record(_at_township(f"{D}/contacts")),
    ("GET", f"{D}/reports"): Record(_at_township(f"{D}/reports", year=2025)),
    ("GET", f"{D}/inactive"): List_(
        _at_township(f"{D}/inactive", limit=500),
        jurisdiction_of=lambda i: i["congress"],
        shows=lambda w, role, i: i["deputy_id"] == w.store["presidium_members"][6],  # no activity of any kind
        validate=_inactive_nothing_foreign,
    ),
    # groups, stations, the presidium
    ("POST", f"{D}/groups"): Create(_new_group),
    ("GET", f"{D}/groups"): List_(
        _at_township(f"{D}/groups", limit=500),
        jurisdiction_of=lambda i: i["township"],
        shows=_is("group", "group_id"),
    ),
    ("GET", f"{D}/groups/{{group_id}}"): Record(_on("group", "GET", "groups/{id}")),
    ("PUT", f"{D}/groups/{{group_id}}"): Record(
        _on(
            "group_put",
            "PUT",
            "groups/{id}",
            lambda w: {"name": f"改名{w.next()}", "leader_ids": [w.store["presidium_members"][1]]},
        )
    ),
    ("POST", f"{D}/stations"): Create(_new_station),
    ("GET", f"{D}/stations"): List_(
        _at_township(f"{D}/stations", limit=500),
        jurisdiction_of=lambda i: i["township"],
        shows=_is("station", "station_id"),
    ),
    ("GET", f"{D}/stations/{{station_id}}"): Record(_on("station", "GET", "stations/{id}")),
    ("PUT", f"{D}/stations/{{station_id}}"): Record(
        _on("station_put", "PUT", "stations/{id}", lambda w: {"name": f"联络站{w.next()}", "address": "新址"})
    ),
    ("GET", f"{D}/presidium"): Record(_at_township(f"{D}/presidium")),
    ("POST", f"{D}/presidium"): Create(_new_presidium),
    # identity
    ("POST", "/api/auth/token"): Public(_login("/api/auth/token")),
    ("POST", "/api/auth/session"): Public(_login("/api/auth/session")),
    ("DELETE", "/api/auth/session"): Self_(lambda w, role, where: Probe("DELETE", "/api/auth/session"), 204),
    ("GET", "/api/auth/me"): _Me(lambda w, role, where: Probe("GET", "/api/auth/me")),
    ("GET", "/api/auth/users"): List_(
        list_probe("/api/auth/users"), shows=lambda w, role, i: i["jurisdiction"] == w.township
    ),
}
