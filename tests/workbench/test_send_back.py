"""三关's send back for revision (退回修改) through the browser only: the clerk sends a suggestion
back; the lead deputy, on a phone, revises it; the clerk can then assign it. Setup (places, deputies,
units, the suggestion) goes through the services."""

from __future__ import annotations

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import Actors, make_area, submit
from tests.support.system import running_system
from tests.workbench.support import PC, PHONE, chromium, labelled, no_horizontal_scroll, shot, user
from tests.workbench.support import submit as send


async def test_the_clerk_sends_back_and_the_deputy_revises(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        w = Actors(system, a)
        sid = await submit(system, a, {**w.staff, **a.after}, title="村口增设路灯", content="村口夜间无照明。")
        clerk = await user(nc, f"clerk-{a.township}", "township_staff", a.township)
        deputy = await user(nc, f"zhang-{a.township}", "deputy", a.township, deputy_id=a.lead)
        async with chromium(system.base_url) as b:
            # the clerk sends it back for revision (三关: content too thin)
            c = await b.session(clerk, PC)
            await c.click(f"#waiting a[href='/work/suggestions/{sid}']")
            await c.click("summary:has-text('退回修改')")
            await c.fill("#send-back-reason", "内容过于简略，请补充路段位置和受影响的群众人数。")
            await labelled(c)
            await send(c, "#send-back-form")
            assert "补充路段位置" in await c.inner_text("#revision")
            assert await c.locator("#assign-form").count() == 0
            await c.click("nav >> text=建议办理")
            assert "已退回修改" in await c.inner_text("#waiting")

            # the lead deputy revises it on a phone
            d = await b.session(deputy, PHONE)
            assert "补充路段位置" in await d.inner_text("#to-revise")
            await d.click(f"#to-revise a[href='/work/suggestions/{sid}']")
            assert await d.input_value("#revise-title") == "村口增设路灯"
            await d.fill(
                "#revise-content",
                "青石村村口至小学约 300 米路段夜间无照明，影响约 200 名群众出行，建议增设路灯 10 盏。",
            )
            await labelled(d)
            await no_horizontal_scroll(d)
            await shot(d, "revise-phone")
            await send(d, "#revise-form")
            assert await d.locator("#revise-form").count() == 0
            assert "约 300 米路段" in await d.inner_text("main")
            history = await d.locator("#history tbody tr td:nth-child(2)").all_inner_texts()
            assert history == ["提出建议", "退回修改", "代表修改建议"], history

            # back in the clerk's queue: it can be assigned now
            await c.goto(f"{system.base_url}/work/suggestions/{sid}")
            assert await c.locator("#assign-form").count() == 1
            assert await c.locator("#revision").count() == 0

        assert b.hosts == {"127.0.0.1"}, b.hosts
        assert not b.errors, b.errors
