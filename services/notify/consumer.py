"""The durable consumer: other contexts' events → inbox items and outbox deliveries, exactly once.

A projection (libs/events/projection.py): each batch's inbox rows, outbox rows and reference
updates are committed with its checkpoint in one transaction. Every row's key is derived from
the source event id (inbox: event + addressee; outbox: event + recipient + channel) and inserted
with ON CONFLICT DO NOTHING, so a redelivered batch, a second instance or a replay from zero
adds nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import AsyncConnection

import services.deputies.events  # the types decode
import services.meetings.events
import services.suggestions.events  # noqa: F401
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from services.notify import reference as ref
from services.notify.config import NotifySettings
from services.notify.notices import NOTICE_EVENTS, Item, plan
from services.notify.tables import (
    create_ledger,
    dialect_of,
    inbox,
    insert_ignore,
    ledger,
    outbox,
    preferences,
    reference,
)
from services.notify.templates import render

log = structlog.get_logger("notify.consumer")
NS = uuid.UUID("6b1c1f4e-3c55-4d0f-9f55-6e6f74696679")
CHANNELS = ("email", "sms", "bot")


def inbox_id(source_event_id: str, addressee: str) -> str:
    return str(uuid.uuid5(NS, f"inbox/{source_event_id}/{addressee}"))


def notification_id(source_event_id: str, recipient: str, channel: str) -> str:
    return str(uuid.uuid5(NS, f"{source_event_id}/{recipient}/{channel}"))


def bot_label(url: str) -> str:
    return uuid.uuid5(NS, url).hex[:12]


def next_digest(now: datetime, tz: ZoneInfo, hour: int) -> datetime:
    local = now.astimezone(tz)
    at = local.replace(hour=hour % 24, minute=0, second=0, microsecond=0)
    if at <= local:
        at += timedelta(days=1)
    return at.astimezone(UTC)


class NotifyConsumer(Projection):
    name: ClassVar[str] = "notify-consumer"
    contexts: ClassVar[tuple[str, ...]] = ("deputies", "suggestions", "meetings")
    metadata: ClassVar[MetaData] = reference
    kept: ClassVar[MetaData | None] = ledger  # never dropped by a rebuild: the outbox keys stop a resend
    handles = tuple(dict.fromkeys((*ref.HANDLES, *NOTICE_EVENTS)))
    version: ClassVar[int] = 1

    def __init__(self, tz: ZoneInfo, ns: NotifySettings, *, smtp: bool, sms: bool) -> None:
        self.tz = tz
        self.ns = ns
        self.smtp = smtp
        self.sms = sms
        self.bots = [bot_label(u) for u in ns.bot_urls]
        self.wakers: list[asyncio.Event] = []  # set after a batch wrote deliveries: the senders look at once
        self._ledger_ready = False

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        await self.apply_many([env], tx)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        if not self._ledger_ready:
            await create_ledger(tx)
            self._ledger_ready = True
        now = datetime.now(UTC)
        oldest = now - timedelta(seconds=self.ns.notify_max_age_seconds) if self.ns.notify_max_age_seconds else None
        boxes: list[dict[str, Any]] = []
        deliveries: list[dict[str, Any]] = []
        ref.memoise(tx)
        try:
            await self._plan_all(envs, tx, now, oldest, boxes, deliveries)
            await ref.flush(tx)
        finally:
            ref.release(tx)
        if boxes:
            await tx.execute(insert_ignore(inbox, dialect_of(tx)), boxes)
        if deliveries:
            await tx.execute(insert_ignore(outbox, dialect_of(tx)), deliveries)
            for w in self.wakers:
                w.set()

    async def _plan_all(
        self,
        envs: list[Envelope],
        tx: AsyncConnection,
        now: datetime,
        oldest: datetime | None,
        boxes: list[dict[str, Any]],
        deliveries: list[dict[str, Any]],
    ) -> None:
        muted: dict[str, set[str]] | None = None
        for env in envs:
            ref.forget(tx, env)
            await ref.remember(env, tx)
            if env.type not in NOTICE_EVENTS or (oldest is not None and env.occurred_at < oldest):
                continue
            items = await plan(env, tx, self.tz)
            if not items:
                continue
            if muted is None:
                rows = (await tx.execute(select(preferences))).mappings()
                muted = {r["owner"]: set(r["muted"]) for r in rows}
            await self._rows(env, items, tx, now, muted, boxes, deliveries)

    async def _rows(
        self,
        env: Envelope,
        items: list[Item],
        tx: AsyncConnection,
        now: datetime,
        muted: dict[str, set[str]],
        boxes: list[dict[str, Any]],
        deliveries: list[dict[str, Any]],
    ) -> None:
        sent_to: set[tuple[str, str]] = set()  # (channel, address): one delivery per address per event
        bot_text = None
        for item in items:
            link = self.ns.notify_base_url.rstrip("/") + item.link
            text = render(item.kind, {**item.params, "link": link})
            boxes.append(
                {
                    "id": inbox_id(env.id, item.addressee),
                    "addressee": item.addressee,
                    "kind": item.kind,
                    "title": text.title,
                    "body": text.body,
                    "link": item.link,
                    "source_event_id": env.id,
                    "jurisdiction": item.jurisdiction,
                    "created_at": env.occurred_at.astimezone(UTC),
                    "read_at": None,
                }
            )
            if bot_text is None or item.addressee.startswith("staff:"):
                bot_text = (item, text)
            params = {k: v for k, v in item.params.items() if isinstance(v, str) and k != "audience"} | {"link": link}

            def add(
                recipient: str,
                channel: str,
                address: str | None,
                digest: bool = False,
                *,
                it: Item = item,
                tx_: Any = text,
                ps: dict[str, Any] = params,
            ) -> None:
                # "": the recipient is not known yet (its event is on another stream, not read this
                # far): the sender looks the address up when it sends (``Sender.resolve``).
                key = (channel, address or recipient)
                if address is None or key in sent_to or channel in muted.get(recipient, ()):
                    return
                sent_to.add(key)
                due = self._due(now, digest)
                row = _delivery(env.id, recipient, channel, address, it, tx_, ps, now, due)
                deliveries.append(row | {"digest": digest})

            kind, _, key = item.addressee.partition(":")
            if kind == "unit":
                row = await ref.unit(tx, key)
                if self.smtp:
                    add(item.addressee, "email", _address(row, "email"))
                if self.sms:
                    add(item.addressee, "sms", _address(row, "phone"))
            elif kind == "deputy":
                row = await ref.deputy(tx, key)
                if self.sms:
                    add(item.addressee, "sms", _address(row, "phone"))
            for user in await ref.users_of(tx, item.addressee):
                recipient = f"user:{user['username']}"
                if self.smtp:
                    add(recipient, "email", user.get("email"), digest=kind == "staff" and self.ns.staff_digest)
                if self.sms:
                    add(recipient, "sms", user.get("phone"))
        if bot_text is not None:
            item, text = bot_text
            params = {"link": self.ns.notify_base_url.rstrip("/") + item.link}
            for label in self.bots:
                deliveries.append(
                    _delivery(env.id, f"bot:{label}", "bot", label, item, text, params, now, now) | {"digest": False}
                )

    def _due(self, now: datetime, digest: bool) -> datetime:
        return next_digest(now, self.tz, self.ns.notify_digest_hour) if digest else now


def _address(row: dict[str, Any] | None, field: str) -> str | None:
    """The address on file; "" when the record is not known yet (resolved at send time); None: none."""
    if row is None:
        return ""
    return row.get(field) or None


def _delivery(
    source_event_id: str,
    recipient: str,
    channel: str,
    address: str,
    item: Item,
    text: Any,
    params: dict[str, Any],
    now: datetime,
    due: datetime,
) -> dict[str, Any]:
    return {
        "id": notification_id(source_event_id, recipient, channel),
        "source_event_id": source_event_id,
        "recipient": recipient,
        "channel": channel,
        "address": address,
        "kind": item.kind,
        "jurisdiction": item.jurisdiction,
        "title": text.title,
        "body": text.body,
        "link": item.link,
        "params": params,
        "state": "pending",
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": due,
        "lease_owner": None,
        "lease_until": None,
        "created_at": now,
        "done_at": None,
        "reported": False,
    }
