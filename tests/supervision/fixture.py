"""A fixture county built through the real services over HTTP, with figures counted by hand.

Township T (``a.township``) of county C, plus a street S (``a.street``); units U1 = 镇财政所
(``a.unit``), U2 = 镇土地所 (``a.co_unit``); deputies (elected 2021-10-01): lead 张桂英, co 李建国,
gone 王已调 (terminated 2024-06-01), idle 赵闲 (never active). Everything happens today:

- s1: lead + co submit; assigned to U1; consulted face to face; replied A; lead satisfied → closed.
- s2: lead submits; assigned to U1; consulted by phone; replied B (promised in 60 days); lead
  unsatisfied → re-handling (round 2, due in a month).
- s3: lead submits; nothing more → submitted.
- s4: lead submits; assigned to U2 as complex (RENDA_REPLY_DEADLINE_COMPLEX = PT1S) → overdue.

By hand, for this year:
- statuses: submitted 1 (s3), assigned 1 (s4), replied 0, rehandling 1 (s2), closed 1 (s1); overdue 1 (s4).
- on-time: rounds due = s1 r1 (on time), s2 r1 (on time), s4 r1 (passed, unanswered: late) → 2/3;
  s2 r2 is not due yet.
- consultation 2/2 (s1, s2); face to face 1/2 (s1); satisfaction 1/2 (s1 satisfied, s2 not);
  resolution 1/2 (s1 A; s2 B not yet carried out); implementation 0/0 (the promise is not due) → null.
- U1 has 1 unsatisfied suggestion (s2); with RENDA_UNSATISFIED_LIMIT = 0 it is over the limit.
- deputies of T's congress current today: lead, co, idle → inactive 1 (idle), active 2.
- no presidium meeting this year: every ended quarter is flagged, and the open gap since 1 January.
- no report to voters at a meeting: 0/3 < 30 % → flagged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from nats.aio.client import Client as NATS

from libs.events.store import EventStore
from tests.suggestions.conftest import TODAY, Actors, Area, make_area, register_deputy, submit
from tests.support.system import System
from tests.support.waiting import eventually


@dataclass
class County:
    a: Area
    who: Actors
    idle: str
    s1: str
    s2: str
    s3: str
    s4: str
    positions: list[str]

    @property
    def after(self) -> dict[str, str]:
        return {"Renda-After": ",".join(self.positions)}


async def post(system: System, url: str, body: dict, who: dict[str, str], positions: list[str]) -> dict:  # type: ignore[type-arg]
    r = await system.client.post(url, json=body, headers=who)
    assert r.status_code in (200, 201), r.text
    if "renda-position" in r.headers:
        positions.extend(r.headers["renda-position"].split(","))
    return r.json()  # type: ignore[no-any-return]


async def build(system: System, nc: NATS) -> County:
    a = await make_area(system, nc)
    who = Actors(system, a)
    pos = list(a.positions)
    idle = f"d-{uuid.uuid4().hex[:12]}"
    pos.append(await register_deputy(EventStore(nc), idle, "赵闲", a.township))
    assign = {"lead_unit_id": a.unit, "responsible_leader": "陈副镇长"}
    s1 = await submit(system, a, who.staff)
    await post(system, f"/api/suggestions/{s1}/assign", assign, who.staff, pos)
    await post(
        system,
        f"/api/suggestions/{s1}/consultations",
        {"held_on": TODAY.isoformat(), "mode": "face_to_face", "summary": "当面商量"},
        who.unit,
        pos,
    )
    await post(system, f"/api/suggestions/{s1}/reply", {"result": "A", "content": "已修好"}, who.unit, pos)
    await post(system, f"/api/suggestions/{s1}/evaluation", {"satisfaction": "satisfied", "comment": ""}, who.lead, pos)
    s2 = await submit(system, a, who.staff, deputy_ids=[a.lead], title="整治河道")
    await post(system, f"/api/suggestions/{s2}/assign", assign, who.staff, pos)
    await post(
        system,
        f"/api/suggestions/{s2}/consultations",
        {"held_on": TODAY.isoformat(), "mode": "phone", "summary": "电话沟通"},
        who.unit,
        pos,
    )
    promised = (TODAY + timedelta(days=60)).isoformat()
    reply_b = {"result": "B", "content": "列入计划", "promised_by": promised, "measures": "明年春季施工"}
    await post(system, f"/api/suggestions/{s2}/reply", reply_b, who.unit, pos)
    await post(
        system, f"/api/suggestions/{s2}/evaluation", {"satisfaction": "unsatisfied", "comment": "太慢"}, who.lead, pos
    )
    s3 = await submit(system, a, who.staff, deputy_ids=[a.lead], title="增设路灯")
    s4 = await submit(system, a, who.staff, deputy_ids=[a.lead], title="修建文化广场")
    complex_ = {"lead_unit_id": a.co_unit, "responsible_leader": "王镇长", "complexity": "complex"}
    await post(system, f"/api/suggestions/{s4}/assign", complex_, who.staff, pos)
    c = County(a, who, idle, s1, s2, s3, s4, pos)

    async def overdue() -> None:  # s4's one-second deadline has passed (the clock, not a sleep-and-assert)
        r = await system.client.get(f"/api/suggestions/{s4}", headers=who.staff)
        assert r.json()["overdue"] is True, r.text

    await eventually(overdue)
    return c
