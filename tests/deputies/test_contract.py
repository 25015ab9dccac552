"""The deputies' contract items a client written to the contract relies on: times with the zone's
offset, dates in 1949 … today + 50 years and of a date's JSON type, strict counts, the clerk's
form of the term, one termination per deputy, the presidium's duplicates."""

from __future__ import annotations

from datetime import datetime

from libs.runtime.nats_server import EmbeddedNats
from tests.deputies.places import after, deputy_body, fresh_tree, register
from tests.support.system import running_system


def field_of(r) -> str:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    return r.json()["error"]["details"]["field"]  # type: ignore[no-any-return]


async def test_times_dates_counts_and_terms_as_the_contract_says(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    tree = await fresh_tree(nc)
    async with running_system(settings_for(nats_server.url, database_url)) as system:
        c = system.client
        clerk = system.auth("township_staff", tree.township)

        # the term as the clerk writes it, or the integer
        r = await c.post("/api/deputies", json=deputy_body(tree.township, "甲", term="第十九届"), headers=clerk)
        assert r.status_code == 201 and r.json()["term"] == 19, r.text
        deputy_id, pos = r.json()["deputy_id"], r.headers["renda-position"]
        for bad in ("第X届", "第一百届", True, 0):
            assert (
                field_of(await c.post("/api/deputies", json=deputy_body(tree.township, "乙", term=bad), headers=clerk))
                == "term"
            )

        # every time answered carries the +08:00 offset, and names the same instant everywhere
        posted = r.json()["registered_at"]
        assert posted.endswith("+08:00"), posted
        read = await c.get(f"/api/deputies/{deputy_id}", headers=after(clerk, pos))
        listed = await c.get("/api/deputies", params={"township": tree.township}, headers=after(clerk, pos))
        for answered in (read.json()["registered_at"], listed.json()["items"][0]["registered_at"]):
            assert answered.endswith("+08:00") and datetime.fromisoformat(answered) == datetime.fromisoformat(posted)
        station = await c.post(
            "/api/deputies/stations", json={"township": tree.township, "name": "代表之家"}, headers=clerk
        )
        assert station.status_code == 201, station.text
        got = await c.get(
            f"/api/deputies/stations/{station.json()['station_id']}",
            headers=after(clerk, station.headers["renda-position"]),
        )
        assert got.json()["registered_at"].endswith("+08:00"), got.text

        # dates: a date's JSON type, years 1949 … today + 50
        for bad in (0, False, "0013-10-22", "1900-01-01", "2200-01-01", "2025-13-01"):
            assert (
                field_of(
                    await c.post("/api/deputies", json=deputy_body(tree.township, "丙", elected_on=bad), headers=clerk)
                )
                == "elected_on"
            )
            assert (
                field_of(
                    await c.post(
                        f"/api/deputies/{deputy_id}/terminate",
                        json={"reason": "moved", "effective_on": bad},
                        headers=clerk,
                    )
                )
                == "effective_on"
            )
            assert (
                field_of(
                    await c.post(
                        f"/api/deputies/{deputy_id}/activities", json={"kind": "good_deed", "on": bad}, headers=clerk
                    )
                )
                == "on"
            )
            assert (
                field_of(
                    await c.post(f"/api/deputies/{deputy_id}/qualification", json={"confirmed_on": bad}, headers=clerk)
                )
                == "confirmed_on"
            )
        # dates in queries too
        for path in ("/api/deputies/inactive", "/api/deputies/reports", "/api/deputies/contacts"):
            params = {"township": tree.township, "as_of": "0013-01-01", "on": "0013-01-01", "term_start": "0013-01-01"}
            assert (await c.get(path, params=params, headers=clerk)).status_code == 422
        # counts are integers, not truth values
        for bad in (False, True, "3", 1.5):
            visit = {"kind": "constituent_visit", "on": "2025-03-01", "people_count": bad}
            assert (
                field_of(await c.post(f"/api/deputies/{deputy_id}/activities", json=visit, headers=clerk))
                == "people_count"
            )


async def test_a_deputy_is_terminated_once_unless_it_is_the_same_request_again(
    nats_server: EmbeddedNats, nc, settings_for, tmp_path
) -> None:
    tree = await fresh_tree(nc)
    async with running_system(settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 't.sqlite3'}")) as system:
        c = system.client
        clerk = system.auth("township_staff", tree.township)
        ids = [(await register(system, clerk, deputy_body(tree.township, f"代表{i}")))[0] for i in range(8)]
        body = {"reason": "resigned", "effective_on": "2025-06-30"}
        key = {**clerk, "Idempotency-Key": "terminate-" + ids[0]}
        first = await c.post(f"/api/deputies/{ids[0]}/terminate", json=body, headers=key)
        assert first.status_code == 200 and first.json()["status"] == "terminated", first.text
        retry = await c.post(f"/api/deputies/{ids[0]}/terminate", json=body, headers=key)
        assert retry.status_code == 200 and retry.json() == first.json()
        for again in (body, {"reason": "moved", "effective_on": "2025-07-01"}):
            twice = await c.post(f"/api/deputies/{ids[0]}/terminate", json=again, headers=clerk)
            assert twice.status_code == 409 and twice.json()["error"]["code"] == "invalid_transition", twice.text

        # the presidium: a deputy named twice is refused, not merged
        dup = await c.post(
            "/api/deputies/presidium",
            json={"township": tree.township, "member_ids": [*ids[1:8], ids[1]], "chair_id": ids[1]},
            headers=clerk,
        )
        assert field_of(dup) == "member_ids"
        assert dup.json()["error"]["code"] == "invalid_input"
