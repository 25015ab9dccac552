"""A review opinion past its feedback deadline reads as overdue (已逾期) on the unit's queue, on its
own page and on the clerk's meeting list; late feedback reads as 逾期反馈. Over real HTTP with the
login's session cookie; the opinion is sent through the API (the browser scenario sends one)."""

from __future__ import annotations

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY, make_area
from tests.support.system import running_system
from tests.support.waiting import eventually
from tests.workbench.support import user
from tests.workbench.test_pages import signed_in


async def test_an_overdue_review_opinion_is_shown_overdue(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(
        nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}", review_opinion_deadline="PT1S"
    )
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        api = system.client
        staff = {**system.auth("township_staff", a.township), **a.after}
        r = await api.post(
            "/api/meetings",
            json={
                "kind": "special_report_hearing",
                "body": a.township,
                "title": "听取镇政府农村道路建设专项工作报告",
                "starts_at": f"{TODAY.isoformat()}T09:00:00+08:00",
                "ends_at": f"{TODAY.isoformat()}T11:00:00+08:00",
                "agenda": [{"title": "农村道路建设情况报告"}],
                "invitee_ids": [a.lead, a.co],
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
        mid = r.json()["meeting_id"]
        r = await api.post(f"/api/meetings/{mid}/convene", headers=staff)
        assert r.status_code == 200, r.text
        r = await api.post(
            f"/api/meetings/{mid}/review-opinions",
            json={"agenda_index": 0, "to_unit_id": a.unit, "content": "道路养护资金不足，请研究解决。"},
            headers=staff,
        )
        assert r.status_code == 201, r.text
        rid = r.json()["review_opinion_id"]
        unit = await user(nc, f"finance-{a.township}", "organizer", a.township, unit_id=a.unit)
        clerk = await user(nc, f"clerk-{a.township}", "township_staff", a.township)

        u = await signed_in(system.base_url, unit)

        async def overdue_on_the_queue() -> None:
            r = await u.get("/work/unit")
            assert r.status_code == 200, r.text[:300]
            section = r.text.split('id="review-opinions"', 1)[1]
            assert "道路养护资金不足" in section and "已逾期" in section, section[:600]

        await eventually(overdue_on_the_queue)
        r = await u.get(f"/work/review-opinions/{rid}")
        assert "已逾期" in r.text and "feedback-form" in r.text
        r = await u.post(
            f"/api/meetings/review-opinions/{rid}/feedback",
            json={"content": "已追加养护资金。"},
            headers={"X-CSRF-Token": u.cookies.get("renda_csrf") or "", "Idempotency-Key": f"late-{rid}"},
        )
        assert r.status_code == 200, r.text
        r = await u.get(f"/work/review-opinions/{rid}")
        assert "逾期反馈" in r.text and "已追加养护资金" in r.text and "feedback-form" not in r.text
        await u.aclose()

        c = await signed_in(system.base_url, clerk)
        r = await c.get("/work/meetings")
        assert "审议意见办理" in r.text and "已反馈" in r.text
        r = await c.get(f"/work/review-opinions/{rid}")
        assert "听取镇政府农村道路建设专项工作报告" in r.text and "农村道路建设情况报告" in r.text
        await c.aclose()
