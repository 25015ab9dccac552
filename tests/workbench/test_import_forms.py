"""Batch imports through the browser only: a deputies' file with mistakes imports nothing and lists
each problem by row (行, 列, 问题) beside the upload; the corrected file (GBK, as Excel saves it) is
imported, the report shown, and the register lists the new deputies. County staff load a township."""

from __future__ import annotations

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import make_area
from tests.support.system import running_system
from tests.workbench.support import PC, PHONE, chromium, labelled, no_horizontal_scroll, refused, seen_by, shot, user

HEADER = "姓名,性别,层级,所属人大,编组乡镇,选区,届次,代表构成,电话,补选,当选日期"


async def test_the_clerk_imports_a_register_file(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        await seen_by(system, a, "/api/deputies", {"township": a.township})
        clerk = await user(nc, f"clerk-{a.township}", "township_staff", a.township)
        async with chromium(system.base_url) as b:
            c = await b.session(clerk, PC)
            # a deputies' file with mistakes: nothing imported, every problem by row
            t = a.township
            wang = f"王新民,男,乡镇,{t},{t},第四选区,19,农民,,否,"
            bad = "\n".join([HEADER, wang, f"刘春花,未知,乡镇,{t},{t},第五选区,第X届,,,否,"])
            await c.click("nav >> text=代表")
            await labelled(c)
            await c.set_input_files(
                "#import-file", {"name": "名册.csv", "mimeType": "text/csv", "buffer": bad.encode("utf-8")}
            )
            await refused(c, "#import-form")
            problems = await c.inner_text("#import-form .report")
            assert "第 3 行" in problems and "性别" in problems and "届次" in problems, problems
            assert "未导入任何代表" in await c.inner_text("#import-form [data-error-for=file]")
            await shot(c, "import-refused-pc")
            await c.reload()
            assert "王新民" not in await c.inner_text("#deputies")

            # the corrected file (GBK, as Excel saves it): imported, the report, then the register
            good = "\n".join([HEADER, wang, f"刘春花,女,乡镇,{t},{t},第五选区,第十九届,,,是,2026-03-01"])
            await c.set_input_files(
                "#import-file", {"name": "名册.csv", "mimeType": "text/csv", "buffer": good.encode("gbk")}
            )
            await c.click("#import-form button[type=submit]")
            done = c.locator("#import-form .report .ok")
            await done.wait_for()
            assert "新登记 2 名" in await done.inner_text()
            await shot(c, "import-pc")
            async with c.expect_navigation():
                await c.click("#import-form .report a")
            register = await c.inner_text("#deputies")
            assert "王新民" in register and "刘春花" in register
            assert "补选" in await c.inner_text("#deputies tr:has-text('刘春花')")

            # county staff also load jurisdictions (a new township under the county)
            county = await user(nc, f"county-{a.county}", "county_staff", a.county)
            k = await b.session(county, PC)
            await k.click("nav >> text=代表")
            tree = f"代码,名称,类型,上级\n{a.county}088,青石镇,镇,{a.county}\n"
            await k.set_input_files(
                "#jurisdictions-file", {"name": "区划.csv", "mimeType": "text/csv", "buffer": tree.encode("utf-8")}
            )
            await k.click("#jurisdictions-import-form button[type=submit]")
            loaded = k.locator("#jurisdictions-import-form .report .ok")
            await loaded.wait_for()
            assert "新登记 1 个" in await loaded.inner_text()

            p = await b.session(clerk, PHONE)
            await p.goto(c.url)
            await no_horizontal_scroll(p)
        assert b.hosts == {"127.0.0.1"}, b.hosts
        assert not b.errors, b.errors
