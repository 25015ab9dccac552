"""``renda serve notify`` as real processes: killed with SIGKILL mid-stream and restarted, and two
instances side by side on one database. Nothing is lost; no notification id is delivered twice
by the outbox (one row per source event, recipient and channel, sent once)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from libs.db.engine import make_engine, writing
from libs.runtime.nats_server import free_port
from services.notify.tables import create_ledger, outbox
from tests.notify import world
from tests.notify.support import Feeder, SmsGateway
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


@contextlib.asynccontextmanager
async def serve_notify(env: dict[str, str]) -> AsyncIterator[asyncio.subprocess.Process]:
    """``renda serve notify`` (the venv's ``renda`` script, what ``uv run renda`` runs)."""
    port = free_port()
    log = Path(env["RENDA_DATA_DIR"]).parent / f"notify-{port}.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "renda"),
            *("serve", "notify", "--port", str(port)),
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


def environment(settings: Any, database_url: str, sms: SmsGateway) -> dict[str, str]:
    return {
        "RENDA_NATS_URL": settings.nats_url,
        "RENDA_DATABASE_URL": database_url,
        "RENDA_DATA_DIR": str(settings.data_dir),
        "RENDA_JWT_SECRET": settings.jwt_secret,
        "RENDA_SMS_WEBHOOK_URL": sms.url,
        "RENDA_NOTIFY_POLL": "0.05",
        "RENDA_NOTIFY_LEASE": "2",  # a killed instance's claims come free after two seconds
        "RENDA_NOTIFY_BATCH": "5",
    }


async def sent_rows(database_url: str, code: str) -> dict[tuple[str, str], int]:
    """Outbox rows of ``code`` by (state, channel)."""
    engine = make_engine(database_url)
    try:
        async with writing(engine) as tx:
            await create_ledger(tx)  # the services may not have made it yet
        async with engine.connect() as conn:
            q = select(outbox.c.state, outbox.c.channel, func.count()).where(outbox.c.jurisdiction == code)
            q = q.group_by(outbox.c.state, outbox.c.channel)
            counts = {(s, ch): int(k) for s, ch, k in (await conn.execute(q))}
            return counts
    finally:
        await engine.dispose()


async def test_killed_mid_stream_and_restarted_loses_and_doubles_nothing(
    js: Any, fresh_nats: Any, settings_for: Any, tmp_path: Any
) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    sms = SmsGateway()
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.sqlite3'}"
    settings = settings_for(fresh_nats.url, url)
    env = environment(settings, url, sms)
    n = 40
    async with sms.running():
        async with serve_notify(env) as first:
            sids = [await world.suggestion(feed, c, f"建议{i}") for i in range(n)]
            for sid in sids:
                await world.overdue(feed, c, sid)

            async def some() -> None:
                assert len(sms.received) >= 10

            await eventually(some, timeout=60)
            first.send_signal(signal.SIGKILL)  # mid-stream: deliveries claimed, sent, not yet recorded
            await first.wait()
        at_kill = len(sms.received)
        assert at_kill < 2 * n, "the stream had ended before the kill"
        async with serve_notify(env):

            async def all_of_them() -> None:
                assert len({b["notification_id"] for b in sms.received}) == 2 * n
                assert await sent_rows(url, c.town) == {("sent", "sms"): 2 * n}

            await eventually(all_of_them, timeout=90)
    copies = collections.Counter(b["notification_id"] for b in sms.received)
    assert len(sms.to(c.lead_phone)) >= n and len(sms.to(c.unit_phone)) >= n
    # At most the sends in flight at the kill (answered 2xx, not yet recorded) go again, with the
    # same notification_id so the gateway drops them; everything else exactly once.
    assert sum(copies.values()) - len(copies) <= 8


async def test_two_instances_side_by_side_send_each_once(
    js: Any, fresh_nats: Any, settings_for: Any, postgres_url: str
) -> None:
    feed = Feeder(js)
    c = await world.cast(feed)
    sms = SmsGateway()
    settings = settings_for(fresh_nats.url, postgres_url)
    env = environment(settings, postgres_url, sms)
    n = 30
    async with sms.running(), serve_notify(env), serve_notify(env):
        sids = [await world.suggestion(feed, c, f"建议{i}") for i in range(n)]
        for sid in sids:
            await world.overdue(feed, c, sid)

        async def all_of_them() -> None:
            copies = collections.Counter(b["notification_id"] for b in sms.received)
            assert await sent_rows(postgres_url, c.town) == {("sent", "sms"): 2 * n}, copies.most_common(3)
            assert len(copies) == 2 * n

        await eventually(all_of_them, timeout=90)
    copies = collections.Counter(b["notification_id"] for b in sms.received)
    assert len(copies) == 2 * n and set(copies.values()) == {1}


async def test_a_send_longer_than_the_lease_is_not_taken_by_the_other_instance(
    js: Any, fresh_nats: Any, settings_for: Any, postgres_url: str
) -> None:
    """The gateway answers after 2.5 s, the lease is 1 s: the sending instance renews its lease, so
    the other (polling every 50 ms) never takes the rows in flight and sends them again."""
    feed = Feeder(js)
    c = await world.cast(feed)
    sms = SmsGateway(delay=2.5)
    settings = settings_for(fresh_nats.url, postgres_url)
    env = environment(settings, postgres_url, sms) | {"RENDA_NOTIFY_LEASE": "1"}
    n = 3
    async with sms.running(), serve_notify(env), serve_notify(env):
        for i in range(n):
            await world.overdue(feed, c, await world.suggestion(feed, c, f"建议{i}"))

        async def all_of_them() -> None:
            assert await sent_rows(postgres_url, c.town) == {("sent", "sms"): 2 * n}

        await eventually(all_of_them, timeout=90)
    copies = collections.Counter(b["notification_id"] for b in sms.received)
    assert len(copies) == 2 * n and set(copies.values()) == {1}, copies.most_common(3)
