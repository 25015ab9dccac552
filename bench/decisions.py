"""Measured decisions for docs/decisions.md.

(1) a command of 3 events: an atomic batch of 3 messages vs one message carrying all 3;
(2) ``sync_interval: always`` vs the server default, for raw acknowledged publishes.
"""

from __future__ import annotations

import time
import uuid

import orjson

from bench.append import measure_raw
from bench.common import WRITE_CONTEXT, Row, connect, counter_envelopes, counter_subject, create_stream, fresh_nats
from bench.context import Ctx
from libs.events import jetstream as jsapi


async def three_events(ctx: Ctx, n: int) -> tuple[float, float]:
    nc = await ctx.connect()
    try:
        await create_stream(nc, WRITE_CONTEXT)
        envs = counter_envelopes("d", "123401001", 3)
        single = orjson.dumps([orjson.loads(e) for e in envs])
        rates = {}
        for mode in ("batch", "single", "batch", "single"):
            last: dict[str, int] = {}
            t0 = time.perf_counter()
            for i in range(n):
                subject = counter_subject(f"{mode}{i % 50}-{uuid.uuid4().hex}", "123401001", WRITE_CONTEXT)
                guard = {"Nats-Expected-Last-Subject-Sequence": str(last.get(subject, 0))}
                if mode == "batch":
                    msgs = [(e, {"Nats-Msg-Id": str(uuid.uuid4())}) for e in envs]
                    msgs[0] = (msgs[0][0], {**msgs[0][1], **guard})
                    ack = await jsapi.publish_atomic(nc, subject, msgs, batch_id=str(uuid.uuid4()))
                else:
                    ack = await jsapi.publish(nc, subject, single, {"Nats-Msg-Id": str(uuid.uuid4()), **guard})
                last[subject] = ack.seq
            rates[mode] = max(rates.get(mode, 0.0), n / (time.perf_counter() - t0))
        return rates["batch"], rates["single"]
    finally:
        await nc.close()


async def sync_default(ctx: Ctx, n: int, in_flight: int) -> float:
    with fresh_nats(ctx.folder / f"nats-default-{in_flight}", sync_always=False) as server:
        nc = await connect(server.url)
        try:
            await create_stream(nc, WRITE_CONTEXT)
            return await measure_raw(nc, n, in_flight, "d")
        finally:
            await nc.close()


async def run(ctx: Ctx) -> list[Row]:
    s = ctx.sizes
    batch, single = await three_events(ctx, s.append_seq // 4)
    nc = await ctx.connect()
    try:
        await create_stream(nc, WRITE_CONTEXT)
        always_seq = await measure_raw(nc, s.append_seq // 2, 1, "as")
        always_pipe = await measure_raw(nc, s.append_pipe // 2, 64, "ap")
    finally:
        await nc.close()
    default_seq = await sync_default(ctx, s.append_seq // 2, 1)
    default_pipe = await sync_default(ctx, s.append_pipe // 2, 64)
    return [
        Row(
            "decision: 3-event command as atomic batch (vs 1 message)",
            batch,
            single,
            "ops/s",
            "report",
            batch / single,
            None,
            "one message carrying the 3 events",
            "commands/s, sequential",
        ),
        Row(
            "decision: raw publish, sync always (vs default), sequential",
            always_seq,
            default_seq,
            "ops/s",
            "report",
            always_seq / default_seq,
            None,
            "same, default sync_interval (2 min)",
        ),
        Row(
            "decision: raw publish, sync always (vs default), 64 in flight",
            always_pipe,
            default_pipe,
            "ops/s",
            "report",
            always_pipe / default_pipe,
            None,
            "same, default sync_interval (2 min)",
        ),
    ]
