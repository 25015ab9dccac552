"""The meetings API against the contract's "Lists, times and identifiers" (issue 12.2, 12.3):
odd ids in paths are answered as unknown (404, never 500), dates outside 1949 … today + 50 years
are refused (422) and never reach a list, bare dates are read in RENDA_TIMEZONE (a deadline: end
of day), and every time answered carries the zone's offset — minutes included.

Real NATS, the real services, SQLite and PostgreSQL read models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from libs.runtime.nats_server import EmbeddedNats
from services.meetings.events import AttendanceRecorded
from services.meetings.projections import JointInspectionProgress, MeetingsIndex
from tests.meetings.world import make_world, schedule_body

M = "/api/meetings"
ODD_IDS = ("a.b", "*", "a b", "会议", ">", "x" * 65)


def local(text: str) -> bool:
    return text.endswith("+08:00")


def test_the_read_models_subscribe_to_exactly_what_they_apply() -> None:
    for projection in (MeetingsIndex(None), JointInspectionProgress()):
        assert projection.wants() == frozenset(type(projection).dispatch), projection.name
    assert AttendanceRecorded.type_name not in MeetingsIndex(None).wants()  # type: ignore[operator]
    assert {"MeetingScheduled", "ReviewOpinionSent"} <= set(MeetingsIndex.dispatch)


async def test_odd_ids_in_every_meetings_path_are_answered_as_unknown(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any
) -> None:
    async with make_world(nc, settings_for(nats_server.url)) as w:
        staff, unit = w.staff(), w.system.auth("organizer", w.town, unit_id="u1")
        paths: list[tuple[str, str, Any, dict[str, str]]] = [
            ("GET", "{id}", None, staff),
            ("PATCH", "{id}", {"title": "改"}, staff),
            ("POST", "{id}/cancel", {}, staff),
            ("POST", "{id}/attendance", {"present": []}, staff),
            ("POST", "{id}/convene", {}, staff),
            ("POST", "{id}/votes", {"agenda_index": 0, "yes": 1, "no": 0, "abstain": 0}, staff),
            ("GET", "{id}/resolutions", None, staff),
            ("POST", "{id}/speeches", {"speaker_id": "d1", "summary": "发言"}, staff),
            ("POST", "{id}/adjourn", {}, staff),
            ("POST", "{id}/review-opinions", {"agenda_index": 0, "to_unit_id": "u1", "content": "x"}, staff),
            ("GET", "review-opinions/{id}", None, staff),
            ("POST", "review-opinions/{id}/feedback", {"content": "x"}, unit),
            ("GET", "joint-inspections/{id}", None, staff),
            ("POST", "joint-inspections/{id}/findings", {"township": w.town, "description": "x"}, staff),
        ]
        for odd in ODD_IDS:
            for method, path, body, who in paths:
                url = f"{M}/{path.format(id=quote(odd, safe=''))}"
                r = await w.system.client.request(method, url, json=body, headers=who)
                assert r.status_code == 404, (method, url, r.status_code, r.text)
                assert r.json()["error"]["code"] == "not_found"


async def test_dates_outside_1949_to_50_years_ahead_are_refused_and_lists_keep_working(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str
) -> None:
    async with make_world(nc, settings_for(nats_server.url, database_url)) as w:
        await w.seed.deputies(w.town, 2)
        staff = w.staff()
        for field, value in (
            ("starts_at", "0013-10-22T09:00:00+08:00"),
            ("starts_at", "1948-12-31T23:00:00+08:00"),
            ("ends_at", "2205-03-01T09:00:00+08:00"),
            ("starts_at", 0),
            ("starts_at", False),
        ):
            r = await w.post(M, schedule_body("inspection", w.town, title="视察", **{field: value}), staff)
            assert r.status_code == 422, (field, value, r.text)
            assert r.json()["error"]["details"]["field"] == field, r.text
        ok = await w.post(M, schedule_body("inspection", w.town, title="视察"), staff)
        assert ok.status_code == 201, ok.text
        mid = ok.json()["meeting_id"]
        r = await w.send("PATCH", f"{M}/{mid}", {"starts_at": "0013-10-22"}, staff)
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "starts_at", r.text
        r = await w.post(f"{M}/{mid}/votes", {"agenda_index": 0, "yes": True, "no": 0, "abstain": 0}, staff)
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "yes", r.text
        launch = {"county": w.county, "theme": "检查", "window_start": "2024-05-01", "townships": [w.town]}
        r = await w.post(f"{M}/joint-inspections", {**launch, "window_end": "0013-05-31"}, w.county_staff)
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "window_end", r.text

        # every list and compliance query of the county and the city still answers
        for who, params in ((staff, {"body": w.town}), (w.county_staff, {"body": w.county})):
            listed = await w.get(M, who, after=ok, params=params)
            assert listed.status_code == 200 and [m["meeting_id"] for m in listed.json()["items"]] == [mid]
        city = w.system.auth("city_staff", w.city)
        for params in ({"under": w.county, "year": 2024}, {"under": w.city, "year": 2024}):
            assert (await w.get(f"{M}/compliance", city, params=params)).status_code == 200
        bad = await w.get(f"{M}/compliance", city, params={"under": w.county, "year": 2024, "as_of": "0013-01-01"})
        assert bad.status_code == 422, bad.text


async def test_every_time_answered_carries_the_offset_and_bare_dates_are_local_days(
    nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str
) -> None:
    async with make_world(nc, settings_for(nats_server.url, database_url)) as w:
        people = await w.seed.deputies(w.town, 3)
        unit = await w.seed.unit(w.town, "镇水务站")
        staff = w.staff()
        # given in UTC and as a bare date: answered in +08:00, the same instants
        r = await w.post(
            M,
            schedule_body(
                "inspection",
                w.town,
                title="视察饮水工程",
                starts_at="2024-03-05T00:30:00Z",
                ends_at="2024-03-06",
                invitee_ids=people,
                agenda=[{"title": "饮水安全"}],
            ),
            staff,
        )
        assert r.status_code == 201, r.text
        mid = r.json()["meeting_id"]
        detail = (await w.get(f"{M}/{mid}", staff)).json()
        assert (detail["starts_at"], detail["ends_at"]) == ("2024-03-05T08:30:00+08:00", "2024-03-06T00:00:00+08:00")
        await w.post(f"{M}/{mid}/attendance", {"present": people}, staff)
        assert (await w.post(f"{M}/{mid}/convene", {}, staff)).status_code == 200
        adjourned = await w.post(f"{M}/{mid}/adjourn", {"minutes": "检查结束"}, staff)
        minutes = adjourned.json()["minutes"]
        assert minutes["starts_at"] == "2024-03-05T08:30:00+08:00" and minutes["ends_at"] == "2024-03-06T00:00:00+08:00"
        assert local(minutes["convened_at"]) and local(minutes["adjourned_at"])
        detail = (await w.get(f"{M}/{mid}", staff)).json()
        assert local(detail["convened_at"]) and local(detail["adjourned_at"]) and detail["minutes"] == minutes

        sent = await w.post(
            f"{M}/{mid}/review-opinions", {"agenda_index": 0, "to_unit_id": unit, "content": "加快改造"}, staff
        )
        assert sent.status_code == 201 and local(sent.json()["due_at"]), sent.text
        [row] = (await w.get(M, staff, after=sent, params={"body": w.town})).json()["items"]
        assert row["starts_at"] == "2024-03-05T08:30:00+08:00" and row["ends_at"] == "2024-03-06T00:00:00+08:00"
        assert local(row["convened_at"]) and local(row["adjourned_at"])
        [opinion] = (await w.get(f"{M}/review-opinions", staff, after=sent)).json()["items"]
        assert all(local(opinion[k]) for k in ("sent_at", "due_at"))
        assert datetime.fromisoformat(opinion["due_at"]) == datetime.fromisoformat(sent.json()["due_at"])

        # a joint inspection's window: whole local days, the end a deadline (end of that day)
        launched = await w.post(
            f"{M}/joint-inspections",
            {
                "county": w.county,
                "theme": "农村人居环境",
                "window_start": "2024-05-01",
                "window_end": "2024-05-31",
                "townships": [w.town],
            },
            w.county_staff,
        )
        assert launched.status_code == 201, launched.text
        jid = launched.json()["joint_inspection_id"]
        [linked] = launched.json()["inspections"]
        inspection = (await w.get(f"{M}/{linked['meeting_id']}", staff)).json()
        assert (inspection["starts_at"], inspection["ends_at"]) == (
            "2024-05-01T00:00:00+08:00",
            "2024-06-01T00:00:00+08:00",
        )
        found = await w.post(
            f"{M}/joint-inspections/{jid}/findings",
            {"township": w.town, "description": "垃圾清运不及时", "deputy_ids": people[:1]},
            staff,
        )
        assert found.status_code == 201, found.text
        progress = (await w.get(f"{M}/joint-inspections/{jid}", w.county_staff, after=found)).json()
        assert (progress["window_start"], progress["window_end"]) == ("2024-05-01", "2024-05-31")
        assert local(progress["launched_at"]) and local(progress["townships"][0]["finding_items"][0]["recorded_at"])
        [listed] = (await w.get(f"{M}/joint-inspections", w.county_staff, after=found)).json()["items"]
        assert local(listed["launched_at"])
