"""Notify: 10,000 overdue events → mails at a local aiosmtpd, against raw aiosmtplib sends of the same
mails in the same run (goal ≥ 50 %); event → inbox latency under a steady 20 events/s; peak memory.

Standalone: ``uv run python -m bench.notify [--events 10000] [--seconds 20]`` (its own NATS and SQLite);
``run(ctx)`` for the bench runner.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiosmtplib
import nats
from sqlalchemy import select

from bench.common import Row, latency_row, rate_row
from libs.config.settings import Settings
from libs.db.engine import make_engine
from libs.events.streams import ensure_streams
from libs.runtime.nats_server import EmbeddedNats, free_port
from services.notify.channels import Mailer
from services.notify.config import NotifySettings
from services.notify.tables import inbox
from tests.notify import world
from tests.notify.support import Feeder, Mailbox, notify_service


async def _append_all(feed: Feeder, c: Any, n: int, in_flight: int = 64) -> list[str]:
    sids = [f"s{uuid.uuid4().hex[:12]}" for _ in range(n)]
    gate = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with gate:
            sid = await world.suggestion(feed, c, f"关于第{i}号村道修缮的建议")
            sids[i] = sid
            await world.overdue(feed, c, sid)

    await asyncio.gather(*(one(i) for i in range(n)))
    return sids


async def raw_sends(mail: Mailbox, messages: int) -> float:
    """Seconds to send ``messages`` mails over one aiosmtplib connection, one after another."""
    builder = Mailer(mail.url, "renda@localhost")
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=mail.port)
    await client.connect()
    t0 = time.perf_counter()
    for i in range(messages):
        m = builder.message("raw@example.cn", f"【逾期】建议{i}", "代表建议的答复期限已过。" * 4, str(uuid.uuid4()))
        await client.send_message(m)
    took = time.perf_counter() - t0
    await client.quit()
    return took


async def measure(nats_url: str, folder: Path, events: int, seconds: float) -> dict[str, Any]:
    nc = await nats.connect(nats_url)
    await ensure_streams(nc, 1, create_missing=True)
    feed = Feeder(nc)
    c = await world.cast(feed)
    url = f"sqlite+aiosqlite:///{folder / f'notify-{uuid.uuid4().hex[:6]}.sqlite3'}"
    out: dict[str, Any] = {"events": events}
    with Mailbox() as mail:
        out["raw_s"] = await raw_sends(mail, events)
        settings = Settings(
            nats_url=nats_url, database_url=url, data_dir=folder / "data", jwt_secret="bench", smtp_url=mail.url
        )
        ns = NotifySettings(notify_poll=0.05, notify_batch=200)
        t_append = time.perf_counter()
        await _append_all(feed, c, events)
        out["append_s"] = time.perf_counter() - t_append
        baseline = len(mail.mails)
        t0 = time.perf_counter()
        async with notify_service(settings, ns):
            while len(mail.to(c.unit_mail)) < events:  # noqa: ASYNC110 (a thread fills it)
                await asyncio.sleep(0.05)
            out["ours_s"] = time.perf_counter() - t0  # service start → last mail received
            out["mails"] = len(mail.mails) - baseline
            out["latency"] = await steady(feed, c, url, seconds)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["loadavg"] = os.getloadavg()
    await nc.drain()
    return out


async def steady(feed: Feeder, c: Any, url: str, seconds: float, rate: float = 20.0) -> dict[str, list[float]]:
    """Overdue events at ``rate``/s; append → ack and append → inbox row visible (polled every 5 ms)."""
    engine = make_engine(url)
    waiting: dict[str, float] = {}
    seen: list[float] = []
    acks: list[float] = []
    done = asyncio.Event()

    async def poll() -> None:
        while not done.is_set() or waiting:
            if waiting:
                ids = list(waiting)
                async with engine.connect() as conn:
                    q = select(inbox.c.source_event_id).where(inbox.c.source_event_id.in_(ids)).distinct()
                    found = set((await conn.execute(q)).scalars())
                now = time.perf_counter()
                for i in found:
                    seen.append(now - waiting.pop(i))
            await asyncio.sleep(0.005)

    poller = asyncio.create_task(poll())
    sids = [await world.suggestion(feed, c, f"稳态建议{i}") for i in range(int(seconds * rate))]
    start = time.perf_counter()
    for k, sid in enumerate(sids):
        await asyncio.sleep(max(0.0, start + k / rate - time.perf_counter()))
        t = time.perf_counter()
        eid = await world.overdue(feed, c, sid)
        acks.append(time.perf_counter() - t)
        waiting[eid] = t
    done.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(poller, 30)
    await engine.dispose()
    return {"inbox": seen, "ack": acks}


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] * 1000 if len(xs) > 1 else xs[0] * 1000


def rows_of(m: dict[str, Any]) -> list[Row]:
    n = m["events"]
    lat = m["latency"]
    la = ", ".join(f"{x:.2f}" for x in m["loadavg"])
    return [
        rate_row(
            f"notify: {n:,} overdue events → mails at aiosmtpd",
            n / m["ours_s"],
            n / m["raw_s"],
            0.50,
            "raw aiosmtplib sends of the same mails, one connection",
            f"ours {m['ours_s']:.1f} s (consume + outbox + send), raw {m['raw_s']:.1f} s; load avg {la}",
        ),
        latency_row(
            "notify: event → inbox p50 at 20 events/s",
            pct(lat["inbox"], 50),
            pct(lat["ack"], 50),
            None,
            "append → JetStream ack p50",
        ),
        latency_row(
            "notify: event → inbox p99 at 20 events/s",
            pct(lat["inbox"], 99),
            pct(lat["ack"], 99),
            None,
            "append → JetStream ack p99",
            "goal p99 ≤ 1000 ms",
        ),
        Row("notify: peak memory (bench process)", m["peak_mb"], None, "MB", "<= 300 MB", None, m["peak_mb"] <= 300),
    ]


async def run(ctx: Any, events: int | None = None, seconds: float | None = None) -> list[Row]:
    quick = getattr(getattr(ctx, "sizes", None), "quick", False)
    n = events or (2_000 if quick else 10_000)
    folder = Path(ctx.folder) / "notify"
    folder.mkdir(parents=True, exist_ok=True)
    return rows_of(await measure(ctx.url, folder, n, seconds or (10.0 if quick else 20.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedNats(free_port(), Path(tmp) / "nats").start()
        try:
            m = asyncio.run(measure(server.url, Path(tmp), args.events, args.seconds))
        finally:
            server.stop()
    for r in rows_of(m):
        ratio = f"{r.ratio:.0%}" if r.ratio is not None and r.unit == "ops/s" else ""
        raw = f"{r.raw:,.1f}" if r.raw is not None else "-"
        print(f"{r.name:48} ours {r.ours:>10,.1f} {r.unit:5} raw {raw:>10} {ratio:>5}  {r.goal}  {r.notes}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
