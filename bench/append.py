"""append: load → decide → append of one event via EventStore vs raw acknowledged publishes.

The raw side publishes the same kind of envelope with the same headers (``Nats-Msg-Id`` and
``Nats-Expected-Last-Subject-Sequence``, tracked in memory from the acks: it never reads) to
aggregates of its own in the same stream.

Ours is the store as a service runs it, snapshots on: every aggregate crosses 10 events during
the run, so each writes one snapshot (a background publish) on the way. The sequential figure
with snapshots off is reported beside it.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
from nats.aio.client import Client as NATS

from bench.common import (
    WCOUNTER,
    WRITE_CONTEXT,
    Row,
    counter_envelopes,
    counter_subject,
    create_stream,
    decide_increment,
    jurisdiction_of,
    meta,
    rate_row,
)
from bench.context import Ctx
from bench.seed import publish_batches
from libs.events.keys import Signer, load_signer
from libs.events.store import EventStore

IN_FLIGHT = 64
SEED_EVENTS = 5  # "existing aggregates": each starts with this many events


async def prepare(nc: NATS, prefix: str, aggregates: int) -> dict[str, tuple[str, int]]:
    """``aggregates`` counters with SEED_EVENTS events each; returns id -> (jurisdiction, last stream seq)."""
    items = []
    where = {}
    for a in range(aggregates):
        cid = f"{prefix}{a}"
        j = jurisdiction_of(a)
        where[cid] = j
        subject = counter_subject(cid, j, WRITE_CONTEXT)
        items.extend((subject, payload) for payload in counter_envelopes(cid, j, SEED_EVENTS))
    await publish_batches(nc, items, prefix=f"seed-{prefix}-{uuid.uuid4().hex[:6]}")
    out = {}
    for cid, j in where.items():
        subject = counter_subject(cid, j, WRITE_CONTEXT)
        reply = await nc.request(
            f"$JS.API.DIRECT.GET.RENDA_{WRITE_CONTEXT.upper()}", orjson.dumps({"last_by_subj": subject})
        )
        out[cid] = (j, int(reply.headers["Nats-Sequence"]))  # type: ignore[index]
    return out


async def ours_commands(store: EventStore, ids: list[tuple[str, str]], n: int) -> None:
    for i in range(n):
        cid, j = ids[i % len(ids)]
        await store.execute(WCOUNTER, cid, decide_increment, meta(), jurisdiction=j)


async def raw_commands(nc: NATS, subjects: list[str], last: dict[str, int], payload: bytes, n: int) -> None:
    for i in range(n):
        subject = subjects[i % len(subjects)]
        headers = {"Nats-Msg-Id": str(uuid.uuid4()), "Nats-Expected-Last-Subject-Sequence": str(last[subject])}
        reply = await nc.request(subject, payload, timeout=10, headers=headers)
        ack = orjson.loads(reply.data)
        if "error" in ack:
            raise RuntimeError(f"raw publish refused: {ack['error']}")
        last[subject] = ack["seq"]


async def measure_ours(
    nc: NATS, n: int, in_flight: int, prefix: str, *, snapshots: bool = True, signer: Signer | None = None
) -> float:
    """Commands per second of EventStore.execute; ``in_flight`` aggregates each driven by one task."""
    aggregates = max(in_flight, 100) if in_flight == 1 else in_flight
    seeded = await prepare(nc, prefix, aggregates)
    store = EventStore(nc, snapshots=snapshots, signer=signer)
    ids = list((cid, j) for cid, (j, _) in seeded.items())
    await ours_commands(store, ids[:10], 20)  # warm-up
    started = time.perf_counter()
    if in_flight == 1:
        await ours_commands(store, ids, n)
    else:
        per = n // in_flight
        await asyncio.gather(*(ours_commands(store, [ids[k]], per) for k in range(in_flight)))
        n = per * in_flight
    return n / (time.perf_counter() - started)


async def measure_raw(nc: NATS, n: int, in_flight: int, prefix: str) -> float:
    aggregates = max(in_flight, 100) if in_flight == 1 else in_flight
    seeded = await prepare(nc, prefix, aggregates)
    subjects = [counter_subject(cid, j, WRITE_CONTEXT) for cid, (j, _) in seeded.items()]
    last = {counter_subject(cid, j, WRITE_CONTEXT): seq for cid, (j, seq) in seeded.items()}
    payload = counter_envelopes("r", jurisdiction_of(0), 1)[0]
    await raw_commands(nc, subjects[:10], last, payload, 20)  # warm-up
    started = time.perf_counter()
    if in_flight == 1:
        await raw_commands(nc, subjects, last, payload, n)
    else:
        per = n // in_flight
        await asyncio.gather(*(raw_commands(nc, [subjects[k]], last, payload, per) for k in range(in_flight)))
        n = per * in_flight
    return n / (time.perf_counter() - started)


async def run(ctx: Ctx) -> list[Row]:
    nc = await ctx.connect()
    try:
        await create_stream(nc, WRITE_CONTEXT)
        s = ctx.sizes
        # Interleave the sides (raw, ours, raw, ours) and keep the better of two, to damp the noise.
        half = s.append_seq // 2
        raw_seq = max(await measure_raw(nc, half, 1, "rs1-"), await measure_raw(nc, half, 1, "rs2-"))
        ours_seq = max(await measure_ours(nc, half, 1, "os1-"), await measure_ours(nc, half, 1, "os2-"))
        off_seq = max(
            await measure_ours(nc, half, 1, "of1-", snapshots=False),
            await measure_ours(nc, half, 1, "of2-", snapshots=False),
        )
        signer = load_signer("bench", ctx.folder)  # as a service appends: key id and signed chain head
        signed_seq = max(
            await measure_ours(nc, half, 1, "ss1-", signer=signer),
            await measure_ours(nc, half, 1, "ss2-", signer=signer),
        )
        raw_pipe = max(
            await measure_raw(nc, s.append_pipe // 2, IN_FLIGHT, "rp1-"),
            await measure_raw(nc, s.append_pipe // 2, IN_FLIGHT, "rp2-"),
        )
        ours_pipe = max(
            await measure_ours(nc, s.append_pipe // 2, IN_FLIGHT, "op1-"),
            await measure_ours(nc, s.append_pipe // 2, IN_FLIGHT, "op2-"),
        )
    finally:
        await nc.close()
    ctx.figures["append.seq"] = ours_seq
    ctx.figures["append.pipe"] = ours_pipe
    base = "raw nats-py request(), same headers, sync_interval always"
    return [
        rate_row(
            "append sequential (load→decide→append)",
            ours_seq,
            raw_seq,
            0.60,
            base,
            "snapshots on (default); 100 aggregates of 5 events, cycled: the first command on each loads it cold",
            n=s.append_seq,
        ),
        rate_row(
            "append sequential, signed (as services run)",
            signed_seq,
            raw_seq,
            0.60,
            base,
            "EventStore(signer=...): key id in each event, the chain head signed (Ed25519) per append",
            n=s.append_seq,
        ),
        rate_row(
            "append sequential, snapshots off",
            off_seq,
            raw_seq,
            None,
            base,
            "EventStore(nc, snapshots=False): no snapshot read on cold loads, none written",
            n=s.append_seq,
        ),
        rate_row(
            f"append pipelined ({IN_FLIGHT} aggregates in flight)", ours_pipe, raw_pipe, 0.40, base, n=s.append_pipe
        ),
    ]
