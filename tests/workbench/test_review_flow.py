"""Review opinions (审议意见), speeches and cancelling, through the browser only: the clerk holds an
inspection, records a speech, is refused an empty opinion (the zh-CN words beside the field, the
choices kept), sends one to 镇财政所, and cancels another meeting after a confirm step; the unit, on a
phone, sees the opinion with its days left, answers it, and mutes SMS on its notification settings.
Setup (places, deputies, units, users) goes through the services; the scenario never calls the API."""

from __future__ import annotations

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY, make_area
from tests.support.system import running_system
from tests.workbench.support import (
    PC,
    PHONE,
    chromium,
    labelled,
    no_horizontal_scroll,
    refused,
    seen_by,
    shot,
    submit,
    user,
)


async def test_an_inspection_sends_a_review_opinion_the_unit_answers(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        await seen_by(
            system, a, "/api/meetings", {"body": a.township}
        )  # the meetings service has seen the deputies and the units
        clerk = await user(nc, f"clerk-{a.township}", "township_staff", a.township)
        unit = await user(nc, f"finance-{a.township}", "organizer", a.township, unit_id=a.unit)
        async with chromium(system.base_url) as b:
            c = await b.session(clerk, PC)
            await c.click("nav >> text=会议")
            await c.select_option("#kind", "inspection")
            await c.fill("#title", "农村道路安全视察")
            await c.fill("#starts_at", f"{TODAY.isoformat()}T09:00")
            await c.fill("#ends_at", f"{TODAY.isoformat()}T11:30")
            await c.fill("#venue", "青石村")
            await c.fill("#agenda", "视察村道建设\n听取镇财政所汇报")
            for name in ("张桂英", "李建国"):
                await c.check(f"#schedule-form label:has-text('{name}') input")
            await submit(c, "#schedule-form")
            meeting_url = c.url
            for name in ("张桂英", "李建国"):
                await c.click(f"#attendance-form li:has-text('{name}') .tap-present")
            await submit(c, "#attendance-form")
            await submit(c, "#convene-form")
            assert "已开会" in await c.inner_text("#meeting-status")

            # a speech by a deputy on the first item
            await c.select_option("#speaker_id", label="张桂英")
            await c.select_option("#speech-agenda", "0")
            await c.fill("#speech-summary", "村道缺少护栏，建议年内补齐")
            await submit(c, "#speech-form")
            assert "张桂英（议程 1）：村道缺少护栏" in await c.inner_text("#speeches")

            # an empty opinion is refused beside the field; the choices stay
            await c.select_option("#opinion-agenda", "1")
            await c.select_option("#to_unit_id", label="镇财政所")
            await refused(c, "#opinion-form")
            beside = c.locator("#opinion-form [data-error-for=content]")
            assert await beside.is_visible(), await c.inner_text("#opinion-form")
            assert await c.input_value("#opinion-agenda") == "1"
            await c.fill("#opinion-content", "村道护栏缺失，请镇财政所统筹资金，年内补齐。")
            await labelled(c)
            await submit(c, "#opinion-form")
            sent = await c.inner_text("#review-opinions")
            assert "致 镇财政所" in sent and "待反馈" in sent and "剩 " in sent, sent
            await shot(c, "review-pc")

            # another meeting is cancelled, after a confirm step (backing out first)
            await c.click("nav >> text=会议")
            await c.select_option("#kind", "inspection")
            await c.fill("#title", "水利设施视察")
            await c.fill("#starts_at", f"{TODAY.isoformat()}T14:00")
            await c.fill("#ends_at", f"{TODAY.isoformat()}T16:00")
            await submit(c, "#schedule-form")
            await c.fill("#cancel-reason", "汛期临时调整，另行安排")
            await c.click("#cancel-form button[type=submit]:not(.confirm-yes)")
            ask = c.locator("#cancel-form .confirm")
            assert await ask.is_visible() and "水利设施视察" in await ask.inner_text()
            await c.click("#cancel-form .confirm-no")
            assert not await ask.is_visible()
            assert "已安排" in await c.inner_text("#meeting-status")
            await c.click("#cancel-form button[type=submit]:not(.confirm-yes)")
            await submit(c, "#cancel-form .confirm")
            assert "已取消" in await c.inner_text("#meeting-status")
            assert "汛期临时调整" in await c.inner_text("#cancelled")

            # the unit, on a phone, sees the opinion with its days left and answers it
            u = await b.session(unit, PHONE)
            listed = await u.inner_text("#review-opinions")
            assert "视察调研的审议意见" in listed and "剩 " in listed, listed
            await no_horizontal_scroll(u)
            await shot(u, "unit-opinions-phone")
            await u.click("#review-opinions a >> nth=0")
            await u.fill("#feedback-content", "已安排专项资金，十月底前完成护栏安装。")
            await labelled(u)
            await no_horizontal_scroll(u)
            await submit(u, "#feedback-form")
            assert "已反馈" in await u.inner_text("#opinion-status")
            assert "按期反馈" in await u.inner_text("main")
            assert "十月底前完成护栏安装" in await u.inner_text("#feedback")
            assert await u.locator("#feedback-form").count() == 0
            await shot(u, "opinion-phone")

            # the clerk sees it answered on the meeting page
            await c.goto(meeting_url)
            assert "已反馈" in await c.inner_text("#review-opinions")

            # notification settings, reachable from the queue: the unit mutes SMS
            await u.click("nav >> text=通知设置")
            assert "全部渠道均接收" in await u.inner_text("#channel-state")
            await u.check("#preferences-form input[value=sms]")
            await labelled(u)
            await submit(u, "#preferences-form")
            assert await u.is_checked("#preferences-form input[value=sms]")
            assert "已屏蔽 手机短信" in await u.inner_text("#channel-state")
            await no_horizontal_scroll(u)
            await shot(u, "settings-phone")
        assert b.hosts == {"127.0.0.1"}, b.hosts
        assert not b.errors, b.errors
