"""A suggestion's whole life through the browser only, each role on its own screen: a deputy on a
phone (360×740) submits; the clerk assigns on a PC; the unit (phone) signs, is refused a reply before
any consultation (the zh-CN message beside the right field, nothing recorded), records a
face-to-face consultation, replies B with its promise and attaches the reply letter (PDF); the deputy
is unsatisfied; the unit re-handles and replies A; the deputy is satisfied; the history shows it all.
Setup (places, deputies, units, users) goes through the services; the scenario never calls the API."""

from __future__ import annotations

from datetime import timedelta

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY, make_area
from tests.support.system import running_system
from tests.workbench.support import (
    PC,
    PHONE,
    chromium,
    keyboard_reaches,
    labelled,
    no_horizontal_scroll,
    refused,
    shot,
    submit,
    user,
)

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def test_a_suggestion_from_submission_to_satisfaction(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        deputy = await user(nc, f"zhang-{a.township}", "deputy", a.township, deputy_id=a.lead)
        clerk = await user(nc, f"clerk-{a.township}", "township_staff", a.township)
        unit = await user(nc, f"finance-{a.township}", "organizer", a.township, unit_id=a.unit)
        async with chromium(system.base_url) as b:
            # the deputy, on a phone, submits jointly with 李建国
            d = await b.session(deputy, PHONE)
            assert d.url.endswith("/work/deputy")
            await shot(d, "deputy-phone")
            await d.click("text=提出建议 >> nth=0")
            await d.wait_for_selector("#suggest-form")
            await d.fill("#title", "修缮青石村村道")
            await d.fill("#content", "村道破损严重，雨天无法通行，建议列入今年村道修缮计划。")
            await d.fill("#category", "交通")
            await d.check("label:has-text('李建国') input")
            await labelled(d)
            await no_horizontal_scroll(d)
            await shot(d, "submit-phone")
            await submit(d, "#suggest-form")
            assert "/work/suggestions/" in d.url
            sid = d.url.rsplit("/", 1)[-1]
            assert "待交办" in await d.inner_text("#status")
            assert "李建国" in await d.inner_text("main")

            # the clerk sees it waiting and assigns it to 镇财政所
            c = await b.session(clerk, PC)
            assert c.url.endswith("/work/staff")
            await c.click(f"#waiting a[href='/work/suggestions/{sid}']")
            await c.wait_for_selector("#assign-form")
            await c.select_option("#assign-form select[name=lead_unit_id]", label="镇财政所")
            await c.fill("#assign-form input[name=responsible_leader]", "陈副镇长")
            await labelled(c)
            await shot(c, "assign-pc")
            await submit(c, "#assign-form")
            assert "办理中" in await c.inner_text("#status")
            await c.click("nav >> text=建议办理")
            assert "剩 9" in await c.inner_text("#in-hand")  # due in three months: 89–92 days left
            await shot(c, "staff-pc")

            # the unit signs for it on a phone, with the days left in the window
            u = await b.session(unit, PHONE)
            assert u.url.endswith("/work/unit")
            assert "剩 7 天" in await u.inner_text("#new") or "剩 6 天" in await u.inner_text("#new")
            await shot(u, "unit-phone")
            await u.click(f"#new a[href='/work/suggestions/{sid}']")
            await submit(u, "#acknowledge-form")
            assert await u.locator("#acknowledge-form").count() == 0

            # a reply before any consultation is refused beside the reply's kind, and keeps what was typed
            await u.fill("#reply-form textarea[name=content]", "已列入计划")
            await refused(u, "#reply-form")
            beside = u.locator("#reply-form [data-error-for=result]")
            assert await beside.is_visible()
            assert await beside.inner_text() == "请先登记与代表的面商记录，再答复。"
            assert await u.input_value("#reply-form textarea[name=content]") == "已列入计划"
            await no_horizontal_scroll(u)
            await labelled(u)
            await shot(u, "refused-phone")
            await u.reload()
            steps_so_far = await u.locator("#history tbody tr td:nth-child(2)").all_inner_texts()
            assert steps_so_far == ["提出建议", "交办", "承办单位签收"], steps_so_far  # the refusal recorded nothing

            # consultation face to face, then reply B with the 延办反馈书 and the letter
            await u.fill("#consult-form textarea[name=summary]", "到村里与张桂英代表当面商量修缮方案")
            await submit(u, "#consult-form", double=True)  # a double click records once (counted below)
            await u.check("#reply-form input[name=result][value=B]")
            await u.fill("#reply-form textarea[name=content]", "已列入明年村道修缮计划")
            await u.fill("#reply-form input[name=promised_by]", (TODAY + timedelta(days=120)).isoformat())
            await u.fill("#reply-form textarea[name=measures]", "明年春季开工，六月底前完工")
            await submit(u, "#reply-form")
            await u.set_input_files(
                "#attach-form input[type=file]", {"name": "答复函.pdf", "mimeType": "application/pdf", "buffer": PDF}
            )
            await submit(u, "#attach-form")
            assert "已答复" in await u.inner_text("#status")
            assert "答复函.pdf" in await u.inner_text("#handling") or "上传附件" in await u.inner_text("#history")

            # the deputy is not satisfied
            await d.goto(f"{system.base_url}/work/deputy")
            await d.click(f"#to-evaluate a[href='/work/suggestions/{sid}']")
            await keyboard_reaches(d)
            await d.focus("#evaluate-form input[value=unsatisfied]")
            await d.keyboard.press("Space")  # chosen with the keyboard
            assert await d.is_checked("#evaluate-form input[value=unsatisfied]")
            await d.fill("#evaluate-form textarea[name=comment]", "明年太晚，希望今年先修补")
            await no_horizontal_scroll(d)
            await shot(d, "evaluate-phone")
            await submit(d, "#evaluate-form")
            assert "重新办理" in await d.inner_text("#status")

            # the unit handles it again and replies A
            await u.goto(f"{system.base_url}/work/unit")
            await u.click(f"#in-hand a[href='/work/suggestions/{sid}']")
            await u.fill("#consult-form textarea[name=summary]", "再次上门，商定先行修补")
            await submit(u, "#consult-form")
            await u.check("#reply-form input[name=result][value=A]")
            await u.fill("#reply-form textarea[name=content]", "已于本月修补完毕")
            await submit(u, "#reply-form")

            # the deputy is satisfied: closed
            await d.goto(f"{system.base_url}/work/suggestions/{sid}")
            await d.check("#evaluate-form input[value=satisfied]")
            await submit(d, "#evaluate-form")
            assert "已办结" in await d.inner_text("#status")
            history = await d.inner_text("#history")
            for step in (
                "提出建议",
                "交办",
                "承办单位签收",
                "沟通面商",
                "答复",
                "上传附件",
                "代表评价",
                "重新办理",
                "办结",
            ):
                assert step in history, step
            assert history.count("答复\t") + history.count("答复 ") >= 0
            await no_horizontal_scroll(d)
            await shot(d, "history-phone")
            await c.goto(f"{system.base_url}/work/suggestions/{sid}")
            await shot(c, "history-pc")

            # the deputy records a visit to constituents; the dossier counts it, 六个一 met and missing
            await d.click("nav >> text=履职档案")
            await d.select_option("#activity-form select[name=kind]", "constituent_visit")
            await d.fill("#activity-form textarea[name=summary]", "走访青石村，听取村道修缮意见")
            await d.fill("#activity-form input[name=people_count]", "12")
            await submit(d, "#activity-form")
            six = await d.inner_text("#six-ones")
            assert "提出有价值的建议" in six and "走访选民" in six and "尚未完成" in six
            await no_horizontal_scroll(d)
            await shot(d, "duty-phone")
            rows = await c.locator("#history tbody tr td:nth-child(2)").all_inner_texts()
            assert rows.count("答复") == 2 and rows.count("沟通面商") == 2 and rows.count("代表评价") == 2, rows
        assert b.hosts == {"127.0.0.1"}, b.hosts
        assert not b.errors, b.errors
