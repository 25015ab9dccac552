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
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formatdate
from pathlib import Path
from typing import Any

import aiosmtplib
import nats
from sqlalchemy import func, select

from bench.common import Row, rate_row
from libs.config.settings import Settings
from libs.db.engine import make_engine, writing
from libs.events.streams import ensure_streams
from libs.runtime.nats_server import EmbeddedNats, free_port
from services.notify.channels import Mailer
from services.notify.config import NotifySettings
from services.notify.tables import create_ledger, inbox, outbox
from tests.notify import world
from tests.notify.support import Feeder, notify_service

# ``renda serve notify`` under cProfile (BENCH_NOTIFY_PROFILE=path): the stats are written on exit (SIGTERM).
PROFILED = """
import cProfile, signal, sys, time
from renda.cli.main import app
out = sys.argv[1]
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # uvicorn raises it again after its shutdown
sys.argv = ["renda", *sys.argv[2:]]
prof = cProfile.Profile(time.process_time)  # CPU: a loaded machine preempts wall time anywhere
try:
    prof.runcall(app)
except SystemExit:
    pass
finally:
    prof.dump_stats(out)
"""


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


@contextlib.asynccontextmanager
async def smtp_sink() -> AsyncIterator[int]:
    """aiosmtpd in a process of its own (the Sink handler: 250 OK, message dropped)."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiosmtpd",
        "-n",
        "-c",
        "aiosmtpd.handlers.Sink",
        "-l",
        f"127.0.0.1:{port}",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                _r, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                break
            await asyncio.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        await proc.wait()


def classic_mail(to: str, subject: str, body: str, message_id: str) -> Message:
    """The mail built the usual way, with the standard ``email`` package (the baseline's builder, as before)."""
    m = MIMEText(body, "plain", "utf-8")
    m["From"] = "renda@localhost"
    m["To"] = to
    m["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]
    m["Date"] = formatdate(localtime=True)
    m["Message-ID"] = f"<{message_id}@renda>"
    return m


async def raw_sends(port: int, messages: int, *, wire: bool = False) -> float:
    """Seconds to send ``messages`` mails over one aiosmtplib connection, one after another.

    The baseline: each mail built with the ``email`` package and sent with ``send_message``.
    ``wire``: built and sent as the service does (``channels.Mailer``: its own MIME bytes, MAIL/RCPT/DATA).
    """
    to = "raw@example.cn"
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
    mailer = Mailer(f"smtp://127.0.0.1:{port}", "renda@localhost")
    if wire:
        await mailer.send(to, mailer.message(to, "warm-up", "connect first", str(uuid.uuid4())))
    else:
        await client.connect()
    t0 = time.perf_counter()
    for i in range(messages):
        subject, body, mid = f"【逾期】建议{i}", "代表建议的答复期限已过。" * 4, str(uuid.uuid4())
        if wire:
            await mailer.send(to, mailer.message(to, subject, body, mid))
        else:
            await client.send_message(classic_mail(to, subject, body, mid))
    took = time.perf_counter() - t0
    await (mailer.close() if wire else client.quit())
    return took


async def unreported(url: str, code: str) -> int:
    """Finished deliveries of ``code`` whose NotificationSent/Failed is not appended yet."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            q = select(func.count()).where(
                outbox.c.jurisdiction == code, outbox.c.state != "pending", outbox.c.reported.is_(False)
            )
            return int((await conn.execute(q)).scalar_one())
    finally:
        await engine.dispose()


async def outbox_window(url: str, code: str) -> tuple[int, float]:
    """(mails sent, seconds from the consumer's first outbox row to the last mail recorded sent)."""
    engine = make_engine(url)
    try:
        async with writing(engine) as tx:
            await create_ledger(tx)  # the service may not have made it yet
        async with engine.connect() as conn:
            q = select(func.count(), func.min(outbox.c.created_at), func.max(outbox.c.done_at)).where(
                outbox.c.jurisdiction == code, outbox.c.channel == "email", outbox.c.state == "sent"
            )
            n, first, last = (await conn.execute(q)).one()
    finally:
        await engine.dispose()
    if not n:
        return 0, 0.0
    return int(n), (last - first).total_seconds()


async def measure(nats_url: str, folder: Path, events: int, seconds: float) -> dict[str, Any]:
    nc = await nats.connect(nats_url)
    await ensure_streams(nc, 1, create_missing=True)
    feed = Feeder(nc)
    c = await world.cast(feed)
    url = f"sqlite+aiosqlite:///{folder / f'notify-{uuid.uuid4().hex[:6]}.sqlite3'}"
    out: dict[str, Any] = {"events": events}
    t_append = time.perf_counter()
    await _append_all(feed, c, events)
    out["append_s"] = time.perf_counter() - t_append
    async with smtp_sink() as port:
        # The baseline before and after ours, its mean counts: the host's load moves within a run.
        out["raw_before"] = 2 * events / await raw_sends(port, 2 * events)  # each event: unit's and staff's mail
        out["load_before"] = os.getloadavg()[0]
        out["wire_mails"] = min(2 * events, 4000)
        out["wire_s"] = await raw_sends(port, out["wire_mails"], wire=True)
        env = {
            "RENDA_NATS_URL": nats_url,
            "RENDA_DATABASE_URL": url,
            "RENDA_DATA_DIR": str(folder / "data"),
            "RENDA_JWT_SECRET": "bench",
            "RENDA_SMTP_URL": f"smtp://127.0.0.1:{port}",
            "RENDA_NOTIFY_BATCH": "200",
            "RENDA_LOG_LEVEL": "warning",
        }
        log = (folder / "notify-service.log").open("wb")
        profile = os.environ.get("BENCH_NOTIFY_PROFILE")  # a path: the service runs under cProfile
        command = [sys.executable, "-c", PROFILED, profile] if profile else [str(Path(sys.executable).parent / "renda")]
        proc = await asyncio.create_subprocess_exec(
            *command,
            *("serve", "notify", "--port", str(free_port())),
            env={**os.environ, **env},
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            t_mails = time.perf_counter()
            while (await outbox_window(url, c.town))[0] < 2 * events:
                if proc.returncode is not None:
                    raise RuntimeError(
                        f"renda serve notify exited: {(folder / 'notify-service.log').read_text()[-2000:]}"
                    )
                await asyncio.sleep(0.5)
            out["mails"], out["ours_s"] = await outbox_window(url, c.town)
            # The NotificationSent events trail the mails (one reporter round a second, atomic batches).
            for _ in range(600):
                if await unreported(url, c.town) == 0:
                    break
                await asyncio.sleep(0.5)
            out["reported_after_s"] = time.perf_counter() - t_mails
            out["service_rss_mb"] = rss_mb(proc.pid)
        finally:
            proc.terminate()
            await proc.wait()
            log.close()
        out["raw_after"] = events / await raw_sends(port, events)
        out["load_after"] = os.getloadavg()[0]
    settings = Settings(nats_url=nats_url, database_url=url, data_dir=folder / "data", jwt_secret="bench")
    async with notify_service(settings, NotifySettings(notify_poll=0.05)):
        out["latency"] = await steady(feed, c, url, seconds)
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["loadavg"] = os.getloadavg()
    await nc.drain()
    return out


def rss_mb(pid: int) -> float:
    """Peak resident memory of a process (VmHWM), MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


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
    return {"inbox": seen, "ack": acks, "missing": [float(len(waiting))]}


def pct(xs: list[float], q: int) -> float:
    if not xs:
        return float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] * 1000 if len(xs) > 1 else xs[0] * 1000


def inbox_row(lat: dict[str, list[float]], q: int, goal_ms: float = 1000.0) -> Row:
    """Event → inbox at the steady rate against the goal (p99 ≤ 1 s; p50 held to the same bound).

    An event whose inbox item never showed (30 s after the last append) fails the row."""
    ours, raw = pct(lat["inbox"], q), pct(lat["ack"], q)
    missing = int(lat["missing"][0])
    return Row(
        f"notify: event → inbox p{q} at 20 events/s",
        ours,
        raw,
        "ms",
        f"<= {goal_ms:.0f} ms",
        ours / raw if raw else None,
        ours <= goal_ms and missing == 0,  # NaN (nothing seen) is not <=
        f"append → JetStream ack p{q}",
        f"{len(lat['inbox'])} events seen in the inbox, {missing} never",
    )


def rows_of(m: dict[str, Any]) -> list[Row]:
    n = m["events"] * 2  # mails: the unit's and the township staff's for each overdue event
    lat = m["latency"]
    la = ", ".join(f"{x:.2f}" for x in m["loadavg"])
    return [
        rate_row(
            f"notify: {m['events']:,} overdue events → {n:,} mails at aiosmtpd",
            n / m["ours_s"],
            (m["raw_before"] + m["raw_after"]) / 2,
            0.50,
            "raw aiosmtplib sends of the same mails, one connection: the mean of a run before ours and one after",
            f"ours {m['ours_s']:.1f} s (first outbox row → last mail recorded sent, `renda serve notify`); "
            f"raw (`email` package + send_message) before ours {m['raw_before']:,.0f} mails/s (load "
            f"{m['load_before']:.1f}), after {m['raw_after']:,.0f} mails/s (load {m['load_after']:.1f}); "
            "raw sends as the service builds and "
            f"sends them (`channels.Mailer`, one connection): {m['wire_mails'] / m['wire_s']:,.0f} mails/s; "
            f"every NotificationSent appended {m['reported_after_s']:.0f} s after the service started "
            f"(mails: {m['ours_s']:.0f} s after its first outbox row); aiosmtpd Sink in its own process; load avg {la}",
        ),
        inbox_row(lat, 50),
        inbox_row(lat, 99),
        Row(
            "notify: peak memory of the service (VmHWM)",
            m["service_rss_mb"],
            None,
            "MB",
            "<= 300 MB",
            None,
            m["service_rss_mb"] <= 300,
            notes=f"bench process (feeder + latency run in-process): {m['peak_mb']:.0f} MB",
        ),
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
