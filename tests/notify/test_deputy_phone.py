"""A deputy's phone changes (``DeputyContactChanged``, as the deputies context decides it): the SMS
of a later notice go to the new number, the old one hears nothing more; a deputy registered without
a phone is reached once a phone is given."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from libs.db.engine import make_engine
from services.deputies.domain.contact_details import ChangeContact, decide_change_contact
from services.deputies.domain.deputy import DEPUTY
from services.notify.config import NotifySettings
from services.notify.tables import deputies
from tests.notify import world
from tests.notify.support import Feeder, SmsGateway, notify_service
from tests.support.waiting import eventually


async def change_phone(feed: Feeder, c: world.Cast, deputy_id: str, phone: str) -> None:
    """The deputies context's own decision on the deputy's stream, appended as it would append it."""
    loaded = await feed.store.load(DEPUTY, deputy_id, jurisdiction=c.town)
    events = decide_change_contact(loaded.state, ChangeContact(deputy_id, phone=phone))
    assert len(events) == 1
    await feed.append("deputies", "deputy", deputy_id, c.town, *events)


async def phones(url: str, *ids: str) -> dict[str, str | None]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            q = select(deputies.c.deputy_id, deputies.c.phone).where(deputies.c.deputy_id.in_(ids))
            return {d: p for d, p in (await conn.execute(q)).all()}
    finally:
        await engine.dispose()


async def test_sms_follow_a_deputys_new_phone(js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    sms = SmsGateway()
    url = f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}"
    settings = settings_for(fresh_nats.url, url, sms_webhook_url=sms.url)
    new_lead, new_co = "13712345678", "0554-6661234"
    async with sms.running(), notify_service(settings, NotifySettings(notify_poll=0.05)):
        await world.overdue(feed, c, await world.suggestion(feed, c, "关于修缮青山村道路的建议"))

        async def old_number_told() -> None:
            assert len(sms.to(c.lead_phone)) == 1

        await eventually(old_number_told, timeout=30)
        await change_phone(feed, c, c.lead, new_lead)
        await change_phone(feed, c, c.co, new_co)  # registered without a phone

        async def known() -> None:  # the deputies' stream is read beside the suggestions' one
            assert await phones(url, c.lead, c.co) == {c.lead: new_lead, c.co: new_co}

        await eventually(known, timeout=30)
        second = await world.suggestion(feed, c, "关于增设村口路灯的建议")
        await world.overdue(feed, c, second)

        async def new_numbers_told() -> None:
            assert len(sms.to(new_lead)) == 1 and len(sms.to(new_co)) == 1

        await eventually(new_numbers_told, timeout=30)
    assert len(sms.to(c.lead_phone)) == 1  # the old number heard only of the first
    [lead_sms] = sms.to(new_lead)
    assert lead_sms["template"] == "overdue" and "路灯" in str(lead_sms)
