"""The dashboard in real headless Chromium (Debian's, no browser download): a county clerk logs in,
sees the township table and a drawn chart, drills down to a suggestion's history, switches to a
past date and downloads the xlsx; a township user sees only their township; a deputy is refused.
Every request the browser makes is recorded: any host other than 127.0.0.1 fails the test.
Screenshots go to docs/screenshots/."""

from __future__ import annotations

import io
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

from openpyxl import load_workbook
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page, async_playwright

from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from services.deputies.commands.context import operator
from services.deputies.commands.directory import AddUser, add_user
from tests.suggestions.conftest import TODAY
from tests.supervision.fixture import build
from tests.support.system import running_system
from tests.support.waiting import eventually

# Test artefacts (the curated screenshots of docs/screenshots are taken on the demo seed).
SHOTS = Path(os.environ.get("RENDA_TEST_ARTEFACTS", tempfile.gettempdir())) / "renda-supervision-screenshots"
PASSWORD = "Renda-2026-ok"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


async def user(nc, name: str, role: str, jurisdiction: str, **bound: str) -> str:  # type: ignore[no-untyped-def]
    c = AddUser(username=name, password=PASSWORD, role=role, jurisdiction=jurisdiction, display_name=name, **bound)
    await add_user(c, operator(EventStore(nc), "tests"))
    return name


async def login(page: Page, base: str, username: str) -> None:
    await page.goto(f"{base}/")
    assert "/login" in page.url  # no session: to the login form
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")


async def test_a_county_clerk_reads_the_dashboard(nats_server: EmbeddedNats, nc, settings_for, tmp_path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}"
    settings = settings_for(nats_server.url, database_url, unsatisfied_limit=0, reply_deadline_complex="PT1S")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with running_system(settings) as system:
        c = await build(system, nc)
        a = c.a
        suffix = a.county
        clerk = await user(nc, f"clerk-{suffix}", "county_staff", a.county)
        chair = await user(nc, f"chair-{suffix}", "township_staff", a.township)
        street = await user(nc, f"street-{suffix}", "township_staff", a.street)
        deputy = await user(nc, f"deputy-{suffix}", "deputy", a.township, deputy_id=a.lead)
        # the view has caught up with the fixture before the browser looks
        r = await system.client.get(
            "/api/supervision/townships", params={"under": a.county}, headers={**c.who.county, **c.after}
        )
        assert r.status_code == 200
        hosts: set[str] = set()
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            try:
                ctx = await browser.new_context(
                    viewport={"width": 1366, "height": 768}, accept_downloads=True, locale="zh-CN"
                )
                ctx.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
                page = await ctx.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

                async def signed_in() -> None:
                    assert urlparse(page.url).path == "/", page.url

                await login(page, system.base_url, clerk)
                await eventually(signed_in)
                await page.wait_for_selector("#townships tbody tr")
                header = await page.inner_text("header.top")
                assert clerk in header and "测试county" in header
                table = await page.inner_text("#townships")
                assert f"测试township{a.township}" in table and f"测试street{a.street}" in table
                assert "述职不足 30%" in table  # flags as short chips, the full sentence on hover
                chip = page.locator("#townships .chip[data-code='reports_to_voters_below_30_percent']").first
                assert "向选民述职" in (await chip.get_attribute("title") or "")
                assert await page.locator("nav a[href='/work/']").inner_text() == "工作台"
                await page.wait_for_function(
                    "() => { const c = document.querySelector('#chart-rates canvas');"
                    " if (!c || !c.width) return false;"
                    " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                    " for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) return true; return false; }"
                )
                assert await page.locator(".na[title='无可计算的事项']").count() > 0  # the 0/0 落实率
                await page.screenshot(path=str(SHOTS / "overview.png"), full_page=True)

                # drill down: township → suggestion → its history
                await page.click(f"#townships a[href^='/townships/{a.township}']")
                await page.wait_for_selector("text=代表小组活动")
                await page.click(f"a[href^='/suggestions/{c.s1}']") if await page.locator(
                    f"a[href^='/suggestions/{c.s1}']"
                ).count() else await page.goto(f"{system.base_url}/suggestions/{c.s1}")
                await page.wait_for_selector("#history tbody tr")
                history = await page.inner_text("#history")
                assert "提出建议" in history and "交办" in history and "代表评价" in history and "办结" in history
                assert "承办单位" in history and "代表" in history
                await page.screenshot(path=str(SHOTS / "drill-down.png"), full_page=True)

                # a past date: the banner, and nothing of today's work yet
                yesterday = (TODAY - timedelta(days=1)).isoformat()
                await page.goto(f"{system.base_url}/")
                await page.fill("#as_of", yesterday)
                await page.click(".datepick button")
                await page.wait_for_selector(".banner")
                assert f"历史视图：截至 {yesterday}" in await page.inner_text(".banner")
                assert "historical" in (await page.get_attribute("body", "class") or "")
                assert "辖区内还没有乡镇（街道）" in await page.inner_text("#main")  # registered today, not yet then
                await page.screenshot(path=str(SHOTS / "historical.png"), full_page=True)

                # the township table as .xlsx
                await page.goto(f"{system.base_url}/")
                async with page.expect_download() as info:
                    await page.click("text=导出 Excel")
                download = await info.value
                wb = load_workbook(io.BytesIO(Path(await download.path()).read_bytes()))
                rows = [[c.value for c in r] for r in wb.active.iter_rows()]
                assert rows[0][1] == "乡镇（街道）" and {r[0] for r in rows[1:]} == {a.township, a.street}

                # on a phone
                phone = await browser.new_context(
                    viewport={"width": 390, "height": 844}, storage_state=await ctx.storage_state()
                )
                phone.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
                pp = await phone.new_page()
                await pp.goto(f"{system.base_url}/")
                await pp.wait_for_selector("#townships")
                assert await pp.evaluate("document.documentElement.scrollWidth") <= 390  # tables scroll, not the page
                await pp.screenshot(path=str(SHOTS / "overview-phone.png"))
                await phone.close()
                await ctx.close()
                assert not errors, errors

                # a township chair sees only their township
                ctx2 = await browser.new_context(viewport={"width": 1366, "height": 768})
                ctx2.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
                page2 = await ctx2.new_page()
                await login(page2, system.base_url, chair)
                await page2.wait_for_selector("#townships tbody tr")
                table = await page2.inner_text("#townships")
                assert f"测试township{a.township}" in table and f"测试street{a.street}" not in table
                await ctx2.close()

                # a street with no suggestions yet: the rate chart says why it is empty
                ctx4 = await browser.new_context(viewport={"width": 1366, "height": 768})
                ctx4.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
                page4 = await ctx4.new_page()
                await login(page4, system.base_url, street)
                await page4.wait_for_selector("#chart-rates.empty")
                assert "暂无可计算的比率" in await page4.inner_text("#chart-rates")
                await ctx4.close()

                # a deputy lands on their workbench, and a dashboard page refuses them
                ctx3 = await browser.new_context()
                ctx3.on("request", lambda req: hosts.add(urlparse(req.url).hostname or ""))
                page3 = await ctx3.new_page()
                await login(page3, system.base_url, deputy)

                async def at_workbench() -> None:
                    assert urlparse(page3.url).path.startswith("/work"), page3.url

                await eventually(at_workbench)
                await page3.goto(system.base_url + "/overdue")

                async def refused() -> None:
                    try:
                        text = await page3.content()
                    except PlaywrightError as exc:  # still navigating after the login
                        raise AssertionError(str(exc)) from None
                    assert "无权访问" in text

                await eventually(refused)
                await ctx3.close()
            finally:
                await browser.close()
        assert hosts == {"127.0.0.1"}, hosts
