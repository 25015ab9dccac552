"""A running system and a fresh county for the meetings tests over HTTP: a township, a street and a
neighbouring township, registered as the deputies' events (not typed into meetings)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from tests.meetings.seeding import Seeder, fresh_county
from tests.support.system import System, running_system

TZ = "+08:00"


def at(day: str, hour: int) -> str:
    return f"{day}T{hour:02d}:00:00{TZ}"


@dataclass
class World:
    system: System
    seed: Seeder
    city: str
    county: str
    town: str
    street: str
    other: str

    def staff(self, code: str | None = None, role: str = "township_staff") -> dict[str, str]:
        return self.system.auth(role, code or self.town)

    @property
    def county_staff(self) -> dict[str, str]:
        return self.system.auth("county_staff", self.county)

    async def post(self, path: str, body: Any, headers: dict[str, str], **kw: Any) -> Any:
        return await self.system.client.post(path, json=body, headers={**headers, **self.seed.after}, **kw)

    async def send(self, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
        return await self.system.client.request(method, path, json=body, headers={**headers, **self.seed.after})

    async def get(self, path: str, headers: dict[str, str], after: Any = None, **kw: Any) -> Any:
        extra = {"Renda-After": after.headers["renda-position"]} if after is not None else {}
        return await self.system.client.get(path, headers={**headers, **extra}, **kw)


@contextlib.asynccontextmanager
async def make_world(nc: Any, settings: Any) -> AsyncIterator[World]:
    seed = Seeder(nc)
    city, county = fresh_county()
    town, street, other = f"{county}101", f"{county}002", f"{county}103"
    await seed.tree(city, county, {town: "township", street: "street", other: "township"})
    async with running_system(settings) as system:
        yield World(system, seed, city, county, town, street, other)


def schedule_body(kind: str, body: str, day: str = "2024-03-05", **kw: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "body": body,
        "title": kw.pop("title", "第十八届人民代表大会第三次会议"),
        "starts_at": kw.pop("starts_at", at(day, 8)),
        "ends_at": kw.pop("ends_at", at(day, 17)),
        "venue": "镇政府三楼会议室",
        "agenda": kw.pop("agenda", [{"title": "审议政府工作报告"}, {"title": "审议财政预算"}]),
        **kw,
    }
