"""The meetings service over HTTP: real NATS, a real database, the deputies' events as reference."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from libs.db.engine import make_engine
from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from libs.service.runtime import ServiceRuntime
from services.meetings.domain.review_opinion import REVIEW_OPINION
from services.meetings.watcher import review_opinion_watcher
from tests.meetings.world import at, make_world, schedule_body
from tests.support.waiting import eventually


async def test_congress_session_quorum_majority_and_minutes(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url)
    async with make_world(nc, settings) as w:
        # 13 seats as of the meeting date: one left before it and one joined after it do not count.
        members = await w.seed.deputies(w.town, 13)
        gone = (await w.seed.deputies(w.town, 1))[0]
        await w.seed.terminate(gone, w.town, date(2024, 2, 1))
        await w.seed.deputies(w.town, 1, elected_on=date(2024, 4, 1))
        staff = w.staff()

        r = await w.post("/api/meetings", schedule_body("congress_session", w.town), staff)
        assert r.status_code == 201, r.text
        mid = r.json()["meeting_id"]
        assert r.json()["status"] == "scheduled"

        got = await w.get(f"/api/meetings/{mid}", staff)
        assert got.status_code == 200, got.text
        assert sorted(got.json()["invitee_ids"]) == sorted(members)
        assert got.json()["quorum"] == {"present": 0, "members": 13, "needed": 9, "met": False}

        # attendance: only invitees who are current members
        bad = await w.post(f"/api/meetings/{mid}/attendance", {"present": [gone]}, staff)
        assert bad.status_code == 409 and bad.json()["error"]["code"] == "not_invitee", bad.text
        r = await w.post(
            f"/api/meetings/{mid}/attendance",
            {"present": members[:8], "on_leave": members[8:10], "absent": members[10:]},
            staff,
        )
        assert r.status_code == 200, r.text
        refused = await w.post(f"/api/meetings/{mid}/convene", {}, staff)
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "quorum_not_met"
        assert refused.json()["error"]["details"] == {"present": 8, "members": 13, "needed": 9}
        live = (await w.get(f"/api/meetings/{mid}", staff)).json()["quorum"]
        assert live == {"present": 8, "members": 13, "needed": 9, "met": False}

        r = await w.post(f"/api/meetings/{mid}/attendance", {"present": [members[8]]}, staff)
        assert r.status_code == 200, r.text
        r = await w.post(f"/api/meetings/{mid}/convene", {}, staff)
        assert r.status_code == 200, r.text
        assert r.json()["quorum"] == {"present": 9, "members": 13, "needed": 9}

        # votes: more than half of ALL 13 members (7), not of the 9 present
        too_many = await w.post(
            f"/api/meetings/{mid}/votes", {"agenda_index": 0, "yes": 7, "no": 2, "abstain": 1}, staff
        )
        assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "tally_exceeds_present"
        r = await w.post(f"/api/meetings/{mid}/votes", {"agenda_index": 0, "yes": 6, "no": 0, "abstain": 3}, staff)
        assert r.status_code == 200 and r.json()["passed"] is False, r.text
        r = await w.post(
            f"/api/meetings/{mid}/votes",
            {"agenda_index": 1, "yes": 7, "no": 1, "abstain": 1, "resolution_title": "关于财政预算的决议"},
            staff,
        )
        assert r.status_code == 200 and r.json()["passed"] is True and r.json()["resolution_index"] == 0, r.text
        r = await w.post(
            f"/api/meetings/{mid}/speeches",
            {"speaker_id": members[0], "summary": "建议加大农村道路投入", "agenda_index": 1},
            staff,
        )
        assert r.status_code == 201, r.text

        adjourned = await w.post(f"/api/meetings/{mid}/adjourn", {"minutes": "会议圆满完成各项议程。"}, staff)
        assert adjourned.status_code == 200, adjourned.text
        detail = (await w.get(f"/api/meetings/{mid}", staff)).json()
        minutes = detail["minutes"]
        if os.environ.get("RENDA_MEETINGS_DUMP"):  # for the closing note: the meeting as the API returns it
            dump = Path(os.environ["RENDA_MEETINGS_DUMP"]) / "meeting.json"
            dump.write_text(json.dumps(detail, ensure_ascii=False, indent=2))
        assert detail["status"] == "adjourned"
        canonical = orjson.dumps(minutes, option=orjson.OPT_SORT_KEYS)
        assert detail["minutes_sha256"] == hashlib.sha256(canonical).hexdigest()
        assert minutes["quorum"] == {"present": 9, "members": 13, "needed": 9}
        assert [v["passed"] for v in minutes["votes"]] == [False, True]
        assert minutes["resolutions"][0]["title"] == "关于财政预算的决议"
        assert minutes["attendance"]["on_leave"] == [members[9]]  # members[8] came after all

        # the list, scoped: this township's staff and the county see it, a neighbour does not
        listed = await w.get("/api/meetings", staff, after=adjourned, params={"body": w.town, "year": 2024})
        assert listed.status_code == 200, listed.text
        [row] = listed.json()["items"]
        assert row["meeting_id"] == mid and row["status"] == "adjourned" and row["resolutions"] == 1
        assert row["present"] == 9 and row["minutes_sha256"] == detail["minutes_sha256"]
        county_list = await w.get("/api/meetings", w.county_staff, params={"body": w.county, "year": 2024})
        assert [m["meeting_id"] for m in county_list.json()["items"]] == [mid], county_list.json()
        assert (await w.get("/api/meetings", staff, params={"year": 2023})).json()["items"] == []
        neighbour = w.staff(w.other)
        assert (await w.get(f"/api/meetings/{mid}", neighbour)).status_code == 404
        assert (await w.get("/api/meetings", neighbour, params={"body": w.town})).json()["items"] == []
        assert (await w.post(f"/api/meetings/{mid}/cancel", {}, neighbour)).status_code == 404

        # deputies read the meetings they are invited to, and nothing else
        invited = w.system.auth("deputy", w.town, deputy_id=members[0])
        assert (await w.get(f"/api/meetings/{mid}", invited)).status_code == 200
        mine = await w.get("/api/meetings", invited)
        assert [m["meeting_id"] for m in mine.json()["items"]] == [mid]
        stranger = w.system.auth("deputy", w.town, deputy_id="nobody")
        assert (await w.get(f"/api/meetings/{mid}", stranger)).status_code == 404
        assert (await w.get("/api/meetings", stranger)).json()["items"] == []
        assert (await w.post(f"/api/meetings/{mid}/convene", {}, invited)).status_code == 403


async def test_presidium_quorum_counts_the_composition_as_of_the_meeting_date(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any
) -> None:
    async with make_world(nc, settings_for(nats_server.url)) as w:
        deputies = await w.seed.deputies(w.town, 12)
        await w.seed.presidium(w.town, deputies[:7], date(2021, 1, 10))
        await w.seed.presidium(w.town, deputies[:9], date(2024, 1, 1))  # re-formed: 9 members from 2024
        staff = w.staff()
        old = await w.post(
            "/api/meetings",
            schedule_body("presidium_meeting", w.town, day="2023-06-01", title="主席团第五次会议"),
            staff,
        )
        new = await w.post(
            "/api/meetings",
            schedule_body("presidium_meeting", w.town, day="2024-06-01", title="主席团第九次会议"),
            staff,
        )
        assert old.status_code == new.status_code == 201, old.text + new.text
        old_id, new_id = old.json()["meeting_id"], new.json()["meeting_id"]
        assert (await w.get(f"/api/meetings/{old_id}", staff)).json()["quorum"]["members"] == 7
        assert (await w.get(f"/api/meetings/{new_id}", staff)).json()["quorum"] == {
            "present": 0,
            "members": 9,
            "needed": 6,
            "met": False,
        }

        # a non-member of the 2024 presidium cannot be marked present
        outsider = await w.post(f"/api/meetings/{new_id}/attendance", {"present": [deputies[10]]}, staff)
        assert outsider.status_code == 409 and outsider.json()["error"]["code"] == "not_invitee"
        await w.post(f"/api/meetings/{new_id}/attendance", {"present": deputies[:5]}, staff)
        assert (await w.post(f"/api/meetings/{new_id}/convene", {}, staff)).json()["error"]["code"] == "quorum_not_met"
        await w.post(f"/api/meetings/{new_id}/attendance", {"present": [deputies[5]]}, staff)
        r = await w.post(f"/api/meetings/{new_id}/convene", {}, staff)
        assert r.status_code == 200 and r.json()["quorum"] == {"present": 6, "members": 9, "needed": 6}, r.text
        # 9 members: 5 yes pass, 4 yes (a tie with 4 no... of 6 present: 4 + 2) do not
        tie = await w.post(f"/api/meetings/{new_id}/votes", {"agenda_index": 0, "yes": 3, "no": 3, "abstain": 0}, staff)
        assert tie.json()["passed"] is False
        four = await w.post(
            f"/api/meetings/{new_id}/votes", {"agenda_index": 0, "yes": 4, "no": 0, "abstain": 2}, staff
        )
        assert four.json()["passed"] is False
        five = await w.post(
            f"/api/meetings/{new_id}/votes", {"agenda_index": 0, "yes": 5, "no": 0, "abstain": 1}, staff
        )
        assert five.json()["passed"] is True

        # change and cancel a scheduled meeting
        r = await w.system.client.patch(f"/api/meetings/{old_id}", json={"venue": "人大主席办公室"}, headers=staff)
        assert r.status_code == 200, r.text
        assert (await w.get(f"/api/meetings/{old_id}", staff)).json()["venue"] == "人大主席办公室"
        r = await w.post(f"/api/meetings/{old_id}/cancel", {"reason": "改期"}, staff)
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        again = await w.post(f"/api/meetings/{old_id}/convene", {}, staff)
        assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


async def test_streets_hold_no_sessions_and_no_presidium_meetings(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any
) -> None:
    async with make_world(nc, settings_for(nats_server.url)) as w:
        street_staff = w.staff(w.street)
        for kind in ("congress_session", "presidium_meeting"):
            for who in (street_staff, w.county_staff):
                r = await w.post("/api/meetings", schedule_body(kind, w.street), who)
                assert r.status_code == 403, r.text
                assert r.json()["error"]["code"] == "not_for_street"
        district = await w.seed.deputies(w.street, 3, level="county", congress=w.county)
        gid = await w.seed.group(w.street, district)
        r = await w.post(
            "/api/meetings",
            schedule_body("group_activity", w.street, group_id=gid, title="代表小组进社区"),
            street_staff,
        )
        assert r.status_code == 201, r.text
        assert sorted(
            (await w.get(f"/api/meetings/{r.json()['meeting_id']}", street_staff)).json()["invitee_ids"]
        ) == sorted(district)
        r = await w.post("/api/meetings", schedule_body("inspection", w.street, title="视察老旧小区改造"), street_staff)
        assert r.status_code == 201, r.text
        # another township's staff may not schedule here: a body outside one's jurisdiction is 403
        r = await w.post("/api/meetings", schedule_body("inspection", w.street), w.staff(w.other))
        assert r.status_code == 403, r.text


async def test_review_opinion_feedback_clock_raises_overdue_exactly_once(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url, review_opinion_deadline="PT2S", reminder_before="PT1S")
    async with make_world(nc, settings) as w:
        staff = w.staff()
        water = await w.seed.unit(w.town, "镇水务站")
        roads = await w.seed.unit(w.town, "镇交通办")
        deputies = await w.seed.deputies(w.town, 3)
        r = await w.post(
            "/api/meetings",
            schedule_body(
                "special_report_hearing", w.town, title="听取农村饮水安全专项报告", agenda=[{"title": "饮水安全"}]
            ),
            staff,
        )
        mid = r.json()["meeting_id"]
        refused = await w.post(
            f"/api/meetings/{mid}/review-opinions",
            {"agenda_index": 0, "to_unit_id": water, "content": "加快管网改造"},
            staff,
        )
        assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_transition"
        await w.post(f"/api/meetings/{mid}/attendance", {"present": deputies}, staff)
        assert (await w.post(f"/api/meetings/{mid}/convene", {}, staff)).status_code == 200
        assert (await w.post(f"/api/meetings/{mid}/adjourn", {}, staff)).status_code == 200
        sent = await w.post(
            f"/api/meetings/{mid}/review-opinions",
            {"agenda_index": 0, "to_unit_id": water, "content": "加快管网改造"},
            staff,
        )
        assert sent.status_code == 201, sent.text
        rid = sent.json()["review_opinion_id"]

        async def overdue() -> dict[str, Any]:
            got = await w.get(f"/api/meetings/review-opinions/{rid}", staff, after=sent)
            assert got.status_code == 200, got.text
            assert got.json()["overdue"] is True
            return got.json()

        raised = await eventually(overdue)
        assert raised["status"] == "sent"

        # two more watcher instances, each ticking twice with the clock well past the deadline
        engine = make_engine(settings.database_url_for("meetings"))
        rt = ServiceRuntime("meetings", settings, nc, EventStore(nc), engine, "")
        later = datetime.now(UTC) + timedelta(days=1)
        watchers = [review_opinion_watcher(rt, clock=lambda t=later: t) for _ in range(2)]
        for _ in range(2):
            await asyncio.gather(*(wt.tick() for wt in watchers))
        await engine.dispose()
        assert sum(wt.raised for wt in watchers) == 0
        types = [e.type for e in await rt.store.read(REVIEW_OPINION, rid)]
        assert types.count("ReviewOpinionOverdue") == 1
        assert types.count("ReviewOpinionReminderDue") <= 1

        unit = w.system.auth("organizer", w.town, unit_id=water)
        other_unit = w.system.auth("organizer", w.town, unit_id=roads)
        assert (await w.get(f"/api/meetings/review-opinions/{rid}", other_unit)).status_code == 404
        assert (
            await w.post(f"/api/meetings/review-opinions/{rid}/feedback", {"content": "x"}, other_unit)
        ).status_code == 404
        answered = await w.post(
            f"/api/meetings/review-opinions/{rid}/feedback", {"content": "已完成管网改造一期"}, unit
        )
        assert answered.status_code == 200, answered.text
        assert answered.json() == {"review_opinion_id": rid, "status": "answered", "on_time": False}
        twice = await w.post(f"/api/meetings/review-opinions/{rid}/feedback", {"content": "再次反馈"}, unit)
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_answered"
        mine = await w.get("/api/meetings/review-opinions", unit, after=answered)
        assert [(o["review_opinion_id"], o["status"], o["on_time"]) for o in mine.json()["items"]] == [
            (rid, "answered", False)
        ]


async def test_compliance_facts_from_held_meetings(nats_server: EmbeddedNats, nc: Any, settings_for: Any) -> None:
    async with make_world(nc, settings_for(nats_server.url)) as w:
        deputies = await w.seed.deputies(w.town, 3)
        await w.seed.presidium(w.town, deputies, date(2021, 1, 10))
        gid = await w.seed.group(w.town, deputies)
        staff = w.staff()

        async def hold(kind: str, starts: str, ends: str, **kw: Any) -> str:
            r = await w.post("/api/meetings", schedule_body(kind, w.town, starts_at=starts, ends_at=ends, **kw), staff)
            assert r.status_code == 201, r.text
            mid = r.json()["meeting_id"]
            assert (await w.post(f"/api/meetings/{mid}/attendance", {"present": deputies}, staff)).status_code == 200
            assert (await w.post(f"/api/meetings/{mid}/convene", {}, staff)).status_code == 200
            return mid

        await hold("congress_session", at("2023-03-01", 8), at("2023-03-01", 17))  # nine hours: a day
        short = await hold("congress_session", at("2023-09-01", 9), at("2023-09-01", 12))  # three hours: too short
        cancelled = await w.post("/api/meetings", schedule_body("congress_session", w.town, day="2023-12-01"), staff)
        await w.post(f"/api/meetings/{cancelled.json()['meeting_id']}/cancel", {"reason": "改期"}, staff)
        for day in ("2023-01-10", "2023-02-20", "2023-07-15"):
            await hold("presidium_meeting", at(day, 9), at(day, 11), title="主席团会议")
        last = await hold("group_activity", at("2023-06-01", 9), at("2023-06-01", 11), group_id=gid, title="小组活动")

        async def facts() -> dict[str, Any]:
            got = await w.get(
                "/api/meetings/compliance",
                w.county_staff,
                params={"under": w.county, "year": 2023},
                after=await w.post(f"/api/meetings/{last}/adjourn", {}, staff),
            )
            assert got.status_code == 200, got.text
            return got.json()

        body = await facts()
        by_code = {i["township"]: i for i in body["items"]}
        town = by_code[w.town]
        assert town["sessions"]["held"] == 2 and town["sessions"]["long_enough"] == 1
        assert town["sessions"]["short_session_ids"] == [short]
        assert town["presidium_meetings"]["per_quarter"] == [2, 0, 1, 0]
        assert town["presidium_meetings"]["quarters_missing"] == [2, 4]
        gap = town["presidium_meetings"]["longest_gap"]
        assert (gap["start"], gap["end"], gap["days"], gap["open"], gap["over_limit"]) == (
            "2023-07-15",
            "2023-12-31",
            169,
            True,
            True,
        )
        assert [g["start"] for g in town["presidium_meetings"]["gaps_over_limit"]] == ["2023-02-20", "2023-07-15"]
        assert town["group_activities"] == [
            {
                "group_id": gid,
                "name": "第一代表小组",
                "held": 1,
                "required": 2,
                "period_complete": True,
                "flags": ["group_activities_below_minimum"],
            }
        ]
        assert town["flags"] == sorted(
            [
                "session_too_short",
                "sessions_below_minimum",
                "quarter_without_presidium_meeting",
                "presidium_gap_over_3_months",
                "group_activities_below_minimum",
            ]
        )
        assert by_code[w.street]["sessions"] is None and by_code[w.street]["presidium_meetings"] is None
        # a township sees its own facts only
        mine = await w.get("/api/meetings/compliance", w.staff(w.other), params={"under": w.county, "year": 2023})
        assert [i["township"] for i in mine.json()["items"]] == [w.other]
