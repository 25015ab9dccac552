"""peer: the ``eventsourcing`` library (v9, SQLite and PostgreSQL recorders) doing the same work.

Same durability: PostgreSQL fsyncs each commit (``synchronous_commit=on``), eventsourcing's SQLite
recorder runs WAL with the default ``synchronous=FULL``; JetStream runs ``sync_interval: always``.
Append = get the aggregate (load) → trigger one event (decide) → save (append), sequential and
with 64 threads (the library has no async API). Load = get one aggregate of 20 events.
Our figures come from the append and load benchmarks of the same run (measured here if absent):
the store as a service runs it, snapshots on; ours with snapshots off is reported beside it.

The like-for-like comparison of snapshots: the peer's own snapshotting (``snapshotting_intervals``
= every 10 versions, taken by ``save`` as the version reaches a multiple of 10, read by
``repository.get`` with the events after it), reported as extra rows.
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


class SnapshottingCounters(Application):
    snapshotting_intervals = {PeerCounter: 10}  # noqa: RUF012 - the library's class attribute


def env_for(kind: str, ctx: Ctx) -> dict[str, str]:
    if kind == "SQLite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(ctx.folder / f"peer-{uuid.uuid4().hex[:6]}.sqlite3"),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    u = make_url(ctx.pg_database())
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": u.database or "",
        "POSTGRES_HOST": u.host or "127.0.0.1",
        "POSTGRES_PORT": str(u.port or 5432),
        "POSTGRES_USER": u.username or "postgres",
        "POSTGRES_PASSWORD": u.password or "",
        "POSTGRES_POOL_SIZE": str(THREADS),
        "POSTGRES_MAX_OVERFLOW": "0",
    }


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


def measure(kind: str, ctx: Ctx, snapshotting: bool = False) -> dict[str, float]:
    """The peer's load latency and append rates; with ``snapshotting``, load and sequential append only."""
    s = ctx.sizes
    app = (SnapshottingCounters if snapshotting else Counters)(env=env_for(kind, ctx))
    try:
        # The load target: 20 events among peer_events others (the table's index makes spread moot).
        ids = seed(app, s.peer_events // 20, 20)
        target = ids[0]
        if snapshotting:  # taken by save at versions 10 and 20: get reads the one at 20, no event
            assert app.snapshots is not None
            assert next(iter(app.snapshots.get(target, desc=True, limit=1))).originator_version == 20
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
        if snapshotting:
            return {"seq": seq, "p50": p(lat, 50), "p99": p(lat, 99)}
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
    f = ctx.figures
    for kind in ("SQLite", "PostgreSQL"):
        if kind == "PostgreSQL":
            ctx.pg()
        peer = await asyncio.to_thread(measure, kind, ctx)
        os.environ.clear()
        os.environ.update(saved)
        snap = await asyncio.to_thread(measure, kind, ctx, True)
        os.environ.clear()
        os.environ.update(saved)
        base = f"eventsourcing 9.5 ({kind} recorder)"
        snap_base = f"eventsourcing 9.5 ({kind} recorder), snapshotting every 10"
        rows += [
            rate_row(f"vs peer: append sequential ({kind})", f["append.seq"], peer["seq"], 1.0, base),
            rate_row(
                f"vs peer: append concurrent ({kind}, 64)",
                f["append.pipe"],
                peer["conc"],
                1.0,
                base,
                "ours: 64 asyncio tasks; peer: 64 threads",
            ),
            latency_row(
                f"vs peer: load 20 events p50 ({kind})",
                f["load.20.p50"],
                peer["p50"],
                1.0,
                base,
                "ours: spread in the big stream, cold, snapshots on (its snapshot is of the last event); "
                "peer: indexed table, no snapshots",
            ),
            latency_row(f"vs peer: load 20 events p99 ({kind})", f["load.20.p99"], peer["p99"], 1.0, base),
            latency_row(
                f"vs peer: load 20 events p50 ({kind}), ours snapshots off",
                f["load.20.off.p50"],
                peer["p50"],
                None,
                base,
                "ours: one batch Direct Get of the 20 spread events, cold",
            ),
            latency_row(
                f"vs peer: load 20 events p99 ({kind}), ours snapshots off",
                f["load.20.off.p99"],
                peer["p99"],
                None,
                base,
            ),
            latency_row(
                f"vs peer with snapshots: load 20 events p50 ({kind})",
                f["load.20.p50"],
                snap["p50"],
                None,
                snap_base,
                "both read a snapshot of the last event: ours with the last event in one "
                "round trip, the peer's get selects its snapshot, then the events after it (none)",
            ),
            latency_row(
                f"vs peer with snapshots: load 20 events p99 ({kind})", f["load.20.p99"], snap["p99"], None, snap_base
            ),
            rate_row(
                f"vs peer with snapshots: append sequential ({kind})",
                f["append.seq"],
                snap["seq"],
                None,
                snap_base,
                "the peer's save takes its snapshot in the command at versions 10, 20 …; "
                "ours publishes its snapshot in the background",
            ),
        ]
    return rows
