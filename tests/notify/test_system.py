"""Through the real services (``running_system``): assign, let the deadline pass, reply, evaluate
unsatisfied, schedule a meeting — the right items in the right inboxes, and by SMS, each once."""

from __future__ import annotations

import collections
from datetime import timedelta
from typing import Any

from tests.notify.support import SmsGateway
from tests.suggestions.conftest import TODAY, Actors, make_area, submit
from tests.support.system import running_system
from tests.support.waiting import eventually


async def test_a_suggestions_life_and_a_meeting_reach_the_right_inboxes_once(
    js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any
) -> None:
    sms = SmsGateway()
    settings = settings_for(
        fresh_nats.url,
        f"sqlite+aiosqlite:///{tmp_path / 'all.sqlite3'}",
        reply_deadline_normal="PT2S",
        reminder_before="PT1S",
        sms_webhook_url=sms.url,
    )
    async with sms.running(), running_system(settings) as system:
        c = system.client
        a = await make_area(system, js)
        who = Actors(system, a)
        sid = await submit(system, a, who.lead)
        path = f"/api/suggestions/{sid}"
        r = await c.post(f"{path}/assign", json={"lead_unit_id": a.unit, "responsible_leader": "陈"}, headers=who.staff)
        assert r.status_code == 200, r.text

        async def kinds(headers: dict[str, str]) -> collections.Counter[str]:
            r = await c.get("/api/notify/inbox", headers=headers, params={"limit": 100})
            assert r.status_code == 200, r.text
            return collections.Counter(i["kind"] for i in r.json()["items"])

        async def overdue_everywhere() -> None:
            unit = await kinds(who.unit)
            assert unit["assigned"] == 1 and unit["overdue"] == 1 and unit["reminder"] <= 1
            assert (await kinds(who.staff))["overdue"] == 1
            assert await kinds(who.lead) == {"overdue": 1} == await kinds(who.co)

        await eventually(overdue_everywhere, timeout=30)
        consult = {"held_on": str(TODAY), "mode": "face_to_face", "summary": "面商"}
        r = await c.post(f"{path}/consultations", json=consult, headers=who.unit)
        assert r.status_code in (200, 201), r.text
        r = await c.post(f"{path}/reply", json={"result": "A", "content": "已修缮完毕。"}, headers=who.unit)
        assert r.status_code == 200, r.text

        async def asked_to_evaluate() -> None:
            assert await kinds(who.lead) == {"overdue": 1, "replied": 1}

        await eventually(asked_to_evaluate)
        r = await c.post(
            f"{path}/evaluation", json={"satisfaction": "unsatisfied", "comment": "质量差"}, headers=who.lead
        )
        assert r.status_code == 200, r.text

        async def unsatisfied() -> None:
            assert (await kinds(who.unit))["unsatisfied"] == 1
            assert (await kinds(who.staff))["unsatisfied"] == 1

        await eventually(unsatisfied)
        starts = TODAY + timedelta(days=30)
        meeting = {
            "kind": "inspection",
            "body": a.township,
            "title": "视察村道修缮",
            "starts_at": f"{starts}T09:00:00+08:00",
            "ends_at": f"{starts}T12:00:00+08:00",
            "venue": "青石村",
            "agenda": [{"title": "实地察看"}],
            "invitee_ids": [a.lead],
        }
        r = await c.post("/api/meetings", json=meeting, headers={**who.staff, **a.after})
        assert r.status_code == 201, r.text
        mid = r.json()["meeting_id"]

        async def invited() -> None:
            r = await c.get("/api/notify/inbox", headers=who.lead)
            [item] = [i for i in r.json()["items"] if i["kind"] == "meeting_scheduled"]
            assert item["link"] == f"/meetings/{mid}" and "视察村道修缮" in item["title"]

        await eventually(invited)
        assert (await kinds(who.co))["meeting_scheduled"] == 0  # not invited
        r = await c.get("/api/notify/unread-count", headers=who.unit)
        assert r.json()["unread"] >= 4
        ids = [b["notification_id"] for b in sms.received]
        assert len(ids) == len(set(ids))  # no phone on file in this area: nothing, and never twice
