"""peer: the ``eventsourcing`` library (v9, SQLite and PostgreSQL recorders) doing the same work.

Same durability: PostgreSQL fsyncs each commit (``synchronous_commit=on``), eventsourcing's SQLite
recorder runs WAL with the default ``synchronous=FULL``; JetStream runs ``sync_interval: always``.
Append = get the aggregate (load) → trigger one event (decide) → save (append), sequential and
with 64 threads (the library has no async API). Load = get one aggregate of 20 events.
Our figures come from the append and load benchmarks of the same run (measured here if absent).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from sqlalchemy.engine import make_url

from bench import append, load
from bench.common import Row, latency_row, p, rate_row
from bench.context import Ctx

THREADS = 64


class PeerCounter(Aggregate):
    @event("Created")
    def __init__(self, name: str) -> None:
        self.name = name
        self.value = 0

    @event("Incremented")
    def increment(self, by: int, note: str) -> None:
        self.value += by


class Counters(Application):
    pass


def env_for(kind: str, ctx: Ctx) -> dict[str, str]:
    if kind == "SQLite":
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(ctx.folder / f"peer-{uuid.uuid4().hex[:6]}.sqlite3"),
                "SQLITE_LOCK_TIMEOUT": "30"}
    u = make_url(ctx.pg_database())
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": u.database or "",
            "POSTGRES_HOST": u.host or "127.0.0.1", "POSTGRES_PORT": str(u.port or 5432),
            "POSTGRES_USER": u.username or "postgres", "POSTGRES_PASSWORD": u.password or "",
            "POSTGRES_POOL_SIZE": str(THREADS), "POSTGRES_MAX_OVERFLOW": "0"}


def seed(app: Counters, aggregates: int, events: int) -> list[uuid.UUID]:
    ids = []
    for start in range(0, aggregates, 100):
        batch = []
        for _ in range(min(100, aggregates - start)):
            c = PeerCounter(name="c")
            for _ in range(events - 1):
                c.increment(1, "x" * 120)
            batch.append(c)
            ids.append(c.id)
        app.save(*batch)
    return ids


def command(app: Counters, cid: uuid.UUID) -> None:
    c: Any = app.repository.get(cid)
    c.increment(1, "x" * 120)
    app.save(c)


def measure(kind: str, ctx: Ctx) -> dict[str, float]:
    s = ctx.sizes
    app = Counters(env=env_for(kind, ctx))
    try:
        # The load target: 20 events among peer_events others (the table's index makes spread moot).
        ids = seed(app, s.peer_events // 20, 20)
        target = ids[0]
        lat = []
        for _ in range(s.load_samples):
            t0 = time.perf_counter()
            agg: Any = app.repository.get(target)
            lat.append((time.perf_counter() - t0) * 1e3)
            assert agg.version == 20
        work = seed(app, 100, 5)
        for cid in work[:10]:
            command(app, cid)
        t0 = time.perf_counter()
        for i in range(s.peer_append):
            command(app, work[i % len(work)])
        seq = s.peer_append / (time.perf_counter() - t0)
        pipe_ids = seed(app, THREADS, 5)
        per = max(1, s.peer_append * 2 // THREADS)

        def worker(cid: uuid.UUID) -> None:
            for _ in range(per):
                command(app, cid)

        with ThreadPoolExecutor(THREADS) as pool:
            t0 = time.perf_counter()
            list(pool.map(worker, pipe_ids))
            conc = per * THREADS / (time.perf_counter() - t0)
        return {"seq": seq, "conc": conc, "p50": p(lat, 50), "p99": p(lat, 99)}
    finally:
        app.close()


async def run(ctx: Ctx) -> list[Row]:
    if "append.seq" not in ctx.figures:
        nc = await ctx.connect()
        try:
            await append.create_stream(nc, append.WRITE_CONTEXT)
            ctx.figures["append.seq"] = await append.measure_ours(nc, ctx.sizes.append_seq, 1, "peer-s")
            ctx.figures["append.pipe"] = await append.measure_ours(nc, ctx.sizes.append_pipe, 64, "peer-p")
        finally:
            await nc.close()
    if "load.20.p50" not in ctx.figures:
        await load.run(ctx)
    rows = []
    saved = dict(os.environ)
    for kind in ("SQLite", "PostgreSQL"):
        if kind == "PostgreSQL":
            ctx.pg()
        peer = await asyncio.to_thread(measure, kind, ctx)
        os.environ.clear()
        os.environ.update(saved)
        base = f"eventsourcing 9.5 ({kind} recorder)"
        rows += [
            rate_row(f"vs peer: append sequential ({kind})", ctx.figures["append.seq"], peer["seq"], 1.0, base),
            rate_row(f"vs peer: append concurrent ({kind}, 64)", ctx.figures["append.pipe"], peer["conc"], 1.0,
                     base, "ours: 64 asyncio tasks; peer: 64 threads"),
            latency_row(f"vs peer: load 20 events p50 ({kind})", ctx.figures["load.20.p50"], peer["p50"], 1.0, base,
                        "ours: spread in the big stream, cold; peer: indexed table"),
            latency_row(f"vs peer: load 20 events p99 ({kind})", ctx.figures["load.20.p99"], peer["p99"], 1.0, base),
        ]
    return rows
