"""Every id a meetings body names must exist and be visible to the caller: an unknown and a foreign
one get the same 422 naming the field, and nothing is recorded (issue 12.1). A finding without
deputies is raised in the names of those present at the township's inspection, else its invitees,
or refused (422 ``deputy_ids``), never dropped (contract "Joint inspections", issue 12.4).

Real NATS, the real services, SQLite and PostgreSQL read models.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from libs.runtime.nats_server import EmbeddedNats
from tests.meetings.seeding import fresh_county
from tests.meetings.world import World, make_world, schedule_body
from tests.support.waiting import eventually

M = "/api/meetings"


async def refused_alike(
    w: World, method: str, path: str, field: str, body: Any, unknown: str, foreign: str, headers: dict[str, str]
) -> None:
    """``body(id)`` with an unknown and with a foreign id: the same 422, naming ``field``."""
    answers = [await w.send(method, path, body(i), headers) for i in (unknown, foreign)]
    for r in answers:
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_input", r.text
        assert r.json()["error"]["details"]["field"] == field, r.text
    a, b = (r.json()["error"]["message"] for r in answers)
    assert a.replace(unknown, "<id>") == b.replace(foreign, "<id>"), (a, b)


async def foreign_county(w: World) -> dict[str, str]:
    """Another county's township with a deputy, a group and a unit: all exist, none is the caller's."""
    city, county = fresh_county()
    far = f"{county}101"
    await w.seed.tree(city, county, {far: "township"})
    deputy = (await w.seed.deputies(far, 1))[0]
    return {
        "township": far,
        "deputy": deputy,
        "group": await w.seed.group(far, [deputy]),
        "unit": await w.seed.unit(far, "外县财政所"),
    }


async def held_inspection(w: World, staff: dict[str, str], people: list[str]) -> str:
    r = await w.post(M, schedule_body("inspection", w.town, title="视察农村道路", invitee_ids=people), staff)
    assert r.status_code == 201, r.text
    mid = r.json()["meeting_id"]
    assert (await w.post(f"{M}/{mid}/attendance", {"present": people}, staff)).status_code == 200
    assert (await w.post(f"{M}/{mid}/convene", {}, staff)).status_code == 200
    assert (await w.post(f"{M}/{mid}/adjourn", {}, staff)).status_code == 200
    return str(mid)


async def test_unknown_and_foreign_ids_in_meeting_bodies_get_the_same_422_and_record_nothing(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str
) -> None:
    async with make_world(nc, settings_for(nats_server.url, database_url)) as w:
        mine = await w.seed.deputies(w.town, 3)
        neighbour = (await w.seed.deputies(w.other, 1))[0]  # same county, another township
        group = await w.seed.group(w.town, mine)
        unit = await w.seed.unit(w.town, "镇交通办")
        far = await foreign_county(w)
        staff = w.staff()

        def meeting(kw: Any) -> Any:
            return lambda i: schedule_body("group_activity", w.town, title="小组活动", group_id=group, **kw(i))

        await refused_alike(
            w,
            "POST",
            M,
            "invitee_ids",
            meeting(lambda i: {"invitee_ids": [mine[0], i]}),
            "d-nobody",
            far["deputy"],
            staff,
        )
        await refused_alike(
            w, "POST", M, "invitee_ids", meeting(lambda i: {"invitee_ids": [i]}), "会议.代表", neighbour, staff
        )
        foreign_observer = await w.post(
            M, schedule_body("inspection", w.town, title="视察", observers=["镇长", far["deputy"]]), staff
        )
        assert foreign_observer.status_code == 422, foreign_observer.text
        assert foreign_observer.json()["error"]["details"]["field"] == "observers"
        await refused_alike(
            w,
            "POST",
            M,
            "group_id",
            lambda i: schedule_body("group_activity", w.town, title="小组活动", group_id=i),
            "g-nobody",
            far["group"],
            staff,
        )
        # a body is a jurisdiction code (public, unlike ids): unknown → 422 naming it, another's → 403
        unknown_body = await w.post(M, schedule_body("inspection", f"{w.county}109", title="视察"), w.county_staff)
        assert unknown_body.status_code == 422, unknown_body.text
        assert unknown_body.json()["error"]["details"]["field"] == "body", unknown_body.text
        foreign_body = await w.post(M, schedule_body("inspection", far["township"], title="视察"), w.county_staff)
        assert foreign_body.status_code == 403, foreign_body.text

        # the ones that hold are recorded; the refused ones left nothing
        ok = await w.post(M, schedule_body("group_activity", w.town, title="小组活动", group_id=group), staff)
        assert ok.status_code == 201, ok.text
        mid = ok.json()["meeting_id"]
        await refused_alike(
            w, "PATCH", f"{M}/{mid}", "invitee_ids", lambda i: {"invitee_ids": [i]}, "d-nobody", far["deputy"], staff
        )
        held = await held_inspection(w, staff, mine)
        await refused_alike(
            w,
            "POST",
            f"{M}/{held}/review-opinions",
            "to_unit_id",
            lambda i: {"agenda_index": 0, "to_unit_id": i, "content": "加快道路修缮"},
            "u-nobody",
            far["unit"],
            staff,
        )
        sent = await w.post(
            f"{M}/{held}/review-opinions", {"agenda_index": 0, "to_unit_id": unit, "content": "加快道路修缮"}, staff
        )
        assert sent.status_code == 201, sent.text

        listed = await w.get(M, staff, after=sent, params={"body": w.town})
        assert sorted(m["meeting_id"] for m in listed.json()["items"]) == sorted([mid, held])
        assert sorted((await w.get(f"{M}/{mid}", staff)).json()["invitee_ids"]) == sorted(mine)  # unchanged
        opinions = await w.get(f"{M}/review-opinions", staff, after=sent)
        assert [o["to_unit_id"] for o in opinions.json()["items"]] == [unit]
        assert (await w.get(M, w.county_staff, params={"body": f"{w.county}109"})).json()["items"] == []


async def test_joint_inspection_references_and_findings_without_deputies(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str
) -> None:
    async with make_world(nc, settings_for(nats_server.url, database_url)) as w:
        mine = await w.seed.deputies(w.town, 3)
        theirs = await w.seed.deputies(w.other, 2)
        unit = await w.seed.unit(w.town, "镇农业服务站")
        county_unit = await w.seed.unit(w.county, "县水利局")
        neighbours_unit = await w.seed.unit(w.other, "邻镇财政所")
        far = await foreign_county(w)
        county = w.county_staff

        def launch(townships: list[str]) -> dict[str, Any]:
            return {
                "county": w.county,
                "theme": "农村饮水安全",
                "window_start": "2024-05-01",
                "window_end": "2024-05-31",
                "townships": townships,
            }

        await refused_alike(
            w,
            "POST",
            f"{M}/joint-inspections",
            "townships",
            lambda i: launch([w.town, i]),
            f"{w.county}108",
            far["township"],
            county,
        )
        r = await w.post(f"{M}/joint-inspections", launch([w.town, w.other, w.street]), county)
        assert r.status_code == 201, r.text
        jid = r.json()["joint_inspection_id"]
        meeting = {i["township"]: i["meeting_id"] for i in r.json()["inspections"]}
        findings = f"{M}/joint-inspections/{jid}/findings"

        def finding(township: str, **kw: Any) -> dict[str, Any]:
            return {"township": township, "description": "自来水管网老化，夏季多次停水", **kw}

        staff, other_staff = w.staff(), w.staff(w.other)
        await refused_alike(
            w, "POST", findings, "unit_id", lambda i: finding(w.town, unit_id=i), "u-nobody", far["unit"], staff
        )
        await refused_alike(
            w, "POST", findings, "unit_id", lambda i: finding(w.town, unit_id=i), "u-nobody", neighbours_unit, staff
        )
        await refused_alike(
            w,
            "POST",
            findings,
            "deputy_ids",
            lambda i: finding(w.town, unit_id=unit, deputy_ids=[i]),
            "d-nobody",
            far["deputy"],
            staff,
        )

        gone = (await w.seed.deputies(w.town, 1))[0]
        await w.seed.terminate(gone, w.town, date(2024, 1, 1))
        left = await w.post(findings, finding(w.town, unit_id=unit, deputy_ids=[gone]), staff)
        assert left.status_code == 422 and left.json()["error"]["details"]["field"] == "deputy_ids", left.text

        # the town's inspection: three invited, two present → the finding is raised in the names of the two
        r = await w.send("PATCH", f"{M}/{meeting[w.town]}", {"invitee_ids": mine}, staff)
        assert r.status_code == 200, r.text
        r = await w.post(
            f"{M}/{meeting[w.town]}/attendance", {"present": [mine[2], mine[0]], "absent": [mine[1]]}, staff
        )
        assert r.status_code == 200, r.text
        raised = await w.post(findings, finding(w.town, unit_id=unit), staff)
        assert raised.status_code == 201, raised.text
        assert raised.json()["deputy_ids"] == [mine[0], mine[2]]  # the invitees' order: the first is the lead
        # the neighbour's: invited, no attendance yet → its invitees; a county unit is a unit of either level
        r = await w.send("PATCH", f"{M}/{meeting[w.other]}", {"invitee_ids": theirs}, other_staff)
        assert r.status_code == 200, r.text
        invited = await w.post(findings, finding(w.other, unit_id=county_unit), other_staff)
        assert invited.status_code == 201, invited.text
        assert invited.json()["deputy_ids"] == theirs
        # the street's: nobody invited → a finding naming a unit is refused, never dropped; one without a unit stays
        street_staff = w.staff(w.street)
        nobody = await w.post(findings, finding(w.street, unit_id=county_unit), street_staff)
        assert nobody.status_code == 422 and nobody.json()["error"]["details"]["field"] == "deputy_ids", nobody.text
        kept = await w.post(findings, finding(w.street), street_staff)
        assert kept.status_code == 201 and kept.json()["deputy_ids"] == [], kept.text

        # the suggestions context raises the suggestion in the deputies' names and assigns it to the unit
        async def suggestion() -> dict[str, Any]:
            got = (await w.get(f"{M}/joint-inspections/{jid}", county)).json()
            rows = {t["township"]: t for t in got["townships"]}
            assert rows[w.town]["finding_items"], rows[w.town]
            item = rows[w.town]["finding_items"][0]["suggestion"]
            assert item is not None and item["state"] == "assigned", rows[w.town]
            assert rows[w.street]["findings"] == 1  # the refused finding left nothing
            return dict(item)

        s = await eventually(suggestion, timeout=30)
        assert s["lead_unit_id"] == unit

        async def submitters() -> list[str]:
            detail = await w.get(f"/api/suggestions/{s['suggestion_id']}", county)
            assert detail.status_code == 200, detail.text
            return list(detail.json()["deputy_ids"])

        assert await eventually(submitters, timeout=30) == [mine[0], mine[2]]
