"""load: EventStore.load of one spread aggregate in a big stream vs the fastest raw subject-filtered read.

Raw candidates, both by plain nats-py and without decoding: (a) one batch Direct Get
(``next_by_subj`` + ``batch``) answered on a long-lived reply subscription, (b) an ordered
consumer filtered on the subject (``js.subscribe(..., ordered_consumer=True)``). The faster
one's p50 is the baseline. Ours is measured cold (a new EventStore each time: no state kept
between loads), which is the worst case of a command on an aggregate this process has not seen.
"""

from __future__ import annotations

import asyncio
import time

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from bench.common import COUNTER, Row, counter_subject, latency_row, p
from bench.context import Ctx
from libs.events.store import EventStore
from libs.events.subjects import stream_name

STREAM = stream_name(COUNTER.context)


class RawDirect:
    """Batch Direct Get by hand: one reply subscription, a future per request, bytes only."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
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
        await self.nc.publish(f"$JS.API.DIRECT.GET.{STREAM}",
                              orjson.dumps({"seq": 1, "next_by_subj": subject, "batch": 1000}),
                              reply=f"{self.prefix}.{token}")
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


async def measure(nc: NATS, cid: str, j: str, events: int, samples: int, with_ordered: bool) -> dict[str, list[float]]:
    subject = counter_subject(cid, j)
    raw = RawDirect(nc)
    await raw.open()

    async def ours() -> None:
        loaded = await EventStore(nc).load(COUNTER, cid, jurisdiction=j)
        assert loaded.state.events == events, loaded.state

    async def direct() -> None:
        assert len(await raw.read(subject)) == events

    async def ordered() -> None:
        await ordered_read(nc, subject, events)

    await sample(ours, 20)
    await sample(direct, 20)
    res: dict[str, list[float]] = {"ours": [], "direct": [], "ordered": []}
    for _ in range(4):  # interleaved rounds, so drift hits both sides alike
        res["direct"] += await sample(direct, samples // 4)
        res["ours"] += await sample(ours, samples // 4)
    if with_ordered:
        res["ordered"] = await sample(ordered, max(20, samples // 10))
    return res


async def run(ctx: Ctx) -> list[Row]:
    big = await ctx.big_stream()
    nc = await ctx.connect()
    rows = []
    try:
        for label, (cid, j), events, goal in (
            ("20 events", big["target"], 20, 1.5),
            ("500 events", big["long"], 500, None),
        ):
            samples = ctx.sizes.load_samples if events <= 20 else max(40, ctx.sizes.load_samples // 5)
            res = await measure(nc, cid, j, events, samples, with_ordered=True)
            raw_name = "direct"
            if res["ordered"] and p(res["ordered"], 50) < p(res["direct"], 50):
                raw_name = "ordered"
            base = {"direct": "raw batch Direct Get (nats-py, bytes only)",
                    "ordered": "raw ordered consumer (nats-py)"}[raw_name]
            extra = {f"{k}_p{q}": p(v, q) for k, v in res.items() if v for q in (50, 99)}
            others = ", ".join(f"{k} p50 {p(v, 50):.2f} ms" for k, v in res.items() if v and k != "ours")
            note = f"{events}-event aggregate in a stream of {big['events']:,}; {others}"
            ctx.figures[f"load.{events}.p50"] = p(res["ours"], 50)
            ctx.figures[f"load.{events}.p99"] = p(res["ours"], 99)
            for q in (50, 99):
                rows.append(latency_row(f"load {label} p{q}", p(res["ours"], q), p(res[raw_name], q),
                                        goal, base, note, **extra))
    finally:
        await nc.close()
    return rows
