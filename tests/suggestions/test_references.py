"""Issue 12 over HTTP, in the suggestions service: ids named in bodies, odd path ids, times, units.

- Every id a body names must exist and be visible: an unknown and a foreign one get the SAME 422
  naming the field, and nothing is recorded. The id fields are found by walking the service's
  OpenAPI request bodies, so a new one cannot be left out of the matrix.
- An id in a path that cannot be an id answers 404 on every path of the service.
- Every time answered carries the +08:00 offset; bare dates where a time is expected; non-date
  and non-integer JSON types refused.
- A unit is registered with exactly jurisdiction, name and kind; its contacts go into its event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from services.suggestions.domain.unit import ORGANIZER_UNIT
from tests.suggestions.conftest import TODAY, Actors, Area, code, make_area, submit
from tests.support.system import System, running_system
from tests.support.waiting import eventually

ODD_IDS = ["a.b", "*", "a b", "建议", "x" * 65]
# Every body field of this service that names an id, and the probe below that covers it.
COVERED = {
    ("/api/suggestions", "post", "deputy_ids"),
    ("/api/suggestions", "post", "meeting_id"),
    ("/api/suggestions", "post", "source_id"),  # free text of the source (a finding's id): not checked
    ("/api/suggestions/{suggestion_id}/assign", "post", "lead_unit_id"),
    ("/api/suggestions/{suggestion_id}/assign", "post", "co_unit_ids"),
    ("/api/suggestions/{suggestion_id}/merge", "post", "into_id"),
    ("/api/suggestions/opinions", "post", "deputy_id"),
}


def id_fields(spec: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(path, method, field) of every request-body property named ``*_id`` or ``*_ids``."""
    schemas = spec.get("components", {}).get("schemas", {})
    found = set()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            content = (op.get("requestBody") or {}).get("content", {})
            for media in content.values():
                schema = media.get("schema", {})
                refs = [schema.get("$ref")] + [s.get("$ref") for s in schema.get("anyOf", [])]
                for ref in filter(None, refs):
                    props = schemas[ref.rsplit("/", 1)[1]].get("properties", {})
                    found |= {(path, method, f) for f in props if f.endswith("_id") or f.endswith("_ids")}
    return found


async def refused(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert (code(r), r.json()["error"]["details"]["field"]) == ("invalid_input", field), r.text


async def meeting_in(system: System, a: Area) -> str:
    r = await system.client.post(
        "/api/meetings",
        json={
            "kind": "inspection",
            "body": a.township,
            "title": "视察农村饮水安全",
            "starts_at": f"{TODAY.isoformat()}T09:00:00+08:00",
            "ends_at": f"{TODAY.isoformat()}T17:00:00+08:00",
            "venue": "镇政府",
            "agenda": [{"title": "视察"}],
            "invitee_ids": [a.lead],
        },
        headers=system.auth("township_staff", a.township),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["meeting_id"])


async def test_every_id_in_a_body_must_exist_and_be_visible_unknown_and_foreign_alike(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    async with running_system(settings_for(nats_server.url, database_url)) as system:
        c = system.client
        spec = (await c.get("/api/suggestions/openapi.json")).json()
        assert id_fields(spec) == COVERED  # a new id field needs its probe here
        a, b = await make_area(system, nc), await make_area(system, nc)  # b: another county
        who = Actors(system, a)
        own_meeting, foreign_meeting = await meeting_in(system, a), await meeting_in(system, b)
        sibling = f"{a.county}003"  # a neighbouring township's unit is foreign to a.township's suggestion
        r = await c.post(
            "/api/deputies/jurisdictions",
            json={"code": sibling, "name": "邻镇", "kind": "township", "parent": a.county},
            headers=system.auth("city_staff", a.city[:2]),
        )
        assert r.status_code == 201, r.text
        r = await c.post(
            "/api/suggestions/units",
            json={"jurisdiction": sibling, "name": "邻镇财政所", "kind": "station"},
            headers=system.auth("county_staff", a.county),
        )
        assert r.status_code == 201, r.text
        sibling_unit = r.json()["unit_id"]
        body = {"title": "修路", "content": "村道破损", "township": a.township, "submitted_during": "recess"}
        before = len(
            (await c.get("/api/suggestions", params={"limit": 500}, headers={**who.county, **a.after})).json()["items"]
        )

        # Submit: deputies unknown, of another county, or of the street next door; a meeting likewise.
        for deputy in ("d-nobody", b.lead, a.street_deputy):
            await refused(
                await c.post("/api/suggestions", json={**body, "deputy_ids": [a.lead, deputy]}, headers=who.staff),
                "deputy_ids",
            )
        for meeting in ("m-nowhere", foreign_meeting):
            r = await c.post(
                "/api/suggestions", json={**body, "deputy_ids": [a.lead], "meeting_id": meeting}, headers=who.staff
            )
            await refused(r, "meeting_id")
        sid = await submit(system, a, who.staff, meeting_id=own_meeting)

        # Assign: units unknown, of another county, of a neighbouring township; the county's own is fine.
        path = f"/api/suggestions/{sid}"
        assign = {"responsible_leader": "陈副镇长"}
        for unit in ("u-nobody", b.unit, sibling_unit, "a.b"):
            await refused(
                await c.post(f"{path}/assign", json={**assign, "lead_unit_id": unit}, headers=who.staff), "lead_unit_id"
            )
            r = await c.post(
                f"{path}/assign", json={**assign, "lead_unit_id": a.unit, "co_unit_ids": [unit]}, headers=who.staff
            )
            await refused(r, "co_unit_ids")
        history = (await c.get(f"{path}/history", headers=who.staff)).json()["items"]
        assert [h["type"] for h in history] == ["SuggestionSubmitted"]  # nothing recorded
        r = await c.post(
            f"{path}/assign", json={**assign, "lead_unit_id": a.unit, "co_unit_ids": [a.county_unit]}, headers=who.staff
        )
        assert r.status_code == 200, r.text

        # Merge: a target unknown, or one the caller cannot see, is the same 422.
        other = await submit(system, a, who.staff, deputy_ids=[a.co])
        foreign_sid = await submit(system, b, system.auth("township_staff", b.township))
        for target in ("s-nobody", foreign_sid):
            r = await c.post(
                f"/api/suggestions/{other}/merge", json={"into_id": target, "reason": "同一事项"}, headers=who.staff
            )
            await refused(r, "into_id")
        assert (await c.get(f"/api/suggestions/{other}", headers=who.staff)).json()["status"] == "submitted"

        # An opinion's deputy: unknown or of another township.
        opinion = {
            "township": a.township,
            "on": TODAY.isoformat(),
            "place": "村委会",
            "content": "路灯不亮",
            "people_count": 3,
        }
        for deputy in ("d-nobody", b.lead, "a.b"):
            await refused(
                await c.post("/api/suggestions/opinions", json={**opinion, "deputy_id": deputy}, headers=who.staff),
                "deputy_id",
            )
        r = await c.post("/api/suggestions/opinions", json={**opinion, "deputy_id": a.lead}, headers=who.staff)
        assert r.status_code == 201, r.text

        async def counted() -> None:  # the two submitted here, none of the refused
            items = (await c.get("/api/suggestions", params={"limit": 500}, headers=who.county)).json()["items"]
            assert len(items) == before + 2

        await eventually(counted)


async def test_odd_path_ids_are_404_and_times_carry_the_offset(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    async with running_system(settings_for(nats_server.url, database_url)) as system:
        c = system.client
        a = await make_area(system, nc)
        who = Actors(system, a)

        # Every path of the service with an id in it, every method: an odd id is unknown — 404 where
        # the role may act there (403 where the route refuses the role itself), never 422 or 500.
        spec = (await c.get("/api/suggestions/openapi.json")).json()
        templated = [(p, m) for p, ops in spec["paths"].items() if "{" in p for m in ops]
        assert len(templated) >= 15
        not_found = 0
        for path, method in templated:
            for who_ in (who.county, who.lead):
                answers = set()
                for odd in ODD_IDS:
                    url = path.replace("{suggestion_id}", odd).replace("{opinion_id}", odd)
                    url = url.replace("{attachment_id}", odd)
                    r = await c.request(method.upper(), url, json={}, headers=who_)
                    answers.add(r.status_code)
                assert len(answers) == 1 and answers <= {403, 404}, (method, path, answers)
                not_found += answers == {404}
        assert not_found >= len(templated)  # every path answers 404 to one of the two roles
        # Times: answered with +08:00, in a command's answer, one suggestion, its history and the lists.
        sid = await submit(system, a, who.staff)
        path = f"/api/suggestions/{sid}"
        r = await c.post(f"{path}/assign", json={"lead_unit_id": a.unit, "responsible_leader": "陈"}, headers=who.staff)
        assert r.json()["due_at"].endswith("+08:00"), r.text
        one = (await c.get(path, headers=who.staff)).json()
        assert one["submitted_at"].endswith("+08:00") and one["assignment"]["assigned_at"].endswith("+08:00")
        history = (await c.get(f"{path}/history", headers=who.staff)).json()["items"]
        assert all(h["occurred_at"].endswith("+08:00") for h in history)
        assigned = next(h for h in history if h["type"] == "SuggestionAssigned")
        assert assigned["data"]["due_at"].endswith("+08:00") and assigned["data"]["assigned_at"].endswith("+08:00")

        async def listed() -> None:  # the list reads the read model, which may not have the assignment yet
            items = (await c.get("/api/suggestions", params={"township": a.township}, headers=who.staff)).json()[
                "items"
            ]
            assert len(items) == 1, items
            row = items[0]
            assert row["submitted_at"].endswith("+08:00") and (row["due_at"] or "").endswith("+08:00")
            units = (await c.get("/api/suggestions/units", params={"under": a.township}, headers=who.staff)).json()
            assert all(u["registered_at"].endswith("+08:00") for u in units["items"])

        await eventually(listed)

        # A bare date where a deadline is expected: the end of that day in +08:00.
        day = (TODAY + timedelta(days=400)).isoformat()
        r = await c.post(f"{path}/extension", json={"new_due_at": day, "reason": "跨年立项"}, headers=who.staff)
        assert r.status_code == 200, r.text
        assert datetime.fromisoformat(r.json()["due_at"]) == datetime.fromisoformat(f"{day}T23:59:59.999999+08:00")

        # Not a date, or a year a clerk mistyped; not an integer.
        consult = {"mode": "phone", "summary": "电话沟通"}
        for bad in (0, False, "0013-10-22", "2205-01-01", "2026-13-01"):
            r = await c.post(f"{path}/consultations", json={**consult, "held_on": bad}, headers=who.unit)
            assert (r.status_code, r.json()["error"]["details"]["field"]) == (422, "held_on"), (bad, r.text)
        for bad in (0, True, "1900-01-01"):
            r = await c.post(f"{path}/extension", json={"new_due_at": bad, "reason": "x"}, headers=who.staff)
            assert (r.status_code, r.json()["error"]["details"]["field"]) == (422, "new_due_at"), (bad, r.text)
        opinion = {
            "deputy_id": a.lead,
            "township": a.township,
            "on": TODAY.isoformat(),
            "place": "村委会",
            "content": "路灯",
        }
        for bad in (False, "3", 2.5):
            r = await c.post("/api/suggestions/opinions", json={**opinion, "people_count": bad}, headers=who.staff)
            assert (r.status_code, r.json()["error"]["details"]["field"]) == (422, "people_count"), (bad, r.text)


async def test_a_unit_needs_only_jurisdiction_name_and_kind_and_its_contacts_go_in_its_event(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    async with running_system(settings_for(nats_server.url, database_url)) as system:
        a = await make_area(system, nc)
        staff = system.auth("township_staff", a.township)
        r = await system.client.post(
            "/api/suggestions/units",
            json={"jurisdiction": a.township, "name": "镇民政办", "kind": "office"},
            headers=staff,
        )
        assert r.status_code == 201, r.text
        assert (r.json()["head"], r.json()["email"]) == ("", None)
        r = await system.client.post(
            "/api/suggestions/units",
            json={
                "jurisdiction": a.township,
                "name": "镇农业服务中心",
                "kind": "station",
                "supervising_department": "县农业农村局",
                "email": "nyzx@example.cn",
                "phone": "0551-6000000",
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
        [env] = await EventStore(nc).read(ORGANIZER_UNIT, r.json()["unit_id"])
        assert (env.version, env.data.email, env.data.phone) == (2, "nyzx@example.cn", "0551-6000000")
        r = await system.client.post(
            "/api/suggestions/units",
            json={"jurisdiction": a.township, "name": "x", "kind": "station", "email": "not-an-address"},
            headers=staff,
        )
        assert (r.status_code, r.json()["error"]["details"]["field"]) == (422, "email")
