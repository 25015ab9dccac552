"""Ids in bodies and paths (contract "Lists, times and identifiers"): every id a body names must
exist and be visible to the caller; an unknown and a foreign one get the SAME 422 naming the field
and nothing is recorded. An id in a path that cannot be an id is answered like an unknown one: 404."""

from __future__ import annotations

from typing import Any

from libs.runtime.nats_server import EmbeddedNats
from tests.deputies.places import after, deputy_body, fresh_tree, register
from tests.support.system import running_system

UNKNOWN = "0f0e0d0c-0000-4000-8000-000000000000"


def refusal(r: Any) -> tuple[int, str, str]:
    e = r.json()["error"]
    return r.status_code, e["code"], e["details"]["field"]


async def test_ids_named_in_bodies_must_exist_and_be_visible(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    tree = await fresh_tree(nc)
    far = await fresh_tree(nc)  # another city
    async with running_system(settings_for(nats_server.url, database_url)) as system:
        c = system.client
        clerk = system.auth("township_staff", tree.township)
        ids = []
        pos = ""
        for i in range(8):
            d, pos = await register(system, clerk, deputy_body(tree.township, f"代表{i}"))
            ids.append(d)
        neighbour, _ = await register(
            system, system.auth("township_staff", tree.other), deputy_body(tree.other, "邻乡代表")
        )
        foreign, _ = await register(
            system, system.auth("township_staff", far.township), deputy_body(far.township, "外市")
        )
        group = await c.post(
            "/api/deputies/groups",
            json={"township": tree.township, "name": "第一小组", "leader_ids": [ids[0]], "member_ids": ids[1:3]},
            headers=clerk,
        )
        assert group.status_code == 201, group.text
        group_id = group.json()["group_id"]

        def group_body(field: str, bad: str) -> dict[str, Any]:
            body = {"township": tree.township, "name": "坏小组", "leader_ids": [ids[0]], "member_ids": [ids[1]]}
            body[field] = [bad]
            return body

        def presidium_body(field: str, bad: str) -> dict[str, Any]:
            body: dict[str, Any] = {"township": tree.township, "member_ids": ids[:7], "chair_id": ids[0]}
            body[field] = [*ids[:6], bad] if field == "member_ids" else bad
            return body

        cases: list[tuple[str, str, Any, str]] = []
        for bad in (UNKNOWN, neighbour, foreign):
            cases += [
                ("post", "/api/deputies/groups", group_body("leader_ids", bad), "leader_ids"),
                ("post", "/api/deputies/groups", group_body("member_ids", bad), "member_ids"),
                ("put", f"/api/deputies/groups/{group_id}", {"name": "改", "leader_ids": [bad]}, "leader_ids"),
                (
                    "put",
                    f"/api/deputies/groups/{group_id}",
                    {"name": "改", "leader_ids": [ids[0]], "member_ids": [bad]},
                    "member_ids",
                ),
                ("post", "/api/deputies/presidium", presidium_body("member_ids", bad), "member_ids"),
                ("post", "/api/deputies/presidium", presidium_body("chair_id", bad), "chair_id"),
            ]
        answers = {}
        for method, path, body, field in cases:
            r = await c.request(method, path, json=body, headers=clerk)
            assert refusal(r) == (422, "invalid_input", field), (path, body, r.text)
            answers.setdefault((path.split("/")[3], field), set()).add(r.json()["error"]["message"].split("：")[0])
        # the same words for an unknown id and a foreign one: nothing says the foreign one exists
        assert all(len(messages) == 1 for messages in answers.values()), answers

        none = await c.get("/api/deputies/presidium", params={"township": tree.township}, headers=after(clerk, pos))
        assert none.status_code == 404  # no refused presidium was recorded

        # a presidium member's contact: the contacted deputy is a named id too
        county = system.auth("county_staff", tree.county)
        formed = await c.post(
            "/api/deputies/presidium",
            json={"township": tree.township, "member_ids": ids[:7], "chair_id": ids[0], "formed_on": "2025-01-05"},
            headers=clerk,
        )
        assert formed.status_code == 201, formed.text
        for bad in (UNKNOWN, foreign):
            r = await c.post(
                f"/api/deputies/{ids[0]}/contacts",
                json={"kind": "presidium_member", "contact": bad, "on": "2025-02-01"},
                headers=county,
            )
            assert refusal(r) == (422, "invalid_input", "contact"), r.text
        # a jurisdiction's parent: unknown and foreign alike
        for parent in ("990199", far.county):
            r = await c.post(
                "/api/deputies/jurisdictions",
                json={"code": tree.county + "099", "name": "新镇", "kind": "township", "parent": parent},
                headers=county,
            )
            assert refusal(r) == (422, "invalid_input", "parent"), r.text
            answers.setdefault(("jurisdictions", "parent"), set()).add(r.json()["error"]["message"].split(" ")[0])
        assert len(answers[("jurisdictions", "parent")]) == 1

        # nothing of it was recorded: one group as formed, one presidium, no contact
        read = after(clerk, pos, formed.headers["renda-position"])
        groups = (await c.get("/api/deputies/groups", params={"township": tree.township}, headers=read)).json()
        assert [(g["group_id"], g["member_ids"]) for g in groups["items"]] == [(group_id, ids[:3])]
        check = await c.get("/api/deputies/contacts", params={"township": tree.township}, headers=read)
        assert check.json()["presidium"] and all(p["count"] == 0 for p in check.json()["presidium"]), check.json()


ODD = ["a.b", "a%20b", "%2A", "%E4%BB%A3%E8%A1%A8", "a>b"]  # a dot, a space, *, non-ASCII, >


async def test_an_id_in_a_path_that_cannot_be_an_id_is_unknown(
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    tree = await fresh_tree(nc)
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'odd.sqlite3'}")
    async with running_system(settings) as system:
        clerk = system.auth("county_staff", tree.county)
        c = system.client
        for odd in ODD:
            calls = [
                ("get", f"/api/deputies/{odd}", None),
                ("post", f"/api/deputies/{odd}/terminate", {"reason": "moved", "effective_on": "2025-01-01"}),
                ("post", f"/api/deputies/{odd}/qualification", {}),
                ("post", f"/api/deputies/{odd}/activities", {"kind": "good_deed", "on": "2025-01-01"}),
                ("get", f"/api/deputies/{odd}/activities", None),
                ("post", f"/api/deputies/{odd}/contacts", {"kind": "constituent", "contact": "张三，李庄村"}),
                ("get", f"/api/deputies/{odd}/dossier", None),
                ("get", f"/api/deputies/groups/{odd}", None),
                ("put", f"/api/deputies/groups/{odd}", {"name": "组", "leader_ids": ["x"]}),
                ("get", f"/api/deputies/stations/{odd}", None),
                ("put", f"/api/deputies/stations/{odd}", {"name": "站"}),
            ]
            for method, path, body in calls:
                r = await c.request(method, path, json=body, headers=clerk)
                assert r.status_code == 404, (method, path, r.status_code, r.text)
                assert r.json()["error"]["code"] == "not_found"
