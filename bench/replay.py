"""replay: libs.events.projection.rebuild of a bench projection vs a raw hand-driven pull loop + executemany.

Both read the whole RENDA_BENCH stream through an ephemeral pull consumer in batches of 1000
and commit one SQL transaction per batch; both write the same rows. The raw side parses the
JSON with orjson and inserts with plain SQL (``sqlite3`` / ``asyncpg`` executemany), no
checkpoint, no upcasting, no SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from typing import ClassVar

import asyncpg
import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.common import COUNTER, BenchIncremented, Row, rate_row
from bench.context import Ctx
from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope
from libs.events.projection import Projection, parse_ack_subject, rebuild
from libs.events.subjects import stream_name, stream_subjects

STREAM = stream_name(COUNTER.context)
BATCH = 1000

bench_metadata = MetaData()
increments = Table(
    "bench_increments",
    bench_metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("counter_id", String(40), nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("by", Integer, nullable=False),
    Column("jurisdiction", String(12), nullable=False),
)
DDL = (
    "CREATE TABLE raw_increments (seq BIGINT PRIMARY KEY, counter_id VARCHAR(40) NOT NULL, "
    "sequence INTEGER NOT NULL, by_ INTEGER NOT NULL, jurisdiction VARCHAR(12) NOT NULL)"
)


class CounterLog(Projection):
    name: ClassVar[str] = "bench-counter-log"
    contexts: ClassVar[tuple[str, ...]] = (COUNTER.context,)
    metadata: ClassVar[MetaData] = bench_metadata
    handles = (BenchIncremented,)

    insert = increments.insert()  # built once: .values() per event costs ~20 % more (profiled)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        match env.data:
            case BenchIncremented() as e:
                await tx.execute(
                    self.insert,
                    {
                        "seq": env.stream_seq,
                        "counter_id": env.aggregate_id,
                        "sequence": env.sequence,
                        "by": e.by,
                        "jurisdiction": env.jurisdiction,
                    },
                )


class CounterLogBulk(CounterLog):
    """The same read model, written with one executemany per batch (``Projection.apply_many``)."""

    name: ClassVar[str] = "bench-counter-log-bulk"

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        rows = [
            {
                "seq": env.stream_seq,
                "counter_id": env.aggregate_id,
                "sequence": env.sequence,
                "by": env.data.by,
                "jurisdiction": env.jurisdiction,
            }
            for env in envs
            if isinstance(env.data, BenchIncremented)
        ]
        if rows:
            await tx.execute(self.insert, rows)


async def raw_batches(nc: NATS, context: str = COUNTER.context):  # type: ignore[no-untyped-def]
    """Every message of a context's stream by a hand-driven pull: (seq, data) lists of up to BATCH."""
    stream = stream_name(context)
    head = await jsapi.last_seq(nc, stream)
    if head == 0:
        return
    name = f"raw_{uuid.uuid4().hex[:8]}"
    config = {
        "name": name,
        "ack_policy": "none",
        "deliver_policy": "all",
        "mem_storage": True,
        "inactive_threshold": 60_000_000_000,
        "filter_subjects": stream_subjects(context),
    }
    await jsapi.api(nc, f"CONSUMER.CREATE.{stream}.{name}", {"stream_name": stream, "config": config})
    inbox = nc.new_inbox()
    queue: asyncio.Queue[Msg] = asyncio.Queue()

    async def cb(m: Msg) -> None:
        queue.put_nowait(m)

    sub = await nc.subscribe(inbox, cb=cb)
    last = 0
    try:
        while last < head:
            await nc.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{name}",
                orjson.dumps({"batch": BATCH, "expires": 2_000_000_000}),
                reply=inbox,
            )
            got: list[tuple[int, bytes]] = []
            while len(got) < BATCH:
                m = await asyncio.wait_for(queue.get(), 5)
                if not m.data and m.headers and m.headers.get("Status"):
                    break
                seq = parse_ack_subject(m.reply)[0]
                got.append((seq, m.data))
                if seq >= head:
                    break
            if got:
                last = got[-1][0]
                yield got
    finally:
        await sub.unsubscribe()
        await jsapi.api(nc, f"CONSUMER.DELETE.{stream}.{name}")


def row_of(seq: int, data: bytes) -> tuple[int, str, int, int, str]:
    b = orjson.loads(data)
    return (seq, b["aggregate_id"], b["sequence"], b["data"]["by"], b["jurisdiction"])


async def raw_sqlite(nc: NATS, path: str) -> int:
    db = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL"):
        db.execute(f"PRAGMA {pragma}")
    db.execute(DDL)
    n = 0
    async for batch in raw_batches(nc):
        db.execute("BEGIN")
        db.executemany("INSERT INTO raw_increments VALUES (?, ?, ?, ?, ?)", [row_of(s, d) for s, d in batch])
        db.execute("COMMIT")
        n += len(batch)
    db.close()
    return n


async def raw_postgres(nc: NATS, url: str) -> int:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    await conn.execute(DDL)
    n = 0
    async for batch in raw_batches(nc):
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO raw_increments VALUES ($1, $2, $3, $4, $5)", [row_of(s, d) for s, d in batch]
            )
        n += len(batch)
    await conn.close()
    return n


async def ours(nc: NATS, url: str, projection: Projection) -> int:
    engine = make_engine(url)
    try:
        counts = await rebuild(nc, engine, projection, batch=BATCH)
        async with engine.connect() as conn:
            stored = (await conn.exec_driver_sql("SELECT count(*) FROM bench_increments")).scalar_one()
        assert stored == counts[STREAM], (stored, counts)
        return counts[STREAM]
    finally:
        await engine.dispose()


async def timed(coro) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    n = await coro
    return time.perf_counter() - t0, n


async def run(ctx: Ctx) -> list[Row]:
    big = await ctx.big_stream()
    nc = await ctx.connect()
    rows = []
    try:
        for db in ("SQLite", "PostgreSQL"):
            if db == "SQLite":
                raw_url = str(ctx.folder / f"raw-{uuid.uuid4().hex[:6]}.sqlite3")
                our_url = f"sqlite+aiosqlite:///{ctx.folder / f'ours-{uuid.uuid4().hex[:6]}.sqlite3'}"
                raw_s, raw_n = await timed(raw_sqlite(nc, raw_url))
            else:
                raw_url, our_url = ctx.pg_database(), ctx.pg_database()
                raw_s, raw_n = await timed(raw_postgres(nc, raw_url))
            our_s, our_n = await timed(ours(nc, our_url, CounterLogBulk()))
            assert raw_n == our_n == big["events"], (raw_n, our_n, big["events"])
            ctx.figures[f"replay.{db}"] = our_n / our_s
            base = "raw hand-driven pull + orjson + executemany, commit per 1000"
            rows.append(
                rate_row(
                    f"replay {our_n:,} events → {db} (apply_many)",
                    our_n / our_s,
                    raw_n / raw_s,
                    0.50,
                    base,
                    f"ours {our_s:.1f} s, raw {raw_s:.1f} s",
                    events=our_n,
                )
            )
            if db == "SQLite":
                per_url = f"sqlite+aiosqlite:///{ctx.folder / f'per-{uuid.uuid4().hex[:6]}.sqlite3'}"
            else:
                per_url = ctx.pg_database()
            per_s, per_n = await timed(ours(nc, per_url, CounterLog()))
            rows.append(
                rate_row(
                    f"replay {per_n:,} events → {db} (apply per event)",
                    per_n / per_s,
                    raw_n / raw_s,
                    None,
                    base,
                    f"one INSERT per event: {per_s:.1f} s",
                    events=per_n,
                )
            )
    finally:
        await nc.close()
    return rows


if __name__ == "__main__":
    # ``python -m bench.replay --scale county|city|demo``: every read model from a seeded history
    # (bench/replay_scale.py); ``python -m bench --only replay`` runs ``run`` above.
    from bench.replay_scale import main

    raise SystemExit(main())
