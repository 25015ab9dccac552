"""Chat bots through Apprise (digests under the bots' rate limit), the staff's daily digest, and the
outbox in /readyz and /metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from email.header import decode_header, make_header
from typing import Any
from zoneinfo import ZoneInfo

from services.notify.channels import Mailer
from services.notify.config import NotifySettings
from services.notify.consumer import next_digest
from tests.notify import world
from tests.notify.support import Feeder, Mailbox, SmsGateway, notify_service
from tests.support.waiting import eventually


async def test_bots_get_one_digest_for_what_waited_and_readyz_shows_the_outbox(
    js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any
) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    bot = SmsGateway()  # any HTTP endpoint: Apprise's json:// posts {"title", "message", …} to it
    sids = [await world.suggestion(feed, c, f"建议{i}") for i in range(5)]
    for sid in sids:  # written before the service starts: they wait together
        await world.overdue(feed, c, sid)
    settings = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}")
    ns = NotifySettings(notify_poll=0.05, notify_urls=f"json://127.0.0.1:{bot.port}/sms", notify_bot_rate=1)
    async with bot.running(), notify_service(settings, ns) as svc:

        async def digested() -> None:
            assert len(bot.received) == 1

        await eventually(digested, timeout=30)
        [message] = bot.received
        assert message["title"] == "5 条新通知" and message["message"].count("/suggestions/") == 5
        staff = svc.auth("county_staff", c.county)

        async def recorded() -> None:
            r = await svc.client.get("/api/notify/outbox", params={"under": c.town, "state": "sent"}, headers=staff)
            bots = [i for i in r.json()["items"] if i["channel"] == "bot"]
            assert len(bots) == 5 and all(i["recipient"].startswith("bot:") for i in bots)
            assert all("json://" not in i["to"] for i in bots)  # a bot's URL carries its key: never shown

        await eventually(recorded)
        r = await svc.client.get("/api/notify/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["projections"]["notify-outbox"] == {"running": True, "lag": {"pending": 0, "failed": 0}}
        metrics = (await svc.client.get("/api/notify/metrics")).text
        assert 'renda_notify_deliveries_total{channel="bot",outcome="sent"}' in metrics


async def test_staff_mail_waits_for_the_daily_digest_hour(
    js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any
) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    with Mailbox() as mail:
        settings = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}", smtp_url=mail.url)
        ns = NotifySettings(notify_poll=0.05, notify_digest="daily", notify_digest_hour=8)
        async with notify_service(settings, ns) as svc:
            sid = await world.suggestion(feed, c)
            await world.overdue(feed, c, sid)

            async def unit_mailed() -> None:
                assert len(mail.to(c.unit_mail)) == 1  # units still hear at once

            await eventually(unit_mailed)
            r = await svc.client.get(
                "/api/notify/outbox", params={"state": "pending"}, headers=svc.auth("township_staff", c.town)
            )
            [waiting] = [i for i in r.json()["items"] if i["channel"] == "email"]
            assert waiting["recipient"].startswith("user:staff") and "T08:00:00+08:00" in waiting["next_attempt_at"]
            assert mail.to(c.staff_mail) == []
    tz = ZoneInfo("Asia/Shanghai")
    assert next_digest(datetime(2030, 1, 1, 23, 0, tzinfo=UTC), tz, 8) == datetime(2030, 1, 2, 0, 0, tzinfo=UTC)
    assert next_digest(datetime(2030, 1, 1, 1, 0, tzinfo=UTC), tz, 8) == datetime(2030, 1, 2, 0, 0, tzinfo=UTC)


async def test_a_mail_reads_back_with_its_chinese_subject_body_and_notification_id() -> None:
    title = "【逾期】关于修缮青山村道路、整治河道、新建村级文化活动中心和增设公交站点的建议（镇财政所）"
    body = "代表建议《关于修缮青山村道路的建议》的答复期限已过。\n详情：http://127.0.0.1:8000/suggestions/s1"
    with Mailbox() as box:
        mailer = Mailer(box.url, "renda@localhost")
        await mailer.send("unit@example.cn", mailer.message("unit@example.cn", title, body, "n-1"))
        await mailer.send(
            "staff@example.cn", mailer.message("staff@example.cn", "Overdue\r\nBcc: x@evil.cn", body, "n-2")
        )
        await mailer.close()

        async def arrived() -> None:
            assert len(box.mails) == 2

        await eventually(arrived)
    [mail] = box.to("unit@example.cn")
    assert str(make_header(decode_header(mail["Subject"]))) == title
    assert mail.get_payload(decode=True).decode() == body
    assert mail["Message-ID"] == "<n-1@renda>" and mail.get_content_type() == "text/plain"
    [injected] = box.to("staff@example.cn")
    assert injected["Bcc"] is None  # a line break in a title starts no header of its own
    assert str(make_header(decode_header(injected["Subject"]))) == "Overdue\r\nBcc: x@evil.cn"
