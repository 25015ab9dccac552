"""Over HTTP: 退办 within the window and re-assignment, the street rules, extension, key supervision,
merge, escalation, the "justified" mark, a B promise carried out, Idempotency-Key, and
constituents' opinions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY, Actors, code, make_area, submit
from tests.support.system import running_system
from tests.support.waiting import eventually


async def test_return_within_the_window_then_reassign_and_the_street_rules(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        c = system.client
        a = await make_area(system, nc)
        who = Actors(system, a)
        sid = await submit(system, a, who.staff)
        path = f"/api/suggestions/{sid}"
        assert (
            await c.post(
                f"{path}/assign", json={"lead_unit_id": a.other_unit, "responsible_leader": "陈"}, headers=who.staff
            )
        ).status_code == 200
        r = await c.post(f"{path}/return", json={"reason": "不属于本单位职责"}, headers=who.other_unit)
        assert r.status_code == 200 and r.json()["status"] == "submitted", r.text
        assert (await c.get(path, headers=who.other_unit)).status_code == 404
        r = await c.post(
            f"{path}/assign",
            json={"lead_unit_id": a.unit, "responsible_leader": "陈", "complexity": "complex"},
            headers=who.staff,
        )
        assert r.status_code == 200 and r.json()["round"] == 1

        # Street: staff of the street get 403 not_for_street; county staff assign; key supervision once.
        street_sid = await submit(system, a, who.county, township=a.street, deputy_ids=[a.street_deputy])
        r = await c.post(
            f"/api/suggestions/{street_sid}/assign",
            json={"lead_unit_id": a.county_unit, "responsible_leader": "陈"},
            headers=who.street_staff,
        )
        assert (r.status_code, code(r)) == (403, "not_for_street")
        r = await c.post(
            f"/api/suggestions/{street_sid}/assign",
            json={"lead_unit_id": a.county_unit, "responsible_leader": "陈"},
            headers=who.county,
        )
        assert r.status_code == 200, r.text
        r = await c.post(
            f"/api/suggestions/{street_sid}/key-supervision", json={"reason": "民生"}, headers=who.street_staff
        )
        assert (r.status_code, code(r)) == (403, "not_for_street")
        for _ in range(2):
            r = await c.post(
                f"/api/suggestions/{street_sid}/key-supervision", json={"reason": "民生"}, headers=who.county
            )
            assert r.status_code == 200
        history = (await c.get(f"/api/suggestions/{street_sid}/history", headers=who.county)).json()["items"]
        assert [h["type"] for h in history].count("KeySupervisionSet") == 1

        # Extension with a reason; merge keeps the link; escalation opens a linked county suggestion.
        new_due = (datetime.now(UTC) + timedelta(days=400)).isoformat()
        r = await c.post(f"{path}/extension", json={"new_due_at": new_due, "reason": "需跨年立项"}, headers=who.staff)
        assert r.status_code == 200, r.text
        assert datetime.fromisoformat(r.json()["due_at"]) == datetime.fromisoformat(new_due)
        other = await submit(system, a, who.staff, deputy_ids=[a.co])
        r = await c.post(
            f"/api/suggestions/{other}/merge", json={"into_id": sid, "reason": "同一事项"}, headers=who.staff
        )
        assert r.status_code == 200 and r.json()["closed_because"] == "merged", r.text
        assert (await c.get(f"/api/suggestions/{other}", headers=who.staff)).json()["merged_into"] == sid
        third = await submit(system, a, who.staff, deputy_ids=[a.co])
        r = await c.post(f"/api/suggestions/{third}/escalate", json={"reason": "超出乡镇职权"}, headers=who.staff)
        assert r.status_code == 200, r.text
        county_sid = r.json()["escalated_to"]
        county = (await c.get(f"/api/suggestions/{county_sid}", headers=who.county)).json()
        assert (county["jurisdiction"], county["source"], county["source_id"]) == (a.county, "escalation", third)
        assert (await c.get(f"/api/suggestions/{county_sid}", headers=who.co)).status_code == 200

        # A B promise carried out; an unsatisfied result staff find justified (twice changes nothing).
        await c.post(
            f"{path}/consultations",
            json={"held_on": TODAY.isoformat(), "mode": "face_to_face", "summary": "面商"},
            headers=who.unit,
        )
        r = await c.post(
            f"{path}/reply",
            json={
                "result": "B",
                "content": "列入计划",
                "measures": "立项",
                "promised_by": (TODAY + timedelta(days=10)).isoformat(),
            },
            headers=who.unit,
        )
        assert r.status_code == 200, r.text
        r = await c.post(
            f"{path}/implementation", json={"carried_out_on": TODAY.isoformat(), "summary": "已完工"}, headers=who.unit
        )
        assert r.status_code == 200, r.text
        r = await c.post(
            f"{path}/implementation", json={"carried_out_on": TODAY.isoformat(), "summary": "再报"}, headers=who.unit
        )
        assert (r.status_code, code(r)) == (409, "no_open_promise")
        r = await c.post(f"{path}/unsatisfied-justified", json={"reason": "政策所限"}, headers=who.staff)
        assert (r.status_code, code(r)) == (409, "not_unsatisfied")
        assert (await c.post(f"{path}/evaluation", json={"satisfaction": "unsatisfied"}, headers=who.lead)).json()[
            "status"
        ] == "rehandling"
        for _ in range(2):
            r = await c.post(f"{path}/unsatisfied-justified", json={"reason": "政策所限"}, headers=who.staff)
            assert r.status_code == 200, r.text
        one = (await c.get(path, headers=who.staff)).json()
        assert one["unsatisfied_justified"] is True and one["promises"][0]["carried_out_on"] == TODAY.isoformat()
        types = [h["type"] for h in (await c.get(f"{path}/history", headers=who.staff)).json()["items"]]
        assert types.count("UnsatisfiedJustified") == 1 and types.count("PromiseCarriedOut") == 1

        # The same Idempotency-Key and body: the same answer, one suggestion; another body: 422.
        body = {"title": "路灯", "content": "路灯不亮", "township": a.township, "deputy_ids": [a.co]}
        key = {**who.staff, "Idempotency-Key": "k-" + sid}
        first, again = [await c.post("/api/suggestions", json=body, headers=key) for _ in range(2)]
        assert first.status_code == again.status_code == 201
        assert first.json()["suggestion_id"] == again.json()["suggestion_id"]
        reused = await c.post("/api/suggestions", json={**body, "title": "别的"}, headers=key)
        assert (reused.status_code, code(reused)) == (422, "idempotency_key_reused")
        history = await c.get(f"/api/suggestions/{first.json()['suggestion_id']}/history", headers=who.staff)
        assert [h["type"] for h in history.json()["items"]] == ["SuggestionSubmitted"]

        async def by_unit() -> None:
            r = await c.get("/api/suggestions", params={"unit_id": a.unit}, headers=who.county)
            assert [s["suggestion_id"] for s in r.json()["items"]] == [sid]
            r = await c.get("/api/suggestions", params={"unit_id": a.county_unit}, headers=who.county)
            assert [s["suggestion_id"] for s in r.json()["items"]] == [street_sid]

        await eventually(by_unit)
        r = await c.get("/api/suggestions", params={"unit_id": a.unit}, headers=who.staff)  # not the street's
        assert [s["suggestion_id"] for s in r.json()["items"]] == [sid]

        # Constituents' opinions: recorded by the deputy, converted into a linked suggestion, or answered.
        r = await c.post(
            "/api/suggestions/opinions",
            json={
                "deputy_id": a.co,
                "township": a.township,
                "on": TODAY.isoformat(),
                "place": "青石村",
                "content": "村口路灯不亮",
                "people_count": 12,
            },
            headers=who.co,
        )
        assert r.status_code == 201, r.text
        oid = r.json()["opinion_id"]
        r = await c.post(f"/api/suggestions/opinions/{oid}/convert", headers=who.staff)
        assert r.status_code == 201, r.text
        converted = (await c.get(f"/api/suggestions/{r.json()['suggestion_id']}", headers=who.co)).json()
        assert (converted["source"], converted["source_id"]) == ("constituents_opinion", oid)
        r = await c.post(f"/api/suggestions/opinions/{oid}/answer", json={"content": "已修"}, headers=who.staff)
        assert (r.status_code, code(r)) == (409, "invalid_transition")
        listed = await c.get(
            "/api/suggestions/opinions",
            params={"township": a.township},
            headers={**who.co, "Renda-After": r.headers.get("renda-position", "")},
        )
        assert listed.status_code == 200
