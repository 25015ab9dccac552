"""A county–township joint inspection (县乡联动) end to end over HTTP, through real NATS and the
suggestions service: launch → each township's own inspection → findings → a finding with a unit
becomes a suggestion assigned to it → the unit's reply shows in the county's progress view.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update

from libs.db.engine import make_engine
from libs.events.projection import checkpoints, decode_delivered, read_stream
from libs.runtime.nats_server import EmbeddedNats
from tests.meetings.seeding import Seeder, fresh_county
from tests.support.system import running_system
from tests.support.waiting import eventually

CHINA = ZoneInfo("Asia/Shanghai")  # the suggestion's rounds start on China's calendar day

DUMP = os.environ.get("RENDA_MEETINGS_DUMP")  # a folder: write the progress JSON there (for the closing note)


async def submitted_for(nc: Any, finding_id: str) -> list[str]:
    """Suggestion ids submitted from ``finding_id``, read from the suggestions stream itself."""
    found = []
    async for batch in read_stream(nc, "suggestions"):
        for d in batch:
            env = decode_delivered(d, frozenset({"SuggestionSubmitted"}))
            if env is not None and env.data.source_id == finding_id:  # type: ignore[attr-defined]
                found.append(env.aggregate_id)
    return found


async def test_joint_inspection_across_three_townships(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url)
    seed = Seeder(nc)
    city, county = fresh_county()
    t1, t2, s3 = f"{county}101", f"{county}102", f"{county}003"
    outside = f"{county}104"
    await seed.tree(city, county, {t1: "township", t2: "township", s3: "street", outside: "township"})
    d1 = await seed.deputies(t1, 3)
    d2 = await seed.deputies(t2, 3)
    county_deputy = (await seed.deputies(t1, 1, level="county", congress=county))[0]  # several levels take part
    sanitation = await seed.unit(county, "县环卫中心")  # a county unit: a township's opinion may go to it
    after = seed.after

    async with running_system(settings) as system:
        c = system.client
        county_staff = {**system.auth("county_staff", county), **after}
        staff1, staff2 = system.auth("township_staff", t1), system.auth("township_staff", t2)

        unit = await c.post(
            "/api/suggestions/units",
            headers=county_staff,
            json={
                "jurisdiction": t1,
                "name": "镇农业综合服务站",
                "kind": "station",
                "head": "王站长",
                "deputy_head": "李副站长",
            },
        )
        assert unit.status_code == 201, unit.text
        unit_id = unit.json()["unit_id"]

        launch = {
            "county": county,
            "theme": "农村人居环境整治",
            "law": "环境保护法",
            "window_start": "2024-05-01",
            "window_end": "2024-05-31",
            "requirements": "各乡镇人大组织代表对本辖区开展检查，形成问题清单报县人大常委会。",
            "steps": ["制定方案", "实地检查", "梳理问题", "交办督办"],
            "townships": [t1, t2, s3],
        }
        assert (
            await c.post("/api/meetings/joint-inspections", json=launch, headers={**staff1, **after})
        ).status_code == 403
        foreign = await c.post(
            "/api/meetings/joint-inspections", json={**launch, "townships": [t1, "999999001"]}, headers=county_staff
        )
        assert foreign.status_code == 422 and foreign.json()["error"]["details"]["field"] == "townships"
        r = await c.post("/api/meetings/joint-inspections", json=launch, headers=county_staff)
        assert r.status_code == 201, r.text
        jid = r.json()["joint_inspection_id"]
        meeting = {i["township"]: i["meeting_id"] for i in r.json()["inspections"]}
        assert sorted(meeting) == sorted([t1, t2, s3])
        position = {"Renda-After": r.headers["renda-position"]}

        progress = await c.get(f"/api/meetings/joint-inspections/{jid}", headers={**county_staff, **position})
        assert progress.status_code == 200, progress.text
        rows = progress.json()["townships"]
        assert [(t["township"], t["scheduled"], t["held"]) for t in rows] == [
            (t1, True, False),
            (t2, True, False),
            (s3, True, False),
        ]
        # each township's own inspection, linked, in the township's own jurisdiction
        linked = (await c.get(f"/api/meetings/{meeting[t1]}", headers=staff1)).json()
        assert (linked["kind"], linked["body"], linked["joint_inspection_id"]) == ("inspection", t1, jid)
        assert (await c.get(f"/api/meetings/{meeting[t1]}", headers=staff2)).status_code == 404
        # a township sees its own row only; a township outside sees nothing
        own = await c.get(f"/api/meetings/joint-inspections/{jid}", headers=staff2)
        assert [t["township"] for t in own.json()["townships"]] == [t2]
        assert (
            await c.get(f"/api/meetings/joint-inspections/{jid}", headers=system.auth("township_staff", outside))
        ).status_code == 404

        # two townships hold their inspection (township and county deputies together); the street has not yet
        for town, staff, people in ((t1, staff1, [*d1, county_deputy]), (t2, staff2, d2)):
            mid = meeting[town]
            r = await c.patch(f"/api/meetings/{mid}", json={"invitee_ids": people}, headers=staff)
            assert r.status_code == 200, r.text
            r = await c.post(f"/api/meetings/{mid}/attendance", json={"present": people}, headers=staff)
            assert r.status_code == 200, r.text
            assert (await c.post(f"/api/meetings/{mid}/convene", headers=staff)).status_code == 200
            assert (
                await c.post(f"/api/meetings/{mid}/adjourn", json={"minutes": "检查结束"}, headers=staff)
            ).status_code == 200

        # findings: t1's names a unit (→ a suggestion), t2's does not
        f1 = await c.post(
            f"/api/meetings/joint-inspections/{jid}/findings",
            headers=staff1,
            json={
                "township": t1,
                "description": "村内垃圾转运不及时，部分村庄积存明显",
                "unit_id": unit_id,
                "deputy_ids": [d1[0], county_deputy],
            },
        )
        assert f1.status_code == 201, f1.text
        finding_id = f1.json()["finding_id"]
        f2 = await c.post(
            f"/api/meetings/joint-inspections/{jid}/findings",
            headers=staff2,
            json={"township": t2, "description": "公厕管护责任不明确"},
        )
        assert f2.status_code == 201, f2.text
        assert (
            await c.post(
                f"/api/meetings/joint-inspections/{jid}/findings",
                headers=staff1,
                json={"township": t2, "description": "越权登记"},
            )
        ).status_code == 403
        absent = await c.post(
            f"/api/meetings/joint-inspections/{jid}/findings",
            headers=county_staff,
            json={"township": outside, "description": "未参加的乡镇"},
        )
        assert absent.status_code == 409 and absent.json()["error"]["code"] == "township_not_participating"
        opinion = await c.post(
            f"/api/meetings/{meeting[t2]}/review-opinions",
            headers={**staff2, **after},
            json={"agenda_index": 0, "to_unit_id": sanitation, "content": "明确公厕管护主体，建立长效机制"},
        )
        assert opinion.status_code == 201, opinion.text

        async def assigned() -> dict[str, Any]:
            got = (await c.get(f"/api/meetings/joint-inspections/{jid}", headers=county_staff)).json()
            first = got["townships"][0]
            assert len(first["finding_items"]) == 1, first
            item = first["finding_items"][0]
            assert item["suggestion"] is not None and item["suggestion"]["state"] == "assigned", item
            return item["suggestion"]

        suggestion = await eventually(assigned, timeout=30)
        assert suggestion["lead_unit_id"] == unit_id
        sid = suggestion["suggestion_id"]

        # the unit consults the deputy, then replies: the county sees it
        organizer = system.auth("organizer", t1, unit_id=unit_id)
        r = await c.post(
            f"/api/suggestions/{sid}/consultations",
            headers=organizer,
            json={
                "held_on": datetime.now(CHINA).date().isoformat(),
                "mode": "face_to_face",
                "summary": "与代表实地查看转运点",
            },
        )
        assert r.status_code == 201, r.text
        r = await c.post(
            f"/api/suggestions/{sid}/reply",
            headers=organizer,
            json={"result": "A", "content": "已增加转运车辆，实行日产日清。"},
        )
        assert r.status_code == 200, r.text

        async def replied() -> dict[str, Any]:
            got = (await c.get(f"/api/meetings/joint-inspections/{jid}", headers=county_staff)).json()
            assert got["townships"][0]["finding_items"][0]["suggestion"]["state"] == "replied"
            return got

        shown = await eventually(replied, timeout=30)
        by_town = {t["township"]: t for t in shown["townships"]}
        assert (by_town[t1]["held"], by_town[t2]["held"], by_town[s3]["held"]) == (True, True, False)
        assert by_town[s3]["kind"] == "street" and by_town[s3]["meeting_status"] == "scheduled"
        assert by_town[t1]["findings"] == 1 and by_town[t1]["suggestions"]["raised"] == 1
        assert by_town[t1]["suggestions"]["replied"] == 1
        assert by_town[t1]["finding_items"][0]["suggestion"]["result"] == "A"
        assert by_town[t2]["findings"] == 1 and by_town[t2]["suggestions"]["raised"] == 0
        assert by_town[t2]["review_opinions"] == {"sent": 1, "answered": 0, "answered_on_time": 0, "overdue": 0}
        assert shown["totals"]["findings"] == 2 and shown["totals"]["held"] == 2
        if DUMP:
            (Path(DUMP) / "joint_inspection_progress.json").write_text(json.dumps(shown, ensure_ascii=False, indent=2))

    # Redelivery: the suggestions service's process manager reads every finding again from zero.
    engine = make_engine(settings.database_url_for("suggestions"))
    async with engine.begin() as tx:
        reset = await tx.execute(
            update(checkpoints).where(checkpoints.c.projection == "suggestions-from-findings").values(position=0)
        )
        assert reset.rowcount == 1
    await engine.dispose()
    async with running_system(settings) as system:

        async def replayed() -> None:
            ready = await system.client.get("/api/suggestions/readyz")
            lag = ready.json()["projections"]["suggestions-from-findings"]["lag"]
            assert lag == {"RENDA_MEETINGS": 0}, lag

        await eventually(replayed, timeout=30)
        assert await submitted_for(nc, finding_id) == [sid]
        again = await system.client.get(
            f"/api/meetings/joint-inspections/{jid}", headers=system.auth("county_staff", county)
        )
        assert again.json()["totals"]["suggestions_raised"] == 1
        assert again.json()["townships"][0]["finding_items"][0]["suggestion"]["state"] == "replied"
