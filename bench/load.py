"""load: EventStore.load of one spread aggregate in a big stream vs the fastest raw subject-filtered read.

Raw candidates, both by plain nats-py and without decoding: (a) one batch Direct Get
(``next_by_subj`` + ``batch``) answered on a long-lived reply subscription, (b) an ordered
consumer filtered on the subject (``js.subscribe(..., ordered_consumer=True)``). The faster
one's p50 is the baseline. Ours is measured cold (a new EventStore each time: no state kept
between loads), which is the worst case of a command on an aggregate this process has not seen.

Ours runs as a service runs it, snapshots on (libs/events/snapshots.py). The snapshots are
written the way production writes them: one load through the store folds the aggregate's events
and, having folded ``snapshot_every`` (10) or more, writes its snapshot in the background. The
same loads with snapshots off are reported beside them, and so are the cases snapshots do not
help: a snapshot nine events behind (the most ``snapshot_every=10`` leaves) and a young
aggregate that has none yet (one more round trip than with snapshots off).
"""

from __future__ import annotations

import asyncio
import time

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from bench.common import (
    COUNTER,
    Counter,
    Row,
    counter_subject,
    counter_type,
    create_stream,
    decide_increment,
    jurisdiction_of,
    latency_row,
    meta,
    p,
)
from bench.context import Ctx
from libs.events import jetstream as jsapi
from libs.events import snapshots
from libs.events.aggregate import AggregateType
from libs.events.store import EventStore
from libs.events.subjects import SNAPSHOT_STREAM, snapshot_subject, stream_name

STREAM = stream_name(COUNTER.context)


class RawDirect:
    """Batch Direct Get by hand: one reply subscription, a future per request, bytes only."""

    def __init__(self, nc: NATS, stream: str = STREAM) -> None:
        self.nc = nc
        self.stream = stream
        self.prefix = nc.new_inbox()
        self.pending: dict[str, tuple[list[bytes], asyncio.Future[None]]] = {}
        self.n = 0

    async def open(self) -> None:
        async def cb(m: Msg) -> None:
            got, done = self.pending[m.subject.rsplit(".", 1)[1]]
            if m.headers and m.headers.get("Status"):
                done.set_result(None)
            else:
                got.append(m.data)

        await self.nc.subscribe(self.prefix + ".*", cb=cb)

    async def read(self, subject: str) -> list[bytes]:
        self.n += 1
        token = str(self.n)
        got: list[bytes] = []
        done = asyncio.get_running_loop().create_future()
        self.pending[token] = (got, done)
        await self.nc.publish(
            f"$JS.API.DIRECT.GET.{self.stream}",
            orjson.dumps({"seq": 1, "next_by_subj": subject, "batch": 1000}),
            reply=f"{self.prefix}.{token}",
        )
        await asyncio.wait_for(done, 5)
        del self.pending[token]
        return got


async def ordered_read(nc: NATS, subject: str, expect: int) -> list[bytes]:
    js = nc.jetstream()
    sub = await js.subscribe(subject, ordered_consumer=True, stream=STREAM)
    got = []
    try:
        while len(got) < expect:
            m = await sub.next_msg(timeout=5)
            got.append(m.data)
    finally:
        await sub.unsubscribe()
    return got


async def sample(fn: object, samples: int) -> list[float]:
    out = []
    for _ in range(samples):
        t0 = time.perf_counter()
        await fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1e3)
    return out


async def measure(
    nc: NATS, cid: str, j: str, events: int, samples: int, with_ordered: bool, agg: AggregateType[Counter] = COUNTER
) -> dict[str, list[float]]:
    subject = counter_subject(cid, j, agg.context)
    raw = RawDirect(nc, stream_name(agg.context))
    await raw.open()

    async def ours() -> None:
        loaded = await EventStore(nc).load(agg, cid, jurisdiction=j)
        assert loaded.state.events == events, loaded.state

    async def ours_off() -> None:
        loaded = await EventStore(nc, snapshots=False).load(agg, cid, jurisdiction=j)
        assert loaded.state.events == events, loaded.state

    async def direct() -> None:
        assert len(await raw.read(subject)) == events

    async def ordered() -> None:
        await ordered_read(nc, subject, events)

    await sample(ours, 20)
    await sample(ours_off, 5)
    await sample(direct, 20)
    res: dict[str, list[float]] = {"ours": [], "ours_off": [], "direct": [], "ordered": []}
    for _ in range(4):  # interleaved rounds, so drift hits every side alike
        res["direct"] += await sample(direct, samples // 4)
        res["ours"] += await sample(ours, samples // 4)
        res["ours_off"] += await sample(ours_off, samples // 4)
    if with_ordered:
        res["ordered"] = await sample(ordered, max(20, samples // 10))
    return res


async def seed_snapshots(nc: NATS, aggregates: list[tuple[str, str]]) -> list[int]:
    """One load of each through a store, as a service's first command on it: the load folds every
    event and writes the snapshot; returns the versions stored."""
    store = EventStore(nc)
    for cid, j in aggregates:
        await store.load(COUNTER, cid, jurisdiction=j)
    assert store.snapshots is not None
    await store.snapshots.flush()
    versions = []
    for cid, _ in aggregates:
        got = await jsapi.direct_get_last(nc, SNAPSHOT_STREAM, snapshot_subject(COUNTER.context, COUNTER.name, cid))
        assert got is not None, cid
        versions.append(orjson.loads(got.data)["version"])
    return versions


async def seed_snapshot_behind(nc: NATS, cid: str, j: str, version: int) -> None:
    """The snapshot a store writes on folding the first ``version`` events, by the store's own codec."""
    envelopes = await EventStore(nc, snapshots=False).read(COUNTER, cid, j)
    kept = envelopes[:version]
    codec = snapshots.codec_of(COUNTER)
    assert codec is not None
    taken = snapshots.Snapshot(
        version=version,
        last_stream_seq=kept[-1].stream_seq,
        last_hash=kept[-1].hash,
        jurisdiction=j,
        causations=tuple(dict.fromkeys(e.causation_id for e in kept)),
        state=COUNTER.replay(cid, [e.data for e in kept]),
    )
    body = snapshots.encode(COUNTER, codec, cid, taken)
    await jsapi.publish(nc, snapshot_subject(COUNTER.context, COUNTER.name, cid), body, {})


YOUNG_CONTEXT = "benchyoung"  # a stream of its own: RENDA_BENCH's event count is checked by replay
YOUNG = counter_type(YOUNG_CONTEXT)


async def seed_young(nc: NATS, events: int) -> tuple[str, str]:
    """An aggregate of ``events`` commands through the store: fewer than snapshot_every, so no snapshot."""
    await create_stream(nc, YOUNG_CONTEXT)
    cid, j = "young", "123403001"
    store = EventStore(nc)
    for _ in range(events):
        await store.execute(YOUNG, cid, decide_increment, meta(), jurisdiction=j)
    return cid, j


def rows_of(
    name: str,
    res: dict[str, list[float]],
    key: str,
    base_key: str,
    base: str,
    goal: float | None,
    note: str,
    **extra: float,
) -> list[Row]:
    return [
        latency_row(f"{name} p{q}", p(res[key], q), p(res[base_key], q), goal, base, note if q == 50 else "", **extra)
        for q in (50, 99)
    ]


async def run(ctx: Ctx) -> list[Row]:
    big = await ctx.big_stream()
    nc = await ctx.connect()
    rows = []
    try:
        versions = await seed_snapshots(nc, [big["target"], big["long"]])
        assert versions == [20, 500], versions
        for label, (cid, j), events, goal in (
            ("20 events", big["target"], 20, 1.5),
            ("500 events", big["long"], 500, None),
        ):
            samples = ctx.sizes.load_samples if events <= 20 else max(40, ctx.sizes.load_samples // 5)
            res = await measure(nc, cid, j, events, samples, with_ordered=True)
            raw_name = "direct"
            if res["ordered"] and p(res["ordered"], 50) < p(res["direct"], 50):
                raw_name = "ordered"
            base = {
                "direct": "raw batch Direct Get (nats-py, bytes only)",
                "ordered": "raw ordered consumer (nats-py)",
            }[raw_name]
            extra = {f"{k}_p{q}": p(v, q) for k, v in res.items() if v for q in (50, 99)}
            others = ", ".join(f"{k} p50 {p(v, 50):.2f} ms" for k, v in res.items() if v and k not in ("ours",))
            where = f"{events}-event aggregate spread over a stream of {big['events']:,}"
            ctx.figures[f"load.{events}.p50"] = p(res["ours"], 50)
            ctx.figures[f"load.{events}.p99"] = p(res["ours"], 99)
            ctx.figures[f"load.{events}.off.p50"] = p(res["ours_off"], 50)
            ctx.figures[f"load.{events}.off.p99"] = p(res["ours_off"], 99)
            rows += rows_of(
                f"load {label}",
                res,
                "ours",
                raw_name,
                base,
                goal,
                f"{where}; snapshots on (default): its snapshot (version {events}) was written by one earlier load "
                f"through the store; a cold load asks for it and the last event at once (one round trip) and "
                f"reads no event; the raw side reads all {events}; {others}",
                **extra,
            )
            rows += rows_of(
                f"load {label}, snapshots off",
                res,
                "ours_off",
                raw_name,
                base,
                None,
                f"{where}; EventStore(nc, snapshots=False): one batch Direct Get of every event, decoded and folded",
            )

        # A snapshot nine events behind: the tail is read (a second round trip) and folded.
        cid, j = "s1", jurisdiction_of(1)  # as bench/context.py seeds it
        await seed_snapshot_behind(nc, cid, j, 11)
        samples = max(40, ctx.sizes.load_samples // 2)
        res = await measure(nc, cid, j, 20, samples, with_ordered=False)
        rows += rows_of(
            "load 20 events, snapshot 9 behind",
            res,
            "ours",
            "direct",
            "raw batch Direct Get (nats-py, bytes only)",
            None,
            f"another 20-event spread aggregate whose snapshot is at version 11 (as a store with "
            f"snapshot_every=10 leaves it at worst): snapshot + last event, then events 12-20 read and folded; "
            f"snapshots off p50 {p(res['ours_off'], 50):.2f} ms",
        )

        # A young aggregate: no snapshot yet, so snapshots on costs one more round trip.
        cid, j = await seed_young(nc, 5)
        res = await measure(nc, cid, j, 5, samples, with_ordered=False, agg=YOUNG)
        rows += rows_of(
            "load 5 events, no snapshot yet",
            res,
            "ours",
            "ours_off",
            "ours, snapshots off (one batch read)",
            None,
            f"a 5-event aggregate (stream {stream_name(YOUNG_CONTEXT)}): snapshot (none) + last event, then every "
            f"event; raw batch Direct Get p50 {p(res['direct'], 50):.2f} ms",
        )
    finally:
        await nc.close()
    return rows
