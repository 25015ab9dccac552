"""The sender: claims due deliveries from the outbox, sends them, records the outcome.

Claiming is one ``UPDATE … WHERE state = 'pending' AND the lease has expired`` (with ``FOR UPDATE
SKIP LOCKED`` on PostgreSQL), so two instances on one database never hold the same row; a
process killed mid-send leaves its rows leased, and another (or itself restarted) takes them
after the lease. A failure is retried with exponential backoff and jitter, up to
``RENDA_NOTIFY_MAX_ATTEMPTS``; the webhook carries the same ``notification_id`` and a mail the
same ``Message-ID`` on every attempt. A reporter (``reporter.py``) appends
``NotificationSent`` / ``NotificationFailed`` for every finished row (ids derived from the notification id: once).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import random
import time
import uuid
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.events.store import EventStore
from services.notify.channels import Bots, DeliveryError, Mailer, Sms
from services.notify.config import NotifySettings
from services.notify.consumer import bot_label
from services.notify.metrics import BACKLOG, DELIVERIES
from services.notify.reporter import Reporter
from services.notify.tables import create_ledger, deputies, outbox, units

log = structlog.get_logger("notify.sender")
_claims: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar("notify_claims", default=None)
SMS_CONCURRENCY = 8
UNRESOLVED_FOR = 120.0  # seconds a delivery waits for its recipient's record (read from another stream)
NO_ADDRESS_AFTER = 5.0  # seconds before one whose recipient is known without an address is removed
SMTP_CONNECTIONS = 4  # mails go out over this many connections at once


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next attempt: base·2^(n-1), capped, with full jitter in [½, 1½)."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)) * (0.5 + random.random()))


class Sender:
    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        ns: NotifySettings,
        *,
        smtp_url: str,
        sms_url: str,
        wakers: list[asyncio.Event],
    ) -> None:
        self.engine = engine
        self.store = store
        self.ns = ns
        self.mailer = Mailer(smtp_url, ns.notify_mail_from) if smtp_url else None
        self.mailers = [Mailer(smtp_url, ns.notify_mail_from) for _ in range(SMTP_CONNECTIONS)] if smtp_url else []
        self.sms = Sms(sms_url) if sms_url else None
        self.bots = Bots(ns.bot_urls, bot_label) if ns.bot_urls else None
        self.wakers = wakers
        self.instance = uuid.uuid4().hex[:8]
        self._sent_times: dict[str, deque[float]] = defaultdict(deque)
        self.reporter = Reporter(engine, store)
        self.held: set[str] = set()  # lease tokens of the claims being sent now: renewed until done

    # -- the loops --------------------------------------------------------------------------------
    async def run(self) -> None:
        async with writing(self.engine) as tx:
            await create_ledger(tx)
        loops = [self._loop("email", self._send_mail)] if self.mailer else []
        loops += [self._loop("sms", self._send_sms)] if self.sms else []
        loops += [self._loop("bot", self._send_bots)] if self.bots else []
        loops.append(self._loop("report", self._report, woken=False))
        loops.append(self._renew())
        try:
            await asyncio.gather(*loops)
        finally:
            for closing in (*self.mailers, self.sms):
                if closing is not None:
                    with contextlib.suppress(Exception):
                        await closing.close()

    async def _loop(self, name: str, step: Any, *, woken: bool = True) -> None:
        """Run ``step`` while it finds work; then wait for a wake-up (new deliveries) or the poll.

        The reporter is not woken: its events may trail the sends by a second, and one round
        every second appends in bulk instead of competing with the sends for the database.
        """
        wake = asyncio.Event()
        if woken:
            self.wakers.append(wake)
        idle = self.ns.notify_poll if woken else max(1.0, self.ns.notify_poll)
        mine: set[str] = set()
        _claims.set(mine)  # this loop's task: what ``claim`` takes, held until the step is done
        while True:
            try:
                busy = await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notify.sender_failed", loop=name)
                busy = False
                await asyncio.sleep(1.0)
            finally:
                self.held -= mine
                mine.clear()
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), idle)
                wake.clear()

    async def _renew(self) -> None:
        """Extend the leases of the claims being sent, every third of a lease.

        A lease only frees the rows of an instance that died: a live one that sends longer than a
        lease (a slow gateway, a loaded machine) keeps its rows, so another never sends them again.
        """
        every = max(0.1, self.ns.notify_lease / 3)
        while True:
            await asyncio.sleep(every)
            if not self.held:
                continue
            until = datetime.now(UTC) + timedelta(seconds=self.ns.notify_lease)
            c = outbox.c
            try:
                async with writing(self.engine) as tx:
                    await tx.execute(
                        update(outbox)
                        .where(c.lease_owner.in_(sorted(self.held)), c.state == "pending")
                        .values(lease_until=until)
                    )
            except Exception:
                log.exception("notify.lease_renewal_failed")

    # -- claiming and recording ---------------------------------------------------------------
    async def claim(self, channel: str, limit: int, address: str | None = None) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        c = outbox.c
        due = select(c.id).where(
            c.state == "pending",
            c.channel == channel,
            c.next_attempt_at <= now,
            or_(c.lease_until.is_(None), c.lease_until < now),
        )
        if address is not None:
            due = due.where(c.address == address)
        due = due.order_by(c.next_attempt_at).limit(limit)
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        token = f"{self.instance}-{uuid.uuid4().hex[:8]}"
        held = _claims.get()
        if held is not None:
            held.add(token)
        self.held.add(token)
        stmt = (
            update(outbox)
            .where(
                c.id.in_(due.scalar_subquery()),
                c.state == "pending",
                or_(c.lease_until.is_(None), c.lease_until < now),
            )
            .values(lease_owner=token, lease_until=now + timedelta(seconds=self.ns.notify_lease))
            .returning(*outbox.c)
        )
        async with writing(self.engine) as tx:
            rows = [dict(r) for r in (await tx.execute(stmt)).mappings()]
        rows.sort(key=lambda r: (r["next_attempt_at"], r["id"]))
        return rows

    async def resolve(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows whose recipient was not known when planned: look the address up now.

        The notice was planned before its recipient's record (another stream, read concurrently, by
        this instance or another) was committed. Known with an address: sent as usual. Known without
        one for the channel: the delivery is removed, as if planned after the record (a recipient
        without a phone on file gets no SMS: no row, as ``NotifyConsumer`` plans it); it waits
        ``NO_ADDRESS_AFTER`` seconds first, for a contact change in a batch still in flight. Not known
        yet: back to the queue for a second, without counting an attempt, for ``UNRESOLVED_FOR``
        seconds, then failed ("recipient unknown").
        """
        ready = [r for r in rows if r["address"]]
        now = datetime.now(UTC)
        for r in rows:
            if r["address"]:
                continue
            kind, _, key = r["recipient"].partition(":")
            field = "email" if r["channel"] == "email" else "phone"
            async with self.engine.connect() as conn:
                if kind == "unit":
                    row = (await conn.execute(select(units).where(units.c.unit_id == key))).mappings().first()
                else:
                    row = (await conn.execute(select(deputies).where(deputies.c.deputy_id == key))).mappings().first()
            address = row.get(field) if row is not None else None
            created = r["created_at"] if r["created_at"].tzinfo else r["created_at"].replace(tzinfo=UTC)
            if address:
                r["address"] = address
                ready.append(r)
                async with writing(self.engine) as tx:
                    await tx.execute(update(outbox).where(outbox.c.id == r["id"]).values(address=address))
            elif row is not None and now - created > timedelta(seconds=NO_ADDRESS_AFTER):
                await self.drop(r)
            elif row is None and now - created > timedelta(seconds=UNRESOLVED_FOR):
                r["attempts"] = self.ns.notify_max_attempts - 1  # final: nothing to retry
                await self.failed([r], "recipient unknown")
            else:
                async with writing(self.engine) as tx:
                    await tx.execute(
                        update(outbox)
                        .where(outbox.c.id == r["id"])
                        .values(next_attempt_at=now + timedelta(seconds=1), lease_owner=None, lease_until=None)
                    )
        return ready

    async def drop(self, r: dict[str, Any]) -> None:
        """Remove an unresolved delivery whose recipient has nothing on file for its channel."""
        c = outbox.c
        async with writing(self.engine) as tx:
            await tx.execute(delete(outbox).where(c.id == r["id"], c.state == "pending", c.address == ""))
        DELIVERIES.labels(r["channel"], "dropped").inc()
        log.info("notify.delivery_dropped", channel=r["channel"], recipient=r["recipient"], reason="no address on file")

    async def sent(self, rows: list[dict[str, Any]]) -> None:
        now = datetime.now(UTC)
        async with writing(self.engine) as tx:
            await tx.execute(
                update(outbox)
                .where(outbox.c.id.in_([r["id"] for r in rows]), outbox.c.state == "pending")
                .values(
                    state="sent",
                    attempts=outbox.c.attempts + 1,
                    last_error=None,
                    done_at=now,
                    lease_owner=None,
                    lease_until=None,
                )
            )
        for r in rows:
            DELIVERIES.labels(r["channel"], "sent").inc()

    async def failed(self, rows: list[dict[str, Any]], error: str) -> None:
        now = datetime.now(UTC)
        async with writing(self.engine) as tx:
            for r in rows:
                attempts = r["attempts"] + 1
                values: dict[str, Any] = {"attempts": attempts, "last_error": error[:500]}
                values.update(lease_owner=None, lease_until=None)
                if attempts >= self.ns.notify_max_attempts:
                    values.update(state="failed", done_at=now)
                    DELIVERIES.labels(r["channel"], "failed").inc()
                else:
                    wait = backoff(attempts, self.ns.notify_retry_base, self.ns.notify_retry_max)
                    values["next_attempt_at"] = now + timedelta(seconds=wait)
                    DELIVERIES.labels(r["channel"], "retried").inc()
                await tx.execute(
                    update(outbox).where(outbox.c.id == r["id"], outbox.c.state == "pending").values(**values)
                )
        log.warning("notify.delivery_failed", channel=rows[0]["channel"], n=len(rows), error=error[:200])

    # -- channels --------------------------------------------------------------------------------
    async def _send_mail(self) -> bool:
        assert self.mailer is not None
        rows = await self.resolve(await self.claim("email", self.ns.notify_batch))
        digests: dict[str, list[dict[str, Any]]] = defaultdict(list)
        single: list[dict[str, Any]] = []
        for r in rows:
            (digests[r["address"]] if r["digest"] else single).append(r)

        done: list[dict[str, Any]] = []  # sent, not yet recorded: shared by the connections
        marking = asyncio.Lock()

        async def record() -> None:
            """What the connections have sent, in one transaction; a connection waits for it before its next mail.

            A SIGKILL can then resend at most the one mail per connection whose record was not
            committed (same Message-ID). Mails sent while one record commits go in the next.
            """
            async with marking:
                if done:
                    rows = done[:]
                    done.clear()
                    await self.sent(rows)

        async def connection(mailer: Mailer, mine: list[dict[str, Any]]) -> None:
            for r in mine:
                try:
                    await mailer.send(r["address"], mailer.message(r["address"], r["title"], r["body"], r["id"]))
                except DeliveryError as exc:
                    await self.failed([r], str(exc))
                    continue
                done.append(r)
                await record()

        k = len(self.mailers)
        await asyncio.gather(*(connection(m, single[i::k]) for i, m in enumerate(self.mailers)))
        for address, group in digests.items():
            subject = f"【每日汇总】{len(group)} 条人大工作通知"
            body = "\n\n".join(f"{i}. {g['title']}\n{g['body']}" for i, g in enumerate(group, 1))
            await self._attempt(group, self._digest(address, subject, body, group[0]["id"]))
        return bool(rows)

    async def _digest(self, address: str, subject: str, body: str, message_id: str) -> None:
        assert self.mailer is not None
        await self.mailer.send(address, self.mailer.message(address, subject, body, message_id))

    async def _send_sms(self) -> bool:
        assert self.sms is not None
        sms = self.sms
        rows = await self.resolve(await self.claim("sms", self.ns.notify_batch))
        gate = asyncio.Semaphore(SMS_CONCURRENCY)

        async def one(r: dict[str, Any]) -> None:
            body = {
                "to": r["address"],
                "template": r["kind"],
                "params": r["params"],
                "text": r["body"],
                "notification_id": r["id"],
            }
            async with gate:
                await self._attempt([r], sms.send(body))

        await asyncio.gather(*(one(r) for r in rows))
        return bool(rows)

    async def _send_bots(self) -> bool:
        assert self.bots is not None
        busy = False
        for label in self.bots.by_label:
            times = self._sent_times[label]
            while times and times[0] < time.monotonic() - 60:
                times.popleft()
            if len(times) >= self.ns.notify_bot_rate:
                continue  # this minute's budget is spent: the rows wait and go out together
            rows = await self.claim("bot", self.ns.notify_bot_batch, address=label)
            if not rows:
                continue
            busy = True
            times.append(time.monotonic())
            if len(rows) == 1:
                title, body = rows[0]["title"], rows[0]["body"]
            else:
                title = f"{len(rows)} 条新通知"
                body = "\n".join(f"• {r['title']} {r['params'].get('link', '')}" for r in rows)
            await self._attempt(rows, self.bots.send(label, title, body))
        return busy

    async def _attempt(self, rows: list[dict[str, Any]], sending: Any) -> None:
        try:
            await sending
        except DeliveryError as exc:
            await self.failed(rows, str(exc))
            return
        await self.sent(rows)

    # -- events ----------------------------------------------------------------------------------
    async def _report(self) -> bool:
        return await self.reporter.step()

    async def backlog(self) -> dict[str, int]:
        q = select(outbox.c.state, func.count()).where(outbox.c.state != "sent").group_by(outbox.c.state)
        async with self.engine.connect() as conn:
            counts = {str(s): int(n) for s, n in (await conn.execute(q)).all()}
        out = {"pending": counts.get("pending", 0), "failed": counts.get("failed", 0)}
        for state, n in out.items():
            BACKLOG.labels(state).set(n)
        return out
