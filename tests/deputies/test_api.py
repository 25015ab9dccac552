"""The deputies service over HTTP against real NATS and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from libs.runtime.nats_server import EmbeddedNats
from tests.deputies.places import after, deputy_body, fresh_tree, register
from tests.support.system import running_system
from tests.support.waiting import eventually


async def test_a_clerk_sets_up_a_township(nats_server: EmbeddedNats, nc, settings_for, database_url: str) -> None:
    tree = await fresh_tree(nc)
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        clerk = system.auth("township_staff", tree.township)
        # zh-CN input is mapped to the contract's values
        chair, pos = await register(
            system, clerk, deputy_body(tree.township, "王主席", gender="男", level="乡镇", phone="13800000001")
        )
        ids = [chair]
        for i in range(8):
            d, pos = await register(system, clerk, deputy_body(tree.township, f"代表{i}"))
            ids.append(d)
        county_deputy, pos = await register(
            system, clerk, deputy_body(tree.township, "县代表", level="county", congress=tree.county)
        )
        by_election, pos = await register(
            system, clerk, deputy_body(tree.township, "补选代表", by_election=True, elected_on="2025-03-01")
        )

        listed = await system.client.get(
            "/api/deputies", params={"township": tree.township, "limit": 500}, headers=after(clerk, pos)
        )
        assert listed.status_code == 200, listed.text
        rows = {d["deputy_id"]: d for d in listed.json()["items"]}
        assert len(rows) == 11
        assert rows[chair]["gender"] == "male" and rows[chair]["level"] == "township"
        assert rows[chair]["phone"] == "13800000001"
        assert rows[county_deputy]["level"] == "county" and rows[county_deputy]["congress"] == tree.county
        assert rows[by_election]["by_election"] is True and rows[by_election]["elected_on"] == "2025-03-01"
        county_level = await system.client.get(
            "/api/deputies", params={"township": tree.township, "level": "县"}, headers=clerk
        )
        assert [d["deputy_id"] for d in county_level.json()["items"]] == [county_deputy]

        # a page at a time, never more than asked
        first = await system.client.get("/api/deputies", params={"township": tree.township, "limit": 4}, headers=clerk)
        assert len(first.json()["items"]) == 4 and first.json()["next_cursor"]
        second = await system.client.get(
            "/api/deputies",
            params={"township": tree.township, "limit": 4, "cursor": first.json()["next_cursor"]},
            headers=clerk,
        )
        assert not {d["deputy_id"] for d in first.json()["items"]} & {d["deputy_id"] for d in second.json()["items"]}

        # the phone: staff of the jurisdiction only; a deputy sees their own record without it
        county = system.auth("county_staff", tree.county)
        assert (await system.client.get(f"/api/deputies/{chair}", headers=county)).json()["phone"] == "13800000001"
        own = await system.client.get(
            f"/api/deputies/{chair}", headers=system.auth("deputy", tree.township, deputy_id=chair)
        )
        assert own.status_code == 200 and own.json()["phone"] is None
        neighbour = system.auth("township_staff", tree.other)
        assert (await system.client.get(f"/api/deputies/{chair}", headers=neighbour)).status_code == 404
        foreign = await system.client.get("/api/deputies", params={"township": tree.township}, headers=neighbour)
        assert foreign.json() == {"items": [], "next_cursor": None}

        # qualification confirmed by the presidium's staff
        q = await system.client.post(
            f"/api/deputies/{ids[1]}/qualification", json={"confirmed_on": "2025-01-10"}, headers=clerk
        )
        assert q.status_code == 200 and q.json()["qualification_confirmed_on"] == "2025-01-10"

        # the presidium: 7 members and the chair; a county deputy is not a member of this congress
        p = await system.client.post(
            "/api/deputies/presidium",
            json={"township": tree.township, "member_ids": ids[:7], "chair_id": chair, "formed_on": "2025-01-05"},
            headers=clerk,
        )
        assert p.status_code == 201, p.text
        assert p.json()["size"] == 7
        again = await system.client.post(
            "/api/deputies/presidium",
            json={"township": tree.township, "member_ids": [*ids[1:7], county_deputy], "chair_id": ids[1]},
            headers=clerk,
        )
        # an active county deputy is told what is really wrong: not a deputy of this township's congress
        assert again.status_code == 422 and again.json()["error"]["code"] == "not_congress_member"
        assert again.json()["error"]["details"]["deputy_ids"] == [county_deputy]

        # groups mix levels; one central group per township
        g = await system.client.post(
            "/api/deputies/groups",
            json={
                "township": tree.township,
                "name": "中心代表小组",
                "leader_ids": [chair],
                "member_ids": [*ids[1:5], county_deputy],
                "central": True,
            },
            headers=clerk,
        )
        assert g.status_code == 201, g.text
        group = g.json()
        assert group["size"] == 6 and group["central"] is True
        g2 = await system.client.post(
            "/api/deputies/groups",
            json={"township": tree.township, "name": "第二代表小组", "leader_ids": [ids[5]], "member_ids": ids[6:]},
            headers=clerk,
        )
        assert g2.status_code == 201, g2.text
        changed = await system.client.put(
            f"/api/deputies/groups/{g2.json()['group_id']}",
            json={"name": "第二代表小组", "leader_ids": [ids[5]], "member_ids": [*ids[6:], by_election]},
            headers=clerk,
        )
        assert changed.status_code == 200 and by_election in changed.json()["member_ids"]

        # a liaison station with the 六有 checklist and its reception days
        s = await system.client.post(
            "/api/deputies/stations",
            json={
                "township": tree.township,
                "name": "甲镇代表之家",
                "address": "镇政府一楼",
                "six_haves": {
                    "place": True,
                    "sign": True,
                    "rules": True,
                    "materials": False,
                    "records": True,
                    "roll": True,
                },
                "reception_days": ["Monday", "15"],
            },
            headers=clerk,
        )
        assert s.status_code == 201, s.text
        assert s.json()["missing"] == ["materials"] and s.json()["reception_days"] == ["monday", "15"]
        u = await system.client.put(
            f"/api/deputies/stations/{s.json()['station_id']}",
            json={
                "name": "甲镇代表之家",
                "address": "镇政府一楼",
                "six_haves": {k: True for k in ("place", "sign", "rules", "materials", "records", "roll")},
                "reception_days": ["monday"],
            },
            headers=clerk,
        )
        assert u.status_code == 200 and u.json()["six_haves_met"] is True
        position = u.headers["renda-position"]

        async def bodies_listed() -> None:
            h = after(clerk, position)
            groups = await system.client.get("/api/deputies/groups", params={"township": tree.township}, headers=h)
            assert groups.status_code == 200, groups.text
            by_name = {x["name"]: x for x in groups.json()["items"]}
            assert set(by_name) == {"中心代表小组", "第二代表小组"}
            assert by_election in by_name["第二代表小组"]["member_ids"]
            assert by_name["中心代表小组"]["names"][chair] == "王主席"
            pres = await system.client.get("/api/deputies/presidium", params={"township": tree.township}, headers=h)
            assert pres.status_code == 200 and pres.json()["chair_id"] == chair
            stations = await system.client.get("/api/deputies/stations", params={"township": tree.township}, headers=h)
            [station] = stations.json()["items"]
            assert station["six_haves_met"] is True and station["reception_days"] == ["monday"]

        await eventually(bodies_listed)
        # a second central group is refused once the first is known
        third = await system.client.post(
            "/api/deputies/groups",
            json={"township": tree.township, "name": "另一中心组", "leader_ids": [ids[8]], "central": True},
            headers=clerk,
        )
        assert third.status_code == 409 and third.json()["error"]["code"] == "central_group_exists"


async def test_refusals_name_the_rule(nats_server: EmbeddedNats, nc, settings_for, tmp_path: Path) -> None:
    tree = await fresh_tree(nc)
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
    async with running_system(settings) as system:
        clerk = system.auth("township_staff", tree.township)
        c = system.client
        assert (await c.get("/api/deputies")).status_code == 401
        organizer = system.auth("organizer", tree.township, unit_id="u1")
        assert (
            await c.post("/api/deputies", json=deputy_body(tree.township, "甲"), headers=organizer)
        ).status_code == 403
        neighbour = system.auth("township_staff", tree.other)
        outside = await c.post("/api/deputies", json=deputy_body(tree.township, "甲"), headers=neighbour)
        assert outside.status_code == 403

        bad = await c.post("/api/deputies", json=deputy_body(tree.township, "甲", gender="unknown"), headers=clerk)
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "gender"
        # streets have no congress of their own, and no presidium
        street_clerk = system.auth("township_staff", tree.street)
        s = await c.post("/api/deputies", json=deputy_body(tree.street, "街道代表"), headers=street_clerk)
        assert s.status_code == 403 and s.json()["error"]["code"] == "not_for_street"
        district_deputy, _ = await register(
            system, street_clerk, deputy_body(tree.street, "区代表", level="county", congress=tree.county)
        )
        p = await c.post(
            "/api/deputies/presidium",
            json={"township": tree.street, "member_ids": [district_deputy] * 7, "chair_id": district_deputy},
            headers=street_clerk,
        )
        assert p.status_code == 403 and p.json()["error"]["code"] == "not_for_street"
        # a street's group and station are fine
        g = await c.post(
            "/api/deputies/groups",
            json={"township": tree.street, "name": "街道代表小组", "leader_ids": [district_deputy]},
            headers=street_clerk,
        )
        assert g.status_code == 201, g.text

        ids = [(await register(system, clerk, deputy_body(tree.township, f"代表{i}")))[0] for i in range(7)]
        small = await c.post(
            "/api/deputies/presidium",
            json={"township": tree.township, "member_ids": ids[:6], "chair_id": ids[0]},
            headers=clerk,
        )
        assert small.status_code == 409 and small.json()["error"]["code"] == "presidium_size"
        # members may hold no government office (the sector names it)
        official, _ = await register(system, clerk, deputy_body(tree.township, "副镇长", sector="镇政府"))
        held = await c.post(
            "/api/deputies/presidium",
            json={"township": tree.township, "member_ids": [*ids[:6], official], "chair_id": ids[0]},
            headers=clerk,
        )
        assert held.status_code == 409 and held.json()["error"]["code"] == "government_office_holder"
        assert held.json()["error"]["details"]["deputy_ids"] == [official]

        # a deputy records their own activities, never another's
        me = system.auth("deputy", tree.township, deputy_id=ids[0])
        mine = await c.post(
            f"/api/deputies/{ids[0]}/activities",
            json={"kind": "走访选民", "on": "2025-04-01", "people_count": 4, "summary": "走访李庄"},
            headers=me,
        )
        assert mine.status_code == 201 and mine.json()["kind"] == "constituent_visit", mine.text
        other = await c.post(
            f"/api/deputies/{ids[1]}/activities",
            json={"kind": "reception", "on": "2025-04-01", "people_count": 2},
            headers=me,
        )
        assert other.status_code == 404
        odd = await c.post(
            "/api/deputies/no.such.deputy/terminate",
            json={"reason": "moved", "effective_on": "2025-01-01"},
            headers=clerk,
        )
        assert odd.status_code == 404 and odd.json()["error"]["code"] == "not_found"
        no_mode = await c.post(
            f"/api/deputies/{ids[0]}/activities",
            json={"kind": "report_to_voters", "on": "2025-04-01", "people_count": 30},
            headers=me,
        )
        # the contract: report_mode is optional, a report given at a meeting by default
        assert no_mode.status_code == 201 and no_mode.json()["report_mode"] == "meeting", no_mode.text
        future = await c.post(
            f"/api/deputies/{ids[0]}/activities", json={"kind": "good_deed", "on": "2199-01-01"}, headers=me
        )
        assert future.status_code == 422

        # termination: the deputy then records nothing and joins no group
        t = await c.post(
            f"/api/deputies/{ids[6]}/terminate",
            json={"reason": "辞职", "effective_on": "2025-06-30", "note": "主席团会议接受辞职"},
            headers=clerk,
        )
        assert t.status_code == 200 and t.json()["status"] == "terminated", t.text
        assert t.json()["termination_reason"] == "resigned"
        late = await c.post(
            f"/api/deputies/{ids[6]}/activities", json={"kind": "good_deed", "on": "2025-07-02"}, headers=clerk
        )
        assert late.status_code == 409 and late.json()["error"]["code"] == "deputy_terminated"
        before = await c.post(
            f"/api/deputies/{ids[6]}/activities", json={"kind": "good_deed", "on": "2025-06-01"}, headers=clerk
        )
        assert before.status_code == 201  # still a deputy on that day
        grp = await c.post(
            "/api/deputies/groups",
            json={"township": tree.township, "name": "小组", "leader_ids": [ids[0]], "member_ids": [ids[6]]},
            headers=clerk,
        )
        assert grp.status_code == 409 and grp.json()["error"]["code"] == "deputy_terminated"
        listed = await c.get(
            "/api/deputies",
            params={"township": tree.township, "status": "active"},
            headers=after(clerk, t.headers["renda-position"]),
        )
        assert ids[6] not in [d["deputy_id"] for d in listed.json()["items"]]
        assert len(listed.json()["items"]) == 7  # six left of the first seven, and the official

        # the same Idempotency-Key records once
        key = {"Idempotency-Key": "visit-1", **me}
        body = {"kind": "reception", "on": "2025-05-01", "people_count": 3}
        first = await c.post(f"/api/deputies/{ids[0]}/activities", json=body, headers=key)

        async def replayed() -> None:
            # (the first answer may reach us before its key is finalised: 409 idempotency_in_progress, retry)
            second = await c.post(f"/api/deputies/{ids[0]}/activities", json=body, headers=key)
            assert second.status_code == 201, second.text
            assert first.json()["activity_id"] == second.json()["activity_id"]

        await eventually(replayed)
        acts = await c.get(
            f"/api/deputies/{ids[0]}/activities",
            params={"year": 2025},
            headers=after(me, first.headers.get("renda-position", "")),
        )
        assert [a["kind"] for a in acts.json()["items"]].count("reception") == 1

        # contacts: a constituent (name and village), and a presidium member with deputies
        con = await c.post(
            f"/api/deputies/{ids[0]}/contacts",
            json={"kind": "constituent", "contact": {"name": "张三", "village": "李庄村"}},
            headers=me,
        )
        assert con.status_code == 201 and con.json()["recorded"] is True
        not_member = await c.post(
            f"/api/deputies/{ids[0]}/contacts", json={"kind": "presidium_member", "contact": ids[1]}, headers=clerk
        )
        assert not_member.status_code == 409 and not_member.json()["error"]["code"] == "not_presidium_member"

        async def contacts_counted() -> None:
            r = await c.get(
                "/api/deputies/contacts",
                params={"township": tree.township},
                headers=after(clerk, con.headers["renda-position"]),
            )
            assert r.status_code == 200, r.text
            counts = {x["deputy_id"]: x["count"] for x in r.json()["congress"]}
            assert counts[ids[0]] == 1 and ids[0] in r.json()["deputies_short"]

        await eventually(contacts_counted)
