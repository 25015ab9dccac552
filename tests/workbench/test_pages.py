"""Every workbench page as each role reads it, over real HTTP with the login's session cookie (no
browser): the way to /login without a session, each role's landing queue, a zh-CN refusal outside
one's role, and the pages the browser scenarios do not walk (bodies, joint inspections, promises)."""

from __future__ import annotations

from datetime import timedelta

import httpx

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY, Actors, make_area, submit
from tests.support.system import running_system
from tests.support.waiting import eventually
from tests.workbench.support import PASSWORD, user


async def signed_in(base: str, username: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    r = await client.post("/api/auth/session", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client


async def test_each_role_reads_its_pages(  # type: ignore[no-untyped-def]
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        w = Actors(system, a)
        api = system.client
        sid = await submit(system, a, w.staff, title="增设路灯")
        for url, body, who in [
            (f"/api/suggestions/{sid}/assign", {"lead_unit_id": a.unit, "responsible_leader": "陈副镇长"}, w.staff),
            (
                f"/api/suggestions/{sid}/consultations",
                {"held_on": TODAY.isoformat(), "mode": "phone", "summary": "电话"},
                w.unit,
            ),
            (
                f"/api/suggestions/{sid}/reply",
                {
                    "result": "B",
                    "content": "列入计划",
                    "promised_by": (TODAY + timedelta(days=30)).isoformat(),
                    "measures": "春季安装",
                },
                w.unit,
            ),
        ]:
            r = await api.post(url, json=body, headers=who)
            assert r.status_code in (200, 201), r.text
        r = await api.post(
            "/api/meetings/joint-inspections",
            json={
                "county": a.county,
                "theme": "农村道路安全联动视察",
                "window_start": TODAY.isoformat(),
                "window_end": (TODAY + timedelta(days=20)).isoformat(),
                "requirements": "各乡镇组织代表视察",
                "steps": ["动员", "视察", "交办"],
                "townships": [a.township],
            },
            headers=w.county,
        )
        assert r.status_code == 201, r.text
        clerk = await user(nc, f"clerk-{a.township}", "township_staff", a.township)
        county = await user(nc, f"county-{a.county}", "county_staff", a.county)
        unit = await user(nc, f"finance-{a.township}", "organizer", a.township, unit_id=a.unit)
        deputy = await user(nc, f"zhang-{a.township}", "deputy", a.township, deputy_id=a.lead)

        async with httpx.AsyncClient(base_url=system.base_url) as anonymous:
            r = await anonymous.get("/work/staff")
            assert r.status_code == 303 and r.headers["location"] == "/login?next=/work/staff"

        c = await signed_in(system.base_url, clerk)
        r = await c.get("/work/", follow_redirects=True)
        assert str(r.url).endswith("/work/staff") and "增设路灯" in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"] and "<script>" not in r.text
        # one policy, the page's own (no inline style, no <base>), and the shared headers once each
        [csp] = r.headers.get_list("content-security-policy")
        assert "style-src 'self';" in csp and "base-uri 'none'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers.get_list("x-content-type-options") == ["nosniff"]
        assert r.headers.get_list("referrer-policy") == ["same-origin"]
        for path, words in [
            ("/work/deputies", ["张桂英", "批量导入代表名册", "终止代表资格"]),
            ("/work/bodies", ["尚未登记主席团", "暂无代表小组"]),
            ("/work/meetings", ["安排会议", "主席团会议"]),
            (f"/work/suggestions/{sid}", ["已答复", "B 类", "春季安装", "办理历史"]),
        ]:
            r = await c.get(path)
            assert r.status_code == 200, (path, r.text[:300])
            for word in words:
                assert word in r.text, (path, word)
        await c.aclose()

        k = await signed_in(system.base_url, county)
        r = await k.get("/work/joint-inspections")
        assert r.status_code == 200 and "农村道路安全联动视察" in r.text and "发起联动视察" in r.text
        for path in ("/work/staff", "/work/meetings", "/work/deputies", "/work/bodies", f"/work/suggestions/{sid}"):
            r = await k.get(path)  # the county sees its townships' work
            assert r.status_code == 200, (path, r.text[:500])
        assert "增设路灯" in (await k.get("/work/staff")).text
        await k.aclose()

        u = await signed_in(system.base_url, unit)

        async def promised() -> None:
            r = await u.get("/work/", follow_redirects=True)
            assert str(r.url).endswith("/work/unit") and "承诺" in r.text and "增设路灯" in r.text, r.text[:500]

        await eventually(promised)
        r = await u.get(f"/work/suggestions/{sid}")
        assert "implement-form" in r.text and "reply-form" not in r.text  # replied: a promise to carry out
        r = await u.get("/work/staff")
        assert r.status_code == 403 and "不属于您的工作范围" in r.text
        await u.aclose()

        d = await signed_in(system.base_url, deputy)
        r = await d.get("/work/", follow_redirects=True)
        assert str(r.url).endswith("/work/deputy") and "待我评价" in r.text
        r = await d.get("/work/suggestions/new")
        assert "李建国" in r.text  # a fellow deputy to invite as co-signer
        r = await d.get("/work/duty")
        assert "六个一" in r.text and "收集群众意见" in r.text
        r = await api.post(
            "/api/suggestions/opinions",
            json={
                "deputy_id": a.lead,
                "township": a.township,
                "on": TODAY.isoformat(),
                "place": "青石村",
                "content": "村口缺路灯",
                "people_count": 6,
            },
            headers=w.lead,
        )
        assert r.status_code == 201, r.text
        c2 = await signed_in(system.base_url, clerk)

        async def opinion_waits() -> None:
            r = await c2.get("/work/staff")
            assert "村口缺路灯" in r.text and "转为代表建议" in r.text

        await eventually(opinion_waits)
        await c2.aclose()
        r = await d.get("/work/suggestions/not-a-real-id")
        assert r.status_code == 404 and "找不到" in r.text
        await d.aclose()
