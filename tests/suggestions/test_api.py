"""The whole life of a suggestion over HTTP, against the suite's real NATS and database."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from libs.config.durations import CalendarDuration
from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY, Actors, code, make_area, submit
from tests.support.system import System, running_system
from tests.support.waiting import eventually

P3M = CalendarDuration.parse("P3M")
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def test_the_whole_life_of_a_suggestion(nats_server: EmbeddedNats, nc, settings_for, database_url: str) -> None:
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        c = system.client
        a = await make_area(system, nc)
        who = Actors(system, a)
        sid = await submit(
            system,
            a,
            who.lead,
        )
        path = f"/api/suggestions/{sid}"

        # A terminated deputy cannot submit; the unit and the public do not see a submitted suggestion.
        r = await c.post(
            "/api/suggestions",
            json={"title": "t", "content": "c", "township": a.township, "deputy_ids": [a.gone]},
            headers=who.staff,
        )
        assert (r.status_code, code(r)) == (409, "deputy_terminated")
        assert (await c.get(path, headers=who.unit)).status_code == 404
        assert (await c.get(path, headers=who.foreign)).status_code == 404

        # 交办 → 签收; a co-unit may read but not sign; consultation comes before the reply.
        r = await c.post(
            f"{path}/assign",
            json={
                "lead_unit_id": a.unit,
                "co_unit_ids": [a.co_unit],
                "complexity": "normal",
                "responsible_leader": "陈副镇长",
            },
            headers={**who.staff, "X-Correlation-Id": "corr-assign-1"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "assigned"
        due = datetime.fromisoformat(r.json()["due_at"])
        assert (await c.post(f"{path}/acknowledge", headers=who.co_unit)).status_code == 403
        assert (await c.post(f"{path}/acknowledge", headers=who.other_unit)).status_code == 404
        assert (await c.post(f"{path}/acknowledge", headers=who.unit)).status_code == 200
        assert (await c.get(path, headers=who.co_unit)).status_code == 200
        r = await c.post(f"{path}/reply", json={"result": "A", "content": "已修好"}, headers=who.unit)
        assert (r.status_code, code(r)) == (409, "consultation_required")
        r = await c.post(
            f"{path}/consultations",
            json={"held_on": TODAY.isoformat(), "mode": "face_to_face", "summary": "到村里与代表面商"},
            headers=who.unit,
        )
        assert r.status_code == 201, r.text

        # Reply B needs a promised date and measures; the lead deputy alone evaluates.
        r = await c.post(f"{path}/reply", json={"result": "B", "content": "列入明年计划"}, headers=who.unit)
        assert (r.status_code, r.json()["error"]["details"]["field"]) == (422, "promised_by")
        promised = (TODAY + timedelta(days=60)).isoformat()
        r = await c.post(
            f"{path}/reply",
            json={"result": "B", "content": "列入计划", "promised_by": promised, "measures": "申请一事一议资金"},
            headers=who.unit,
        )
        assert r.status_code == 200 and r.json()["status"] == "replied", r.text
        assert (
            await c.post(f"{path}/evaluation", json={"satisfaction": "satisfied"}, headers=who.staff)
        ).status_code == 403
        r = await c.post(f"{path}/evaluation", json={"satisfaction": "satisfied"}, headers=who.co)
        assert (r.status_code, code(r)) == (403, "not_lead_deputy")
        r = await c.post(
            f"{path}/evaluation", json={"satisfaction": "unsatisfied", "comment": "太慢"}, headers=who.lead
        )
        assert r.status_code == 200 and r.json()["status"] == "rehandling", r.text
        assert r.json()["round"] == 2

        # Re-handling: consult again, reply A (C would need a reason), satisfied → closed.
        r = await c.post(f"{path}/reply", json={"result": "C", "content": "暂不能解决"}, headers=who.unit)
        assert r.status_code in (409, 422)
        r = await c.post(
            f"{path}/consultations",
            json={"held_on": TODAY.isoformat(), "mode": "phone", "summary": "电话沟通"},
            headers=who.unit,
        )
        assert r.status_code == 201
        r = await c.post(f"{path}/reply", json={"result": "C", "content": "暂不能解决"}, headers=who.unit)
        assert (r.status_code, r.json()["error"]["details"]["field"]) == (422, "reason")
        r = await c.post(f"{path}/reply", json={"result": "A", "content": "村道已修复"}, headers=who.unit)
        assert r.status_code == 200, r.text
        r = await c.post(f"{path}/evaluation", json={"satisfaction": "satisfied"}, headers=who.lead)
        assert r.status_code == 200 and r.json()["status"] == "closed", r.text
        r = await c.post(f"{path}/evaluation", json={"satisfaction": "satisfied"}, headers=who.lead)
        assert (r.status_code, code(r)) == (409, "already_evaluated")

        # An attachment is content-addressed and streams back to whoever sees the suggestion.
        r = await c.post(
            f"{path}/attachments", files={"file": ("答复函.txt", "村道已修复".encode(), "text/plain")}, headers=who.unit
        )
        assert r.status_code == 201, r.text
        att = r.json()
        assert att["size"] == len("村道已修复".encode())
        got = await c.get(f"{path}/attachments/{att['attachment_id']}", headers=who.lead)
        assert got.status_code == 200 and got.content == "村道已修复".encode()
        assert (await c.get(f"{path}/attachments/{att['attachment_id']}", headers=who.other_unit)).status_code == 404
        position = r.headers["renda-position"]

        one = (await c.get(path, headers=who.lead)).json()
        assert one["status"] == "closed" and one["overdue"] is False
        assert [x["result"] for x in one["replies"]] == ["B", "A"]
        assert [x["satisfaction"] for x in one["evaluations"]] == ["unsatisfied", "satisfied"]
        assert [x["mode"] for x in one["consultations"]] == ["face_to_face", "phone"]
        assert one["lead_unit"] == {"unit_id": a.unit, "name": "镇财政所"}
        assert one["attachments"][0]["sha256"] == att["sha256"]

        history = (await c.get(f"{path}/history", headers=who.staff)).json()["items"]
        assert [h["type"] for h in history] == [
            "SuggestionSubmitted",
            "SuggestionAssigned",
            "SuggestionAcknowledged",
            "ConsultationHeld",
            "SuggestionReplied",
            "SatisfactionEvaluated",
            "RehandlingStarted",
            "ConsultationHeld",
            "SuggestionReplied",
            "SatisfactionEvaluated",
            "SuggestionClosed",
            "AttachmentAdded",
        ]
        assigned = history[1]
        # due_at = assignment + P3M counted on the calendar of Asia/Shanghai, decided once and stored.
        assigned_at = datetime.fromisoformat(assigned["data"]["assigned_at"])
        assert due == datetime.fromisoformat(assigned["data"]["due_at"]) == P3M.after(assigned_at, SHANGHAI)
        assert assigned["actor"] == {"subject": "clerk-liu", "role": "township_staff"}
        assert assigned["correlation_id"] == "corr-assign-1"
        assert datetime.fromisoformat(assigned["occurred_at"]).tzinfo is not None
        assert assigned["data"]["lead_unit_id"] == a.unit
        assert history[5]["actor"] == {"subject": "deputy-zhang", "role": "deputy"}

        # Lists: filtered, never padded; the five-open list shows names only, and no submitted ones.
        mine = await c.get(
            "/api/suggestions", params={"township": a.township}, headers={**who.co, "Renda-After": position}
        )
        assert [s["suggestion_id"] for s in mine.json()["items"]] == [sid]
        assert (await c.get("/api/suggestions", params={"township": a.township}, headers=who.other_unit)).json()[
            "items"
        ] == []
        pending = await submit(system, a, who.staff)

        async def pending_listed() -> None:
            listed = await c.get(
                "/api/suggestions", params={"township": a.township, "status": "submitted"}, headers=who.staff
            )
            assert [s["suggestion_id"] for s in listed.json()["items"]] == [pending]

        await eventually(pending_listed)

        async def published() -> dict[str, Any]:
            r = await c.get("/api/suggestions/public", params={"under": a.township})
            assert r.status_code == 200
            items = r.json()["items"]
            assert [i["suggestion_id"] for i in items] == [sid]
            return dict(items[0])

        public = await eventually(published)
        assert public["deputies"] == ["张桂英", "李建国"]
        assert public["lead_unit"] == "镇财政所" and public["result"] == "A"
        assert public["satisfaction"] == "satisfied"
        assert a.lead not in str(public)


async def test_a_passing_deadline_is_raised_once(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url, reply_deadline_normal="PT2S", reminder_before="PT1S")
    async with running_system(settings) as system:
        c = system.client
        a = await make_area(system, nc)
        who = Actors(system, a)
        sid = await submit(system, a, who.staff)
        path = f"/api/suggestions/{sid}"
        r = await c.post(f"{path}/assign", json={"lead_unit_id": a.unit, "responsible_leader": "陈"}, headers=who.staff)
        assert r.status_code == 200

        async def raised() -> list[str]:
            types = [h["type"] for h in (await c.get(f"{path}/history", headers=who.staff)).json()["items"]]
            assert "ReplyOverdue" in types
            return types

        types = await eventually(raised)
        one = (await c.get(path, headers=who.unit)).json()
        assert one["overdue"] is True and len(one["overdue_raised"]) == 1
        listed = await c.get("/api/suggestions", params={"township": a.township, "overdue": "true"}, headers=who.staff)
        assert [s["suggestion_id"] for s in listed.json()["items"]] == [sid]

        async def settled() -> None:  # the due index has taken the overdue in: nothing left to raise
            assert not await system_due_rows(system, sid)

        await eventually(settled)
        types = [h["type"] for h in (await c.get(f"{path}/history", headers=who.staff)).json()["items"]]
        assert types.count("ReplyOverdue") == 1
        assert types.count("ReplyReminderDue") <= 1
        # A reply after the deadline is still taken, and counts as late.
        await c.post(
            f"{path}/consultations",
            json={"held_on": TODAY.isoformat(), "mode": "online", "summary": "线上"},
            headers=who.unit,
        )
        r = await c.post(f"{path}/reply", json={"result": "A", "content": "已办"}, headers=who.unit)
        assert r.status_code == 200, r.text
        assert (await c.get(path, headers=who.unit)).json()["replies"][0]["on_time"] is False


async def system_due_rows(system: System, suggestion_id: str) -> list[Any]:
    from sqlalchemy import select

    from libs.db.engine import make_engine
    from services.suggestions.projections.tables import due

    engine = make_engine(system.settings.database_url)
    try:
        async with engine.connect() as conn:
            q = select(due).where(due.c.suggestion_id == suggestion_id, due.c.settled.is_(False))
            return list((await conn.execute(q)).all())
    finally:
        await engine.dispose()
