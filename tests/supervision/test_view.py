"""The joint-supervision view over a hand-counted county (see ``fixture.py``), on SQLite and
PostgreSQL: figures exact and equal to what the write side's own endpoints answer, named flags,
scoping, as-of, and the downloads."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from libs.runtime.nats_server import EmbeddedNats
from tests.suggestions.conftest import TODAY
from tests.supervision.fixture import County, build
from tests.support.system import System, running_system
from tests.support.waiting import eventually

YEAR = TODAY.year


def rate(n: int, d: int) -> dict[str, object]:
    return {"rate": n / d if d else None, "numerator": n, "denominator": d}


async def townships(system: System, c: County, **params: object) -> dict:  # type: ignore[type-arg]
    r = await system.client.get(
        "/api/supervision/townships",
        params={"under": c.a.county, "year": YEAR, **params},
        headers={**c.who.county, **c.after},
    )
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def item(body: dict, code: str) -> dict:  # type: ignore[type-arg]
    [found] = [i for i in body["items"] if i["code"] == code]
    return found  # type: ignore[no-any-return]


async def test_the_view_of_the_hand_counted_county(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url, unsatisfied_limit=0, reply_deadline_complex="PT1S")
    async with running_system(settings) as system:
        c = await build(system, nc)
        a = c.a
        body = await townships(system, c)
        t = item(body, a.township)
        assert t["name"] == f"测试township{a.township}" and t["kind"] == "township"
        assert t["suggestions"] == {
            "submitted": 1,
            "assigned": 1,
            "replied": 0,
            "rehandling": 1,
            "closed": 1,
            "overdue": 1,
        }
        assert t["rates"] == {
            "on_time_reply_rate": rate(2, 3),
            "consultation_rate": rate(2, 2),
            "face_to_face_rate": rate(1, 2),
            "satisfaction_rate": rate(1, 2),
            "resolution_rate": rate(1, 2),
            "implementation_rate": rate(0, 0),
        }
        assert t["deputies"]["active"] == 2 and t["deputies"]["inactive"] == 1
        assert t["sessions_held"] == 0
        codes = [f["code"] for f in t["flags"]]
        ended = [q for q in (1, 2, 3, 4) if TODAY.month > 3 * q]
        assert codes.count("presidium_quarter_missed") == len(ended)
        zh = {1: "第一季度", 2: "第二季度", 3: "第三季度"}
        for q in ended:
            assert f"主席团会议：{zh[q]}未召开" in [f["message"] for f in t["flags"]]
        if TODAY.month >= 5:
            assert "presidium_gap_over_3_months" in codes
        assert "reports_to_voters_below_30_percent" in codes
        assert "overdue_suggestions" in codes
        [unit_flag] = [f for f in t["flags"] if f["code"] == "unit_over_unsatisfied_limit"]
        assert "镇财政所" in unit_flag["message"] and "王所长" in unit_flag["message"]
        street = item(body, a.street)
        assert street["sessions_held"] is None
        assert not {"sessions_below_minimum", "session_too_short", "presidium_quarter_missed"} & {
            f["code"] for f in street["flags"]
        }

        # One definition of each figure: the write side's own endpoints answer the same.
        r = await system.client.get(
            "/api/suggestions/rates", params={"under": a.township, "year": YEAR}, headers={**c.who.county, **c.after}
        )
        assert r.status_code == 200, r.text
        [group] = r.json()["groups"]
        assert group["rates"] == t["rates"]
        r = await system.client.get(
            "/api/meetings/compliance", params={"township": a.township, "year": YEAR}, headers=c.who.county
        )
        assert r.status_code == 200, r.text
        [m] = r.json()["items"]
        assert m["presidium_meetings"]["per_quarter"] == [t["presidium_meetings"][f"Q{i}"] for i in (1, 2, 3, 4)]
        assert m["sessions"]["held"] == t["sessions_held"]
        r = await system.client.get("/api/deputies/inactive", params={"township": a.township}, headers=c.who.county)
        assert r.status_code == 200, r.text
        assert [d["deputy_id"] for d in r.json()["items"]] == [c.idle]

        # units: U1 over the limit with its heads named
        r = await system.client.get(
            "/api/supervision/units", params={"under": a.county, "year": YEAR}, headers={**c.who.county, **c.after}
        )
        assert r.status_code == 200, r.text
        units = {u["unit_id"]: u for u in r.json()["items"]}
        assert units[a.unit]["unsatisfied"] == 1 and units[a.unit]["over_limit"] is True
        assert units[a.unit]["head"] == "王所长" and units[a.unit]["deputy_head"] == "李副所长"
        assert units[a.unit]["rates"]["satisfaction_rate"] == rate(1, 2)
        assert units[a.co_unit]["over_limit"] is False and units[a.co_unit]["head"] is None

        # the overdue board: s4, oldest first, with an ISO-8601 duration
        r = await system.client.get("/api/supervision/overdue", params={"under": a.county}, headers=c.who.county)
        [o] = r.json()["items"]
        assert (o["suggestion_id"], o["township"], o["unit_id"], o["kind"]) == (c.s4, a.township, a.co_unit, "reply")
        assert o["overdue_for"].startswith("P") and o["unit"] == "镇土地所"

        # a suggestion's history, oldest first, with who and role
        r = await system.client.get(f"/api/supervision/suggestions/{c.s1}", headers=c.who.county)
        assert r.status_code == 200, r.text
        s = r.json()
        kinds = [h["type"] for h in s["history"]]
        assert kinds[:2] == ["SuggestionSubmitted", "SuggestionAssigned"] and "SuggestionClosed" in kinds
        assert {"deputy", "organizer", "township_staff"} <= {h["role"] for h in s["history"]}
        assert s["unit"] == "镇财政所" and s["deputies"] == ["张桂英", "李建国"]


async def test_scoping_as_of_and_downloads(nats_server: EmbeddedNats, nc, settings_for, database_url: str) -> None:
    settings = settings_for(nats_server.url, database_url, unsatisfied_limit=0, reply_deadline_complex="PT1S")
    async with running_system(settings) as system:
        c = await build(system, nc)
        a = c.a
        live = await townships(system, c)

        # as of today equals the live view; as of yesterday nothing of today's work shows yet: not even
        # the township and the street, registered today
        today = await townships(system, c, as_of=TODAY.isoformat())
        assert today["historical"] is True and today["as_of"] == TODAY.isoformat()
        assert today["items"] == live["items"]
        before = await townships(system, c, as_of=(TODAY - timedelta(days=1)).isoformat())
        assert before["items"] == []
        assert before["total"]["suggestions"]["submitted"] == 0
        assert before["total"]["rates"]["on_time_reply_rate"] == rate(0, 0)

        # keep writing: a reply to s4 and a new suggestion; the day's end as of yesterday is unchanged,
        # and the live view moves on
        r = await system.client.post(
            f"/api/suggestions/{c.s4}/consultations",
            json={"held_on": TODAY.isoformat(), "mode": "face_to_face", "summary": "面商"},
            headers=c.who.co_unit,
        )
        assert r.status_code in (200, 201), r.text
        c.positions.append(r.headers["renda-position"])
        r = await system.client.post(
            f"/api/suggestions/{c.s4}/reply", json={"result": "A", "content": "已建成"}, headers=c.who.co_unit
        )
        assert r.status_code == 200, r.text
        c.positions.append(r.headers["renda-position"])
        again = await townships(system, c, as_of=(TODAY - timedelta(days=1)).isoformat())
        assert again["items"] == before["items"]
        moved = item(await townships(system, c), a.township)
        assert moved["suggestions"]["replied"] == 1 and moved["suggestions"]["overdue"] == 0

        # scoping: a township sees only itself; deputies and units are refused
        r = await system.client.get(
            "/api/supervision/townships", params={"under": a.county}, headers={**c.who.staff, **c.after}
        )
        assert [i["code"] for i in r.json()["items"]] == [a.township]
        for refused in (c.who.lead, c.who.unit):
            for url in ("/api/supervision/townships", "/api/supervision/overdue", "/api/supervision/units"):
                r = await system.client.get(url, headers=refused)
                assert r.status_code == 403, r.text
        r = await system.client.get(f"/api/supervision/suggestions/{c.s1}", headers=c.who.street_staff)
        assert r.status_code == 404
        r = await system.client.get(
            "/api/supervision/townships", params={"under": a.county[:4] + "99"}, headers=c.who.county
        )
        assert r.json()["items"] == []

        # downloads of the same rows
        r = await system.client.get(
            "/api/supervision/townships",
            params={"under": a.county, "year": YEAR, "format": "csv"},
            headers=c.who.county,
        )
        assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["区划代码", "乡镇（街道）", "类型"]
        [mine] = [x for x in rows[1:] if x[0] == a.township]
        header = rows[0]
        assert mine[header.index("满意率")] == "50.0%" and mine[header.index("满意率（分子/分母）")] == "1/2"
        assert mine[header.index("落实率")] == "—"
        r = await system.client.get(
            "/api/supervision/overdue", params={"under": a.county, "format": "xlsx"}, headers=c.who.county
        )
        assert r.status_code == 200
        wb = load_workbook(io.BytesIO(r.content))
        ws = wb.active
        assert ws.freeze_panes == "A2"
        assert [x.value for x in ws[1]][:3] == ["建议", "乡镇（街道）", "承办单位"]
        r = await system.client.get(
            "/api/supervision/units", params={"under": a.county, "year": YEAR, "format": "xlsx"}, headers=c.who.county
        )
        ws = load_workbook(io.BytesIO(r.content)).active
        header = [x.value for x in ws[1]]
        col = header.index("满意率") + 1
        values = {ws.cell(row=i, column=1).value: ws.cell(row=i, column=col) for i in range(2, ws.max_row + 1)}
        assert values["镇财政所"].value == 0.5 and values["镇财政所"].number_format == "0.0%"
        assert ws.cell(row=2, column=col + 1).value is not None  # the fraction beside


async def eventually_ok(check):  # type: ignore[no-untyped-def]
    return await eventually(check)
