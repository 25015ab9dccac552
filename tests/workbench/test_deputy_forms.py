"""The deputies' register through the clerk's browser only: terminating a deputy (reason, effective
date, a confirm step; a missing date refused beside its field after confirming, nothing recorded), and
registering the by-election's deputy, shown as 补选, and changing a deputy's phone (a malformed one
refused beside its field; the register shows the new one). Setup goes through the services."""

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


async def test_the_clerk_terminates_a_deputy_and_registers_the_by_election(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        await seen_by(system, a, "/api/deputies", {"township": a.township})
        clerk = await user(nc, f"clerk-{a.township}", "township_staff", a.township)
        async with chromium(system.base_url) as b:
            c = await b.session(clerk, PC)
            await c.click("nav >> text=代表")
            await c.wait_for_selector("#terminate-form")
            await c.select_option("#terminate-deputy", label="李建国")
            await c.select_option("#terminate-reason", "resigned")
            await c.fill("#effective_on", "")
            await c.fill("#terminate-note", "经主席团会议接受辞职")
            await c.click("#terminate-form button[type=submit]:not(.confirm-yes)")
            ask = c.locator("#terminate-form .confirm")
            assert await ask.is_visible()
            assert "确认终止 李建国 的代表资格？原因：辞职" in await ask.inner_text()
            await c.click("#terminate-form .confirm-yes")  # no date: refused beside it, the form as typed
            beside = c.locator("#terminate-form [data-error-for=effective_on]")
            await beside.wait_for()
            assert await beside.inner_text()
            assert not await ask.is_visible()
            assert await c.input_value("#terminate-note") == "经主席团会议接受辞职"
            assert "在任" in await c.inner_text("#deputies tr:has-text('李建国')")

            await c.fill("#effective_on", TODAY.isoformat())
            await c.click("#terminate-form button[type=submit]:not(.confirm-yes)")
            await labelled(c)
            await shot(c, "terminate-pc")
            await submit(c, "#terminate-form .confirm")
            row = await c.inner_text("#deputies tr:has-text('李建国')")
            assert "已终止" in row and "辞职" in row, row
            assert "李建国" not in await c.inner_text("#terminate-deputy")

            # the by-election fills the seat
            await c.fill("#deputy-form input[name=name]", "陈补选")
            await c.select_option("#deputy-form select[name=gender]", "male")
            await c.select_option("#deputy-form select[name=level]", "township")
            await c.fill("#deputy-form input[name=constituency]", "第三选区")
            await c.fill("#deputy-form input[name=term]", "第十九届")
            await c.check("#by_election")
            await c.fill("#elected_on", TODAY.isoformat())
            await submit(c, "#deputy-form")
            row = await c.inner_text("#deputies tr:has-text('陈补选')")
            assert "补选" in row and "在任" in row, row

            # a new phone: a malformed one refused beside the field, then the register shows the new one
            await c.select_option("#contact-deputy", label="陈补选")
            await c.fill("#contact-phone", "电话一三九")
            await refused(c, "#contact-form")
            assert await c.inner_text("#contact-form [data-error-for=phone]")
            await c.fill("#contact-phone", "13912345678")
            await submit(c, "#contact-form")
            row = await c.inner_text("#deputies tr:has-text('陈补选')")
            assert "13912345678" in row, row
            await shot(c, "deputies-pc")

            p = await b.session(clerk, PHONE)
            await p.goto(c.url)
            await no_horizontal_scroll(p)
            await shot(p, "deputies-phone")
        assert b.hosts == {"127.0.0.1"}, b.hosts
        assert not b.errors, b.errors
