"""A presidium meeting through the clerk's browser only: scheduled, the presidium invited (PATCH),
the roll call tapped person by person, convening refused below the quorum (the API's zh-CN words on
the page), reached after one more arrives, a vote by the majority of all members, adjournment with
the minutes and their hash. Setup (deputies, the presidium, the clerk) goes through the services."""

from __future__ import annotations

import uuid

from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY, make_area, register_deputy
from tests.support.system import running_system
from tests.workbench.support import PC, PHONE, chromium, labelled, no_horizontal_scroll, refused, shot, submit, user

MORE = ("孙立新", "周海燕", "吴建华", "郑秀兰", "冯志强")


async def test_a_presidium_meeting_from_schedule_to_minutes(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        store = EventStore(nc)
        members = [a.lead, a.co]
        for name in MORE:
            members.append(f"d-{uuid.uuid4().hex[:12]}")
            a.positions.append(await register_deputy(store, members[-1], name, a.township))
        staff = system.auth("township_staff", a.township)
        r = await system.client.post(
            "/api/deputies/presidium",
            json={"township": a.township, "member_ids": members, "chair_id": a.lead},
            headers={**staff, **a.after},
        )
        assert r.status_code == 201, r.text
        a.positions.append(r.headers["renda-position"])
        r = await system.client.get("/api/meetings", params={"body": a.township}, headers={**staff, **a.after})
        assert r.status_code == 200, r.text  # the meetings service has seen the presidium
        clerk = await user(nc, f"chair-{a.township}", "township_staff", a.township)
        async with chromium(system.base_url) as b:
            c = await b.session(clerk, PC)
            await c.click("nav >> text=会议")
            await c.wait_for_selector("#schedule-form")
            await c.select_option("#kind", "presidium_meeting")
            await c.fill("#title", "第四季度主席团会议")
            await c.fill("#starts_at", f"{TODAY.isoformat()}T09:00")
            await c.fill("#ends_at", f"{TODAY.isoformat()}T11:30")
            await c.fill("#venue", "镇政府三楼会议室")
            await c.fill("#agenda", "审议明年代表工作计划\n听取建议办理情况通报")
            await submit(c, "#schedule-form")
            assert "/work/meetings/" in c.url
            assert "已安排" in await c.inner_text("#meeting-status")

            # invite the presidium (PATCH; the invitees hear of it)
            for name in ("张桂英", "李建国", *MORE):
                await c.check(f"#change-form label:has-text('{name}') input")
            await submit(c, "#change-form")

            # roll call: 4 present, 1 on leave, 2 absent — below two thirds of 7
            async def tap(name: str, bucket: str) -> None:
                await c.click(f"#attendance-form li:has-text('{name}') .tap-{bucket}")

            for name in ("张桂英", "李建国", "孙立新", "周海燕"):
                await tap(name, "present")
            await tap("吴建华", "on_leave")
            await tap("郑秀兰", "absent")
            await tap("冯志强", "absent")
            assert await c.inner_text("#live-present") == "4"
            await labelled(c)
            await submit(c, "#attendance-form")
            quorum = await c.inner_text("#quorum")
            assert "应到 7 人，实到 4 人" in quorum and "未达法定人数" in quorum, quorum
            await refused(c, "#convene-form")
            message = await c.inner_text("#convene-form .form-error")
            assert "不能宣布开会" in message and "实到 4 人" in message, message
            await shot(c, "rollcall-refused-pc")

            # 吴建华 arrives after all: the quorum is reached, the meeting convenes
            await tap("吴建华", "present")
            assert await c.inner_text("#live-present") == "5"
            await submit(c, "#attendance-form")
            assert "应到 7 人，实到 5 人，已达法定人数" in await c.inner_text("#quorum")
            await submit(c, "#convene-form")
            assert await c.locator("#vote-form").count() == 1

            # the vote passes by the majority of all 7 members; adjourned with minutes
            await c.select_option("#agenda_index", "0")
            await c.fill("#yes", "5")
            await submit(c, "#vote-form")
            assert "赞成 5，反对 0，弃权 0 —— 通过" in await c.inner_text("#votes")
            await c.fill("#minutes", "会议审议通过明年代表工作计划。")
            await submit(c, "#adjourn-form")
            assert "已闭会" in await c.inner_text("#meeting-status")
            assert "SHA-256" in await c.inner_text("#minutes")
            await shot(c, "meeting-pc")
            url = c.url

            phone = await b.session(clerk, PHONE)
            await phone.goto(url)
            await no_horizontal_scroll(phone)
            await shot(phone, "meeting-phone")
        assert b.hosts == {"127.0.0.1"}, b.hosts
        assert not b.errors, b.errors
