"""The six rates and the unsatisfied-per-unit count through the read side, against a fixture
township counted by hand (the arithmetic is in the comments).

The fixture's history lies in 2025, written as the suggestions' own events with the times the
commands had (the domain decides each step); the figures are read over HTTP from the running
service's read model. Units: U1 = 镇财政所 (``a.unit``), U2 = 镇土地所 (``a.co_unit``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from libs.events.envelope import Actor
from libs.events.errors import ConcurrencyConflict
from libs.events.event import Event
from libs.events.store import CommandMeta, EventStore
from libs.runtime.nats_server import EmbeddedNats
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EvaluateSuggestion,
    JustifyUnsatisfied,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import Suggestion
from tests.suggestions.conftest import Area, make_area
from tests.support.system import running_system

TZ = ZoneInfo("Asia/Shanghai")
POLICY = SuggestionPolicy.parse()  # P3M / P6M / P1M re-handling
NO_CONSULT = SuggestionPolicy.parse(require_consultation="false")  # one unit replied without consulting


def at(month: int, day: int, year: int = 2025) -> datetime:
    return datetime(year, month, day, 9, 0, tzinfo=TZ)


class Fixture:
    def __init__(self, store: EventStore, a: Area) -> None:
        self.store = store
        self.a = a
        self.seq = 0

    async def step(self, sid: str, when: datetime, decide: Callable[[Suggestion], list[Event]], **kw: Any) -> None:
        cid = str(uuid.uuid4())
        m = CommandMeta(actor=Actor("fixture", "township_staff"), correlation_id=cid, command_id=cid, now=when)
        for attempt in range(5):  # the running service's watcher raises these old deadlines meanwhile
            try:
                done = await self.store.execute(sg.SUGGESTION, sid, lambda x: decide(x.state), m, **kw)
                break
            except ConcurrencyConflict:
                if attempt == 4:
                    raise
        self.seq = max(self.seq, done.stream_seq)

    async def assigned(self, unit: str, when: datetime = at(1, 10)) -> str:
        sid = str(uuid.uuid4())
        c = SubmitSuggestion(sid, self.a.township, "修缮村道", "村道破损", (self.a.lead,))
        await self.step(
            sid, at(1, 5), lambda s: sg.decide_submit(s, c, now=at(1, 5), is_street=False), jurisdiction=self.a.township
        )
        await self.step(
            sid,
            when,
            lambda s: sg.decide_assign(
                s,
                AssignSuggestion(sid, unit, "陈副镇长"),
                now=when,
                policy=POLICY,
                is_street=False,
                actor_role="township_staff",
            ),
        )
        return sid

    async def consult(self, sid: str, when: datetime, mode: str) -> None:
        c = RecordConsultation(sid, when.date(), mode, "面商")  # type: ignore[arg-type]
        await self.step(sid, when, lambda s: sg.decide_consult(s, c, unit_id=None, now=when, policy=POLICY))

    async def reply(
        self, sid: str, when: datetime, result: str, policy: SuggestionPolicy = POLICY, promised_by: date | None = None
    ) -> None:
        c = ReplyToSuggestion(
            sid,
            result,
            "答复",
            promised_by=promised_by,  # type: ignore[arg-type]
            measures="措施" if result == "B" else None,
            reason="条件限制" if result == "C" else None,
        )
        await self.step(sid, when, lambda s: sg.decide_reply(s, c, unit_id=None, now=when, policy=policy))

    async def evaluate(self, sid: str, when: datetime, satisfaction: str) -> None:
        c = EvaluateSuggestion(sid, satisfaction)  # type: ignore[arg-type]
        await self.step(sid, when, lambda s: sg.decide_evaluate(s, c, deputy_id=self.a.lead, now=when, policy=POLICY))


async def test_rates_match_the_hand_counted_township(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url, unsatisfied_limit=0)
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        f = Fixture(EventStore(nc), a)
        u1, u2 = a.unit, a.co_unit
        # Every first round: assigned 2025-01-10, due 2025-04-10 (P3M).
        s1 = await f.assigned(u1)  # face to face, A on time, satisfied
        await f.consult(s1, at(2, 1), "face_to_face")
        await f.reply(s1, at(3, 1), "A")
        await f.evaluate(s1, at(3, 5), "satisfied")
        s2 = await f.assigned(u1)  # phone, B on time (promised 06-30, kept 06-20), basically satisfied
        await f.consult(s2, at(2, 1), "phone")
        await f.reply(s2, at(3, 1), "B", promised_by=date(2025, 6, 30))
        await f.evaluate(s2, at(3, 5), "basically_satisfied")
        c = RecordImplementation(s2, date(2025, 6, 20), "已完成")
        await f.step(
            s2, at(6, 20), lambda s: sg.decide_implementation(s, c, unit_id=None, now=at(6, 20), policy=POLICY)
        )
        s3 = await f.assigned(u1)  # online, C late (05-01); unsatisfied; round 2 A on time; unsatisfied again
        await f.consult(s3, at(2, 1), "online")
        await f.reply(s3, at(5, 1), "C")
        await f.evaluate(s3, at(5, 5), "unsatisfied")  # round 2: due 2025-06-05
        await f.consult(s3, at(5, 20), "face_to_face")
        await f.reply(s3, at(6, 1), "A")
        await f.evaluate(s3, at(6, 3), "unsatisfied")  # round 3: due 2025-07-03, never answered
        s4 = await f.assigned(u2)  # B without consultation (promised 05-31, never kept); unsatisfied, justified
        await f.reply(s4, at(3, 1), "B", policy=NO_CONSULT, promised_by=date(2025, 5, 31))
        await f.evaluate(s4, at(3, 10), "unsatisfied")  # round 2: due 2025-04-10, never answered
        j = JustifyUnsatisfied(s4, "政策限制，确有正当理由")
        await f.step(s4, at(4, 1), lambda s: sg.decide_justify_unsatisfied(s, j, now=at(4, 1)))
        await f.assigned(u2)  # s5: never answered, late since 2025-04-10
        await f.assigned(u1, at(12, 20))  # s6: due 2026-03-20, so it counts in 2026, not 2025
        s8 = await f.assigned(u1)  # returned at once: its withdrawn round never counts
        await f.step(
            s8,
            at(1, 11),
            lambda s: sg.decide_return(s, ReturnSuggestion(s8, "不属本单位"), unit_id=None, now=at(1, 11)),
        )

        staff = {**system.auth("county_staff", a.county), "Renda-After": f"RENDA_SUGGESTIONS:{f.seq}"}
        r = await system.client.get("/api/suggestions/rates", params={"under": a.township, "year": 2025}, headers=staff)
        assert r.status_code == 200, r.text
        body = r.json()
        [town] = body["groups"]
        assert town["key"] == a.township
        assert town["rates"] == {
            # rounds due in 2025: s1, s2, s3r1 (late), s3r2, s3r3 (unanswered), s4r1, s4r2 (unanswered),
            # s5 (unanswered) = 8; on time: s1, s2, s3r2, s4r1 = 4 → 4/8
            "on_time_reply_rate": {"rate": 0.5, "numerator": 4, "denominator": 8},
            # replies: s1 (f2f), s2 (phone), s3r1 (online), s3r2 (f2f), s4 (none) = 5; consulted 4 → 4/5
            "consultation_rate": {"rate": 0.8, "numerator": 4, "denominator": 5},
            # face to face: s1, s3r2 → 2/5
            "face_to_face_rate": {"rate": 0.4, "numerator": 2, "denominator": 5},
            # evaluations: s1 sat, s2 basic, s3 unsat ×2, s4 unsat = 5; satisfied or basically 2 → 2/5
            "satisfaction_rate": {"rate": 0.4, "numerator": 2, "denominator": 5},
            # replied suggestions by their latest reply: s1 A ✓, s2 B kept ✓, s3 A ✓, s4 B not kept ✗ → 3/4
            "resolution_rate": {"rate": 0.75, "numerator": 3, "denominator": 4},
            # B promises due: s2 (kept 06-20), s4 (05-31 passed, not kept) → 1/2
            "implementation_rate": {"rate": 0.5, "numerator": 1, "denominator": 2},
        }
        # Unsatisfied in 2025: U1 has s3 (one suggestion, however many evaluations); U2's s4 is justified.
        # RENDA_UNSATISFIED_LIMIT=0 here, so U1's one is over the limit.
        assert [(u["unit_id"], u["unsatisfied"], u["over_limit"]) for u in body["unsatisfied_by_unit"]] == [
            (u1, 1, True)
        ]
        assert body["unsatisfied_by_unit"][0]["head"] == "王所长"

        r = await system.client.get(
            "/api/suggestions/rates", params={"under": a.township, "year": 2025, "by": "unit"}, headers=staff
        )
        by_unit = {g["key"]: g for g in r.json()["groups"]}
        assert by_unit[u1]["name"] == "镇财政所"
        # U1 rounds: s1, s2, s3r1 (late), s3r2, s3r3 (late) → 3/5; replies all consulted 4/4, f2f s1, s3r2 → 2/4
        # evaluations s1, s2, s3 ×2 → 2/4; latest replies s1 A, s2 B kept, s3 A → 3/3; promise s2 → 1/1
        assert {k: (v["numerator"], v["denominator"]) for k, v in by_unit[u1]["rates"].items()} == {
            "on_time_reply_rate": (3, 5),
            "consultation_rate": (4, 4),
            "face_to_face_rate": (2, 4),
            "satisfaction_rate": (2, 4),
            "resolution_rate": (3, 3),
            "implementation_rate": (1, 1),
        }
        # U2 rounds: s4r1 on time, s4r2 and s5 late → 1/3; s4's reply unconsulted 0/1, unsatisfied 0/1,
        # B not kept: resolution 0/1, implementation 0/1
        assert {k: (v["numerator"], v["denominator"]) for k, v in by_unit[u2]["rates"].items()} == {
            "on_time_reply_rate": (1, 3),
            "consultation_rate": (0, 1),
            "face_to_face_rate": (0, 1),
            "satisfaction_rate": (0, 1),
            "resolution_rate": (0, 1),
            "implementation_rate": (0, 1),
        }

        # 2026 holds only s6 (due 2026-03-20, unanswered): 0/1 on time, nothing else to count.
        r = await system.client.get(
            "/api/suggestions/rates", params={"under": a.county, "year": 2026, "by": "county"}, headers=staff
        )
        [county] = r.json()["groups"]
        assert county["key"] == a.county
        assert county["rates"]["on_time_reply_rate"] == {"rate": 0.0, "numerator": 0, "denominator": 1}
        assert county["rates"]["satisfaction_rate"] == {"rate": None, "numerator": 0, "denominator": 0}

        # Deputies and units do not read the rates; another township's staff see nothing of this one.
        deputy = system.auth("deputy", a.township, deputy_id=a.lead)
        assert (await system.client.get("/api/suggestions/rates", headers=deputy)).status_code == 403
        other = system.auth("township_staff", a.county + "008")
        r = await system.client.get("/api/suggestions/rates", params={"under": a.township, "year": 2025}, headers=other)
        assert r.json()["groups"] == [] and r.json()["unsatisfied_by_unit"] == []
