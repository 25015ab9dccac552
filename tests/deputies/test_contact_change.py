"""A deputy's phone (and sector) can change after registration: ``PATCH /api/deputies/{id}`` →
``DeputyContactChanged`` with only what changed; the registry shows the new phone."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from libs.domain.errors import InvalidInput, InvalidTransition
from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from services.deputies.domain.contact_details import ChangeContact, decide_change_contact
from services.deputies.domain.deputy import DEPUTY, Deputy, evolve
from services.deputies.domain.errors import DeputyNotRegistered
from services.deputies.events import DeputyContactChanged, DeputyRegistered, DeputyTerminated
from tests.deputies.places import after, deputy_body, fresh_tree, register
from tests.support.system import running_system
from tests.support.waiting import eventually

TOWN = "340403100"
REGISTERED = DeputyRegistered(
    deputy_id="d1",
    name="王秀英",
    gender="female",
    level="township",
    congress=TOWN,
    township=TOWN,
    constituency="第三选区",
    term=18,
    sector="农民",
    phone="13905540000",
)


def given(*events: Any) -> Deputy:
    return DEPUTY.replay("d1", [REGISTERED, *events])


# -- the decision ---------------------------------------------------------------------------------
def test_a_new_phone_is_recorded_alone_and_folded() -> None:
    [e] = decide_change_contact(given(), ChangeContact("d1", phone=" 13800001111 ", sector="农民"))
    assert isinstance(e, DeputyContactChanged)
    assert (e.phone, e.sector, e.township, e.level, e.congress) == ("13800001111", None, TOWN, "township", TOWN)
    assert "13800001111" not in repr(e)  # personal data: never in a log line
    after_change = evolve(given(), e)
    assert (after_change.phone, after_change.sector) == ("13800001111", "农民")


def test_a_sector_change_keeps_the_phone() -> None:
    [e] = decide_change_contact(given(), ChangeContact("d1", sector="工人"))
    assert isinstance(e, DeputyContactChanged) and (e.phone, e.sector) == (None, "工人")
    assert (evolve(given(), e).phone, evolve(given(), e).sector) == ("13905540000", "工人")


def test_the_same_details_again_change_nothing() -> None:
    assert decide_change_contact(given(), ChangeContact("d1", phone="13905540000", sector=" 农民 ")) == []
    [e] = decide_change_contact(given(), ChangeContact("d1", phone="13800001111"))
    assert decide_change_contact(given(e), ChangeContact("d1", phone="13800001111")) == []


def test_the_phone_is_checked_as_at_registration() -> None:
    for bad in ("abc", "12", "1380000111x"):
        with pytest.raises(InvalidInput) as refused:
            decide_change_contact(given(), ChangeContact("d1", phone=bad))
        assert refused.value.field == "phone"
    for nothing in (ChangeContact("d1"), ChangeContact("d1", phone="  ")):
        with pytest.raises(InvalidInput):
            decide_change_contact(given(), nothing)


def test_a_terminated_or_unknown_deputy_cannot_change() -> None:
    ended = DeputyTerminated(
        deputy_id="d1",
        reason="moved",
        effective_on=date(2025, 6, 30),
        level="township",
        congress=TOWN,
        township=TOWN,
    )
    with pytest.raises(InvalidTransition) as refused:
        decide_change_contact(given(ended), ChangeContact("d1", phone="13800001111"))
    assert refused.value.code == "invalid_transition"
    with pytest.raises(DeputyNotRegistered):
        decide_change_contact(Deputy(id="d2"), ChangeContact("d2", phone="13800001111"))


# -- over HTTP ------------------------------------------------------------------------------------
async def changes(nc: NATS, deputy_id: str) -> list[DeputyContactChanged]:
    envs = await EventStore(nc).read(DEPUTY, deputy_id)
    return [e.data for e in envs if isinstance(e.data, DeputyContactChanged)]


async def test_staff_change_a_deputys_phone(
    nats_server: EmbeddedNats, nc: NATS, settings_for: Any, database_url: str
) -> None:
    tree = await fresh_tree(nc)
    async with running_system(settings_for(nats_server.url, database_url)) as system:
        c = system.client
        clerk = system.auth("township_staff", tree.township)
        did, _ = await register(system, clerk, deputy_body(tree.township, "王代表", phone="13800000001"))

        r = await c.patch(f"/api/deputies/{did}", json={"phone": "13900000002"}, headers=clerk)
        assert r.status_code == 200, r.text
        assert r.json()["phone"] == "13900000002" and r.json()["sector"] == "农民"
        assert r.json()["status"] == "active"

        async def shown() -> None:
            one = await c.get(f"/api/deputies/{did}", headers=after(clerk, r.headers["renda-position"]))
            assert one.status_code == 200, one.text
            assert (one.json()["phone"], one.json()["sector"]) == ("13900000002", "农民")
            listed = await c.get("/api/deputies", params={"township": tree.township}, headers=clerk)
            assert [d["phone"] for d in listed.json()["items"] if d["deputy_id"] == did] == ["13900000002"]

        await eventually(shown)

        # the same phone again: answered, nothing recorded; the sector alone: only the sector
        same = await c.patch(f"/api/deputies/{did}", json={"phone": "13900000002"}, headers=clerk)
        assert same.status_code == 200, same.text
        county = system.auth("county_staff", tree.county)
        sector = await c.patch(f"/api/deputies/{did}", json={"sector": "工人"}, headers=county)
        assert sector.status_code == 200 and sector.json()["sector"] == "工人", sector.text
        assert [(e.phone, e.sector) for e in await changes(nc, did)] == [("13900000002", None), (None, "工人")]

        # the same Idempotency-Key with the same body records once
        key = {"Idempotency-Key": f"phone-{did}", **clerk}
        first = await c.patch(f"/api/deputies/{did}", json={"phone": "13700000003"}, headers=key)
        assert first.status_code == 200, first.text

        async def replayed() -> None:
            second = await c.patch(f"/api/deputies/{did}", json={"phone": "13700000003"}, headers=key)
            assert second.status_code == 200, second.text
            assert second.json() == first.json()

        await eventually(replayed)
        assert len(await changes(nc, did)) == 3

        # invalid input names the field
        bad = await c.patch(f"/api/deputies/{did}", json={"phone": "电话"}, headers=clerk)
        assert bad.status_code == 422 and bad.json()["error"]["details"]["field"] == "phone", bad.text
        empty = await c.patch(f"/api/deputies/{did}", json={}, headers=clerk)
        assert empty.status_code == 422, empty.text
        extra = await c.patch(f"/api/deputies/{did}", json={"name": "改名"}, headers=clerk)
        assert extra.status_code == 422, extra.text

        # a terminated deputy's contact is no longer changed
        t = await c.post(
            f"/api/deputies/{did}/terminate", json={"reason": "moved", "effective_on": "2025-06-30"}, headers=clerk
        )
        assert t.status_code == 200, t.text
        late = await c.patch(f"/api/deputies/{did}", json={"phone": "13600000004"}, headers=clerk)
        assert late.status_code == 409 and late.json()["error"]["code"] == "invalid_transition", late.text
        assert "终止" in late.json()["error"]["message"]
        assert len(await changes(nc, did)) == 3


async def test_only_staff_of_the_deputys_jurisdiction_change_it(
    nats_server: EmbeddedNats, nc: NATS, settings_for: Any, tmp_path: Any
) -> None:
    tree = await fresh_tree(nc)
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}")
    async with running_system(settings) as system:
        c = system.client
        clerk = system.auth("township_staff", tree.township)
        did, _ = await register(system, clerk, deputy_body(tree.township, "李代表", phone="13800000011"))
        body = {"phone": "13900000012"}

        neighbour = system.auth("township_staff", tree.other)
        foreign = await c.patch(f"/api/deputies/{did}", json=body, headers=neighbour)
        unknown = await c.patch("/api/deputies/no-such-deputy", json=body, headers=neighbour)
        odd = await c.patch("/api/deputies/no.such.deputy", json=body, headers=clerk)
        assert foreign.status_code == unknown.status_code == odd.status_code == 404
        assert foreign.json() == unknown.json()  # nothing says the foreign deputy exists

        for role, ids in (("deputy", {"deputy_id": did}), ("organizer", {"unit_id": "u1"})):
            r = await c.patch(f"/api/deputies/{did}", json=body, headers=system.auth(role, tree.township, **ids))
            assert r.status_code == 403, (role, r.text)
        assert (await c.patch(f"/api/deputies/{did}", json=body)).status_code == 401
        assert await changes(nc, did) == []
