"""Delivery: a gateway that fails for a while, retries with the same notification id, the events on
RENDA_NOTIFY, the staff's outbox view, muting a channel, and a replay of the streams that sends nothing."""

from __future__ import annotations

import collections
from typing import Any

import orjson

from libs.db.engine import make_engine
from libs.events.projection import rebuild
from libs.events.projection.consumer import read_stream
from libs.events.subjects import jurisdiction_filter
from services.notify.config import NotifySettings
from services.notify.consumer import NotifyConsumer
from tests.notify import world
from tests.notify.support import Feeder, SmsGateway, notify_service
from tests.support.waiting import eventually


async def notify_events(nc: Any, code: str) -> list[dict[str, Any]]:
    out = []
    async for batch in read_stream(nc, "notify", subject_filter=jurisdiction_filter("notify", code)):
        out += [orjson.loads(d.data) for d in batch]
    return out


async def test_a_failing_gateway_gets_each_message_once_after_retries(
    js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any
) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    sms = SmsGateway(fail_first=6)  # 503 for the first six requests, then 200
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}"
    settings = settings_for(fresh_nats.url, url, sms_webhook_url=sms.url)
    ns = NotifySettings(notify_poll=0.05, notify_retry_base=0.05, notify_retry_max=0.3)
    async with sms.running(), notify_service(settings, ns) as svc:
        sids = [await world.suggestion(feed, c, f"建议{i}") for i in range(4)]
        for sid in sids:
            await world.overdue(feed, c, sid)  # the lead deputy's phone: one SMS each

        async def delivered() -> None:
            assert len(sms.to(c.lead_phone)) == len(sms.to(c.unit_phone)) == 4

        await eventually(delivered, timeout=30)
        ids = [b["notification_id"] for b in sms.received]
        assert len(ids) == len(set(ids)) == 8  # each once, although six requests were refused
        assert sms.refused == 6
        staff = svc.auth("county_staff", c.county)

        async def outbox() -> list[dict[str, Any]]:
            r = await svc.client.get("/api/notify/outbox", params={"under": c.town}, headers=staff)
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            assert {i["state"] for i in items} == {"sent"} and len(items) == 4 + 4  # + the unit's phone
            return items  # type: ignore[no-any-return]

        items = await eventually(outbox)
        assert sum(i["attempts"] for i in items) == 8 + 6  # every refusal was an attempt
        assert all(i["to"].startswith(("139", "138")) and "****" in i["to"] for i in items)
        assert set(ids) == {i["id"] for i in items}
        # a township's staff see nothing of a wider place's outbox (an empty list, as every list); a deputy none
        r = await svc.client.get(
            "/api/notify/outbox", params={"under": c.county}, headers=svc.auth("township_staff", c.town)
        )
        assert (r.status_code, r.json()["items"]) == (200, [])
        r = await svc.client.get("/api/notify/outbox", headers=svc.auth("deputy", c.town, deputy_id=c.lead))
        assert r.status_code == 403

        async def reported() -> None:
            events = await notify_events(js, c.town)
            sent = collections.Counter(e["data"]["notification_id"] for e in events if e["type"] == "NotificationSent")
            assert set(sent) == {i["id"] for i in items} and set(sent.values()) == {1}

        await eventually(reported, timeout=30)

    # A replay of the streams (the consumer rebuilt from zero, the service restarted) sends nothing.
    engine = make_engine(url)
    try:
        await rebuild(js, engine, NotifyConsumer(settings.tz, ns, smtp=False, sms=True))
    finally:
        await engine.dispose()
    before = len(sms.received)
    async with sms.running(), notify_service(settings, ns) as svc:
        sid = await world.suggestion(feed, c, "重放之后的新建议")
        await world.overdue(feed, c, sid)

        async def only_the_new_one() -> None:
            assert len(sms.to(c.lead_phone)) == 5

        await eventually(only_the_new_one, timeout=30)
        assert len(sms.received) == before + 2  # the deputy's and the unit's phone, for the new event only


async def test_a_muted_channel_is_not_used_and_the_inbox_is_read(
    js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any
) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    sms = SmsGateway()
    settings = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}", sms_webhook_url=sms.url)
    async with sms.running(), notify_service(settings) as svc:
        lead = svc.auth("deputy", c.town, deputy_id=c.lead, subject="wang")
        r = await svc.client.put("/api/notify/preferences", json={"muted": ["sms"]}, headers=lead)
        assert r.status_code == 200 and r.json() == {"muted": ["sms"]}
        r = await svc.client.put("/api/notify/preferences", json={"muted": ["pigeon"]}, headers=lead)
        assert r.status_code == 422
        sid = await world.suggestion(feed, c)
        await world.overdue(feed, c, sid)

        async def unit_texted() -> None:
            assert len(sms.to(c.unit_phone)) == 1

        await eventually(unit_texted)
        [item] = await eventually(lambda: _one(svc, lead))
        assert sms.to(c.lead_phone) == []  # muted; the inbox item is there all the same
        r = await svc.client.get("/api/notify/unread-count", headers=lead)
        assert r.json() == {"unread": 1}
        r = await svc.client.post(f"/api/notify/inbox/{item['id']}/read", headers=lead)
        assert r.status_code == 200 and r.json()["read_at"].endswith("+08:00")
        assert await svc.inbox(lead, unread="true") == []
        assert (await svc.client.get("/api/notify/unread-count", headers=lead)).json() == {"unread": 0}
        other = svc.auth("deputy", c.town, deputy_id=c.co)
        r = await svc.client.post(f"/api/notify/inbox/{item['id']}/read", headers=other)
        assert r.status_code in (200, 404)
        assert r.status_code == 404  # another deputy's item is not theirs to see


async def _one(svc: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    items = await svc.inbox(headers)
    assert len(items) == 1
    return items  # type: ignore[no-any-return]
