"""A notice read before its recipients' records: the consumer reads the deputies' stream and the
suggestions' stream concurrently (two instances on one database make it likelier), so an overdue
may be planned before the deputies it names are known. The deliveries wait for the records; a
recipient with a phone on file gets its SMS, one without gets none (no row), as if read in order."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from libs.db.engine import make_engine
from services.notify.config import NotifySettings
from services.notify.tables import outbox
from tests.notify import world
from tests.notify.support import Feeder, SmsGateway, notify_service
from tests.support.waiting import eventually


async def rows_of(url: str, town: str) -> dict[str, tuple[str, str]]:
    """recipient → (state, address) of the town's SMS deliveries."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            q = select(outbox.c.recipient, outbox.c.state, outbox.c.address)
            q = q.where(outbox.c.jurisdiction == town, outbox.c.channel == "sms")
            return {r: (s, a) for r, s, a in (await conn.execute(q)).all()}
    finally:
        await engine.dispose()


async def test_recipients_known_after_the_notice(js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any) -> None:
    feed = Feeder(js)
    _city, _county, town = await feed.county()
    unit_phone, lead_phone = f"138{uuid.uuid4().int % 10**8:08d}", f"139{uuid.uuid4().int % 10**8:08d}"
    unit = await feed.unit(town, "镇财政所", phone=unit_phone)
    lead, co = f"d{uuid.uuid4().hex[:12]}", f"d{uuid.uuid4().hex[:12]}"  # not registered yet
    c = world.Cast("", "", town, lead, co, unit, "", "", lead_phone, "", unit_phone)
    sms = SmsGateway()
    url = f"sqlite+aiosqlite:///{tmp_path / 'late.sqlite3'}"
    settings = settings_for(fresh_nats.url, url, sms_webhook_url=sms.url)
    async with sms.running(), notify_service(settings, NotifySettings(notify_poll=0.05)):
        await world.overdue(feed, c, await world.suggestion(feed, c))

        async def planned_unresolved() -> None:
            got = await rows_of(url, town)
            assert got[f"deputy:{lead}"] == ("pending", "") and got[f"deputy:{co}"] == ("pending", ""), got
            assert got[f"unit:{unit}"][0] == "sent", got

        await eventually(planned_unresolved, timeout=30)
        for did, name, phone in ((lead, "王代表", lead_phone), (co, "李代表", None)):
            await feed.deputy(town, name, phone, deputy_id=did)

        async def resolved() -> None:
            got = await rows_of(url, town)
            assert got == {f"unit:{unit}": ("sent", unit_phone), f"deputy:{lead}": ("sent", lead_phone)}, got

        await eventually(resolved, timeout=30)
    assert len(sms.to(lead_phone)) == 1 and len(sms.to(unit_phone)) == 1
    assert len(sms.received) == 2
