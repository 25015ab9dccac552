"""A fresh area for each suggestions test: city → county → township and street, deputies, units.

The suite's NATS is shared by the session, so every test gets division codes of its own.
Deputies are written as the deputies context's events (the suggestions service keeps them as
reference data); units and everything else go through the HTTP API.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from nats.aio.client import Client as NATS

from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from services.deputies.domain.deputy import DEPUTY
from services.deputies.events import DeputyRegistered, DeputyTerminated
from tests.support.places import fresh
from tests.support.system import System


def meta(now: datetime | None = None, subject: str = "test:setup") -> CommandMeta:
    cid = str(uuid.uuid4())
    return CommandMeta(
        actor=Actor(subject, "county_staff"), correlation_id=cid, command_id=cid, now=now or datetime.now(UTC)
    )


@dataclass
class Area:
    city: str
    county: str
    township: str
    street: str
    lead: str = ""  # the lead deputy
    co: str = ""  # a co-submitter
    gone: str = ""  # a deputy whose mandate ended
    unit: str = ""  # the lead organizer unit (财政所)
    co_unit: str = ""  # a co-organizer (土地所)
    other_unit: str = ""  # a unit not involved
    street_deputy: str = ""  # a district deputy grouped in the street
    county_unit: str = ""  # a county department (县直部门): serves every township and street of the county
    positions: list[str] = field(default_factory=list)

    @property
    def after(self) -> dict[str, str]:
        """``Renda-After`` for every setup write (read-your-writes on the reference data)."""
        return {"Renda-After": ",".join(self.positions)}


def codes() -> Area:
    city = fresh(lambda: f"9{random.randint(100, 999)}")
    county = f"{city}{random.randint(10, 99)}"
    return Area(city=city, county=county, township=f"{county}001", street=f"{county}002")


async def register_deputy(
    store: EventStore, deputy_id: str, name: str, township: str, *, terminated_on: date | None = None
) -> str:
    done = await store.execute(
        DEPUTY,
        deputy_id,
        lambda _l: [
            DeputyRegistered(
                deputy_id=deputy_id,
                name=name,
                gender="female",
                level="township",
                congress=township,
                township=township,
                constituency="第一选区",
                term=18,
                elected_on=date(2021, 10, 1),
            )
        ],
        meta(),
        jurisdiction=township,
    )
    if terminated_on is not None:
        done = await store.execute(
            DEPUTY,
            deputy_id,
            lambda _l: [
                DeputyTerminated(
                    deputy_id=deputy_id,
                    reason="moved",
                    effective_on=terminated_on,
                    level="township",
                    congress=township,
                    township=township,
                )
            ],
            meta(),
        )
    return f"{done.stream}:{done.stream_seq}"


async def make_area(system: System, nc: NATS) -> Area:
    a = codes()
    c = system.client
    top = system.auth("city_staff", a.city[:2])
    for code, kind, parent in [
        (a.city, "city", None),
        (a.county, "county", a.city),
        (a.township, "township", a.county),
        (a.street, "street", a.county),
    ]:
        r = await c.post(
            "/api/deputies/jurisdictions",
            json={"code": code, "name": f"测试{kind}{code}", "kind": kind, "parent": parent},
            headers=top,
        )
        assert r.status_code == 201, r.text
        a.positions.append(r.headers["renda-position"])
    store = EventStore(nc)
    a.lead, a.co, a.gone = (f"d-{uuid.uuid4().hex[:12]}" for _ in range(3))
    a.positions.append(await register_deputy(store, a.lead, "张桂英", a.township))
    a.positions.append(await register_deputy(store, a.co, "李建国", a.township))
    a.positions.append(await register_deputy(store, a.gone, "王已调", a.township, terminated_on=date(2024, 6, 1)))
    a.street_deputy = f"d-{uuid.uuid4().hex[:12]}"
    a.positions.append(await register_deputy(store, a.street_deputy, "赵街道", a.street))
    staff = system.auth("township_staff", a.township)
    units = []
    for name in ("镇财政所", "镇土地所", "镇派出所"):
        r = await c.post(
            "/api/suggestions/units",
            json={
                "jurisdiction": a.township,
                "name": name,
                "kind": "station",
                "head": "王所长",
                "deputy_head": "李副所长",
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
        units.append(r.json()["unit_id"])
        a.positions.append(r.headers["renda-position"])
    a.unit, a.co_unit, a.other_unit = units
    r = await c.post(
        "/api/suggestions/units",
        json={"jurisdiction": a.county, "name": "县交通运输局", "kind": "county_department"},
        headers=system.auth("county_staff", a.county),
    )
    assert r.status_code == 201, r.text
    a.county_unit = r.json()["unit_id"]
    a.positions.append(r.headers["renda-position"])
    r = await c.get("/api/suggestions/units", params={"under": a.township}, headers={**staff, **a.after})
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 3  # the township's own; the county's department is above it
    return a


# -- who acts, and a submission ------------------------------------------------------------------
TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the default RENDA_TIMEZONE


def code(r: Any) -> str:
    return str(r.json()["error"]["code"])


class Actors:
    def __init__(self, system: System, a: Area) -> None:
        self.staff = system.auth("township_staff", a.township, subject="clerk-liu")
        self.county = system.auth("county_staff", a.county, subject="county-zhao")
        self.street_staff = system.auth("township_staff", a.street, subject="street-sun")
        self.unit = system.auth("organizer", a.township, unit_id=a.unit, subject="unit-finance")
        self.co_unit = system.auth("organizer", a.township, unit_id=a.co_unit, subject="unit-land")
        self.other_unit = system.auth("organizer", a.township, unit_id=a.other_unit, subject="unit-police")
        self.lead = system.auth("deputy", a.township, deputy_id=a.lead, subject="deputy-zhang")
        self.co = system.auth("deputy", a.township, deputy_id=a.co, subject="deputy-li")
        self.foreign = system.auth("township_staff", a.county + "009", subject="clerk-elsewhere")


async def submit(system: System, a: Area, who: dict[str, str], **over: Any) -> str:
    body = {
        "title": "修缮青石村村道",
        "content": "村道破损严重，雨天无法通行。",
        "township": a.township,
        "deputy_ids": [a.lead, a.co],
        "category": "交通",
        "submitted_during": "recess",
        **over,
    }
    r = await system.client.post("/api/suggestions", json=body, headers=who)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "submitted"
    return str(r.json()["suggestion_id"])
