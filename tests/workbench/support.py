"""Shared by the workbench's browser tests: users with passwords, Debian's Chromium, login, form helpers.

Every request the browser makes is recorded: a host other than 127.0.0.1 fails the test; a page
error or a console error fails it too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from nats.aio.client import Client as NATS
from playwright.async_api import Browser, BrowserContext, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from libs.events.store import EventStore
from services.deputies.commands.context import operator
from services.deputies.commands.directory import AddUser, add_user
from tests.suggestions.conftest import Area
from tests.support.system import System

# Test artefacts (under RENDA_TEST_ARTEFACTS, else the temp folder): a run never edits the tree; the curated
# copies in docs/screenshots/ were taken from such a run.
SHOTS = Path(os.environ.get("RENDA_TEST_ARTEFACTS", tempfile.gettempdir())) / "renda-workbench-screenshots"
PASSWORD = "Renda-2026-ok"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}
PC = {"width": 1366, "height": 768}


async def user(nc: NATS, name: str, role: str, jurisdiction: str, **bound: str) -> str:
    c = AddUser(username=name, password=PASSWORD, role=role, jurisdiction=jurisdiction, display_name=name, **bound)
    await add_user(c, operator(EventStore(nc), "tests"))
    return name


async def seen_by(system: System, a: Area, path: str, params: dict[str, str]) -> None:
    """The service answering ``path`` has read the area's records (the area's ``Renda-After``)."""
    staff = {**system.auth("township_staff", a.township), **a.after}
    r = await system.client.get(path, params=params, headers=staff)
    assert r.status_code == 200, r.text


def console_error(text: str, kind: str) -> bool:
    """A console error, except the browser's own line about a refusal the test provokes (409, 422)."""
    return kind == "error" and not ("409" in text or "422" in text)


@dataclass
class Browsing:
    browser: Browser
    base: str
    hosts: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    async def session(self, username: str, viewport: dict[str, int]) -> Page:
        """A fresh context for ``username``: /work/ sends to the login, the login back to the queue."""
        ctx: BrowserContext = await self.browser.new_context(viewport=viewport, locale="zh-CN")  # type: ignore[arg-type]
        ctx.on("request", lambda req: self.hosts.add(urlparse(req.url).hostname or ""))
        page = await ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "console",
            lambda msg: (
                self.errors.append(msg.text)
                if msg.type == "error" and "409" not in msg.text and "422" not in msg.text
                else None
            ),
        )
        await page.goto(f"{self.base}/work/")
        assert "/login?next=/work/" in page.url, page.url
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        async with page.expect_navigation(url="**/work/**"):
            await page.click("button[type=submit]")
        await page.wait_for_load_state()
        return page


@contextlib.asynccontextmanager
async def chromium(base: str) -> AsyncIterator[Browsing]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield Browsing(browser, base)
        finally:
            await browser.close()


async def submit(page: Page, form: str, *, double: bool = False) -> None:
    """Send a form that succeeds: the page moves on (a reload or the next page)."""
    try:
        async with page.expect_navigation(timeout=15000):
            if double:
                await page.dblclick(f"{form} button[type=submit]")
            else:
                await page.click(f"{form} button[type=submit]")
    except PlaywrightError:
        shown = await page.locator(
            f"{form} .field-error:not([hidden]), {form} .form-error:not([hidden])"
        ).all_inner_texts()
        raise AssertionError(f"{form} was not accepted: {shown}") from None
    await page.wait_for_load_state()


async def refused(page: Page, form: str) -> None:
    """Send a form the API refuses: the page stays, the message shows."""
    await page.click(f"{form} button[type=submit]")
    await page.wait_for_selector(f"{form} .field-error:not([hidden]), {form} .form-error:not([hidden])")


async def no_horizontal_scroll(page: Page) -> None:
    wide = await page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert wide <= 0, f"{page.url} scrolls sideways by {wide}px"


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"workbench-{name}.png"), full_page=True)


async def labelled(page: Page) -> None:
    """Every input, select and textarea the user fills has a label (``<label for>`` or a wrapping one)."""
    bare = await page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""
    )
    assert not bare, f"{page.url}: inputs without a label: {bare}"


async def keyboard_reaches(page: Page) -> None:
    """Tab from the top lands on the skip link, with a visible focus ring; Enter moves to the content."""
    await page.keyboard.press("Tab")
    ring = await page.evaluate(
        "() => { const a = document.activeElement; const s = getComputedStyle(a);"
        " return [a.className, s.outlineStyle, s.outlineWidth]; }"
    )
    assert ring[0] == "skip" and ring[1] != "none" and ring[2] != "0px", ring
