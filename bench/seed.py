"""Filling streams fast: many acknowledged publishes in flight on one reply subscription."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg


async def publish_many(nc: NATS, items: Iterable[tuple[str, bytes, dict[str, str] | None]], window: int = 2_000) -> int:
    """Publish every (subject, payload, headers) with up to ``window`` acks outstanding; raise on a refusal."""
    inbox = nc.new_inbox()
    slots = asyncio.Semaphore(window)
    done = 0
    failed: list[str] = []
    finished = asyncio.Event()
    sent = 0
    closed = False

    async def on_ack(m: Msg) -> None:
        nonlocal done
        reply = orjson.loads(m.data)
        if reply.get("error"):
            failed.append(str(reply["error"]))
        done += 1
        slots.release()
        if closed and done == sent:
            finished.set()

    sub = await nc.subscribe(inbox + ".*", cb=on_ack)
    try:
        for subject, payload, headers in items:
            await slots.acquire()
            await nc.publish(subject, payload, reply=f"{inbox}.{sent}", headers=headers)
            sent += 1
        closed = True
        if done < sent:
            await nc.flush()
            await asyncio.wait_for(finished.wait(), 120)
    finally:
        await sub.unsubscribe()
    if failed:
        raise RuntimeError(f"{len(failed)} publishes refused, first: {failed[0]}")
    return sent


async def publish_batches(nc: NATS, items: list[tuple[str, bytes]], batch: int = 500, prefix: str = "seed") -> int:
    """Store ``items`` (subject, payload) as atomic batches: one fsync per batch instead of per message.

    Only for filling the stores before measuring; ``sync_interval: always`` makes one-by-one seeding
    of 200,000 events take minutes.
    """
    for b, start in enumerate(range(0, len(items), batch)):
        chunk = items[start : start + batch]
        bid = f"{prefix}-{b}"
        last = len(chunk)
        for i, (subject, payload) in enumerate(chunk[:-1], start=1):
            await nc.publish(subject, payload, headers={"Nats-Batch-Id": bid, "Nats-Batch-Sequence": str(i)})
        subject, payload = chunk[-1]
        reply = await nc.request(
            subject,
            payload,
            timeout=30,
            headers={"Nats-Batch-Id": bid, "Nats-Batch-Sequence": str(last), "Nats-Batch-Commit": "1"},
        )
        body = orjson.loads(reply.data)
        if body.get("error"):
            raise RuntimeError(f"seed batch {bid} refused: {body['error']}")
    return len(items)
