"""Who hears of what: every kind of the contract's list, with its recipients named, in the inbox and by SMS/e-mail."""

from __future__ import annotations

from typing import Any

from services.deputies.events import UserCreated
from services.notify.config import NotifySettings
from services.suggestions.events import OrganizerUnitRegistered
from tests.notify import world
from tests.notify.support import Feeder, Mailbox, SmsGateway, notify_service
from tests.support.waiting import eventually

# kind → the addressees (as a token addresses them) that must receive it, nobody else of the cast
EXPECTED = {
    "assigned": {"unit", "co_unit"},
    "reminder": {"unit"},
    "overdue": {"unit", "staff", "lead", "co"},
    "replied": {"lead"},
    "unsatisfied": {"staff", "unit"},
    "meeting_scheduled": {"lead", "co"},
    "meeting_changed": {"lead", "co"},  # the co-submitter hears that they were taken off the list
    "joint_inspection_launched": {"staff"},
    "review_opinion_overdue": {"unit", "staff"},
    "promise_overdue": {"unit", "staff", "lead"},
}


async def test_each_kind_reaches_exactly_its_recipients(
    js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any
) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    sms = SmsGateway()
    with Mailbox() as mail:
        settings = settings_for(
            fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'n.sqlite3'}", smtp_url=mail.url, sms_webhook_url=sms.url
        )
        async with sms.running(), notify_service(settings, NotifySettings(notify_poll=0.05)) as svc:
            sid = await world.suggestion(feed, c)
            sources = {
                "assigned": await world.assigned(feed, c, sid),
                "reminder": await world.reminder(feed, c, sid),
                "overdue": await world.overdue(feed, c, sid),
                "replied": await world.replied(feed, c, sid),
                "unsatisfied": await world.unsatisfied(feed, c, sid),
                "promise_overdue": await world.promise_overdue(feed, c, sid),
            }
            mid, sources["meeting_scheduled"], sources["meeting_changed"] = await world.meeting(feed, c)
            sources["joint_inspection_launched"] = await world.joint_inspection(feed, c, mid)
            sources["review_opinion_overdue"] = await world.review_opinion_overdue(feed, c, mid)
            tokens = {
                "unit": svc.auth("organizer", c.town, unit_id=c.unit),
                "co_unit": svc.auth("organizer", c.town, unit_id=c.co_unit),
                "lead": svc.auth("deputy", c.town, deputy_id=c.lead),
                "co": svc.auth("deputy", c.town, deputy_id=c.co),
                "staff": svc.auth("township_staff", c.town),
            }

            async def inboxes() -> dict[str, dict[str, dict[str, Any]]]:
                got = {who: {i["kind"]: i for i in await svc.inbox(h, limit=100)} for who, h in tokens.items()}
                for kind, who in EXPECTED.items():
                    holders = {w for w, items in got.items() if kind in items}
                    assert holders == who, f"{kind}: reached {sorted(holders)}, expected {sorted(who)}"
                return got

            got = await eventually(inboxes)
            for kind, who in EXPECTED.items():
                for w in who:
                    item = got[w][kind]
                    assert item["source_event_id"] == sources[kind]
                    assert item["created_at"].endswith("+08:00") and item["read_at"] is None
                    assert set(item) == {
                        "id",
                        "kind",
                        "title",
                        "body",
                        "link",
                        "source_event_id",
                        "created_at",
                        "read_at",
                    }
            assigned = got["unit"]["assigned"]
            assert "关于修缮青山村道路的建议" in assigned["title"] and "镇财政所" in assigned["body"]
            assert "（UTC+08:00）" in assigned["body"] and assigned["link"] == f"/suggestions/{sid}"
            assert "协办" in got["co_unit"]["assigned"]["body"]
            assert got["lead"]["meeting_scheduled"]["link"] == f"/meetings/{mid}"
            assert "无需参加" in got["co"]["meeting_changed"]["body"]
            # a staff token of the county does not open the township's inbox (exactly that code)
            assert await svc.inbox(svc.auth("county_staff", c.county)) == []

            # the lead deputy's phone (DeputyRegistered.phone) gets an SMS for each of their kinds
            lead_kinds = {k for k, who in EXPECTED.items() if "lead" in who}

            async def texts() -> None:
                assert sorted(b["template"] for b in sms.to(c.lead_phone)) == sorted(lead_kinds)

            await eventually(texts)
            body = next(b for b in sms.to(c.lead_phone) if b["template"] == "replied")
            assert set(body) == {"to", "template", "params", "text", "notification_id"}
            assert body["params"]["suggestion"] == "关于修缮青山村道路的建议" and "请登录系统" in body["text"]
            if "email" in UserCreated.model_fields:  # `renda users add --email` (the deputies' user events)
                staff_kinds = {k for k, who in EXPECTED.items() if "staff" in who}

                async def staff_mails() -> None:
                    assert len(mail.to(c.staff_mail)) == len(staff_kinds)

                await eventually(staff_mails)
            if "email" in OrganizerUnitRegistered.model_fields:
                unit_kinds = {k for k, who in EXPECTED.items() if "unit" in who}

                async def unit_mails() -> None:
                    assert len(mail.to(c.unit_mail)) == len(unit_kinds)
                    assert len(sms.to(c.unit_phone)) == len(unit_kinds)

                await eventually(unit_mails)
