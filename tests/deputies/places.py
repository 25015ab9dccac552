"""Shared steps of the deputies service tests: a fresh jurisdiction tree and a township's deputies."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client as NATS

from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from services.deputies.commands.context import operator
from services.deputies.commands.jurisdictions import RegisterJurisdiction, register_jurisdiction
from tests.support.places import fresh
from tests.support.system import System


def operator_meta() -> CommandMeta:
    return CommandMeta(
        actor=Actor(subject="operator:tests", role="operator"),
        correlation_id="tests",
        command_id=str(uuid.uuid4()),
        now=datetime.now(UTC),
    )


@dataclass(frozen=True)
class Tree:
    city: str
    county: str
    township: str  # a real township (乡镇)
    other: str  # another township of the same county
    street: str  # a street (街道)


async def fresh_tree(nc: NATS) -> Tree:
    """A city no other test of this session uses (the suite's NATS lives for the session)."""
    city = fresh(lambda: str(random.randint(9000, 9999)))
    county = city + "01"
    tree = Tree(city, county, county + "001", county + "003", county + "002")
    store = EventStore(nc)
    rows = [
        (city, "测试市", "city", None),
        (county, "测试县", "county", city),
        (tree.township, "甲镇", "township", county),
        (tree.other, "乙乡", "township", county),
        (tree.street, "丙街道", "street", county),
    ]
    for code, name, kind, parent in rows:
        c = RegisterJurisdiction(code=code, name=name, kind=kind, parent=parent)  # type: ignore[arg-type]
        await register_jurisdiction(c, operator(store, "tests"))
    return tree


def deputy_body(township: str, name: str, **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "gender": "female",
        "level": "township",
        "congress": township,
        "township": township,
        "constituency": "第一选区",
        "term": 18,
        "sector": "农民",
        **kw,
    }


async def register(system: System, headers: dict[str, str], body: dict[str, Any]) -> tuple[str, str]:
    """Register a deputy over HTTP; answer its id and the write's position."""
    r = await system.client.post("/api/deputies", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["deputy_id"], r.headers["renda-position"]


def after(headers: dict[str, str], *positions: str) -> dict[str, str]:
    return {**headers, "Renda-After": ",".join(p for p in positions if p)}
