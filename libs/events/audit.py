"""The audit trail: verify every hash chain, read one aggregate's history, export envelopes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.envelope import GENESIS, chain_hash
from libs.events.projection import read_stream
from libs.events.subjects import CONTEXTS, stream_name


@dataclass
class AuditReport:
    events: int = 0
    aggregates: int = 0
    breaks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


async def verify_all(nc: NATS, contexts: tuple[str, ...] = CONTEXTS) -> AuditReport:
    """Recompute every aggregate's chain in stream order, keeping only each chain's last link.

    The streams deny deletes, so every stream sequence up to the head must be readable: the server
    silently skips a message whose stored checksum no longer matches (altered on disk), which
    would otherwise hide an altered last event of an aggregate.
    """
    report = AuditReport()
    for context in contexts:
        last: dict[str, tuple[int, str]] = {}
        state = (await jsapi.stream_info(nc, stream_name(context)))["state"]
        head = int(state["last_seq"])
        expected = int(state["first_seq"]) or 1
        async for batch in read_stream(nc, context):
            for d in batch:
                if expected < d.seq and expected <= head:
                    report.breaks.append(
                        f"{stream_name(context)} stream seq {expected}..{min(d.seq - 1, head)}: stored but unreadable"
                    )
                expected = max(expected, d.seq + 1)
                report.events += 1
                try:
                    body = orjson.loads(d.data)
                    unhashed = {k: v for k, v in body.items() if k != "hash"}
                    seq, prev = last.get(d.subject, (0, GENESIS))
                    where = f"{d.subject} #{body.get('sequence')} (stream seq {d.seq})"
                    if body.get("sequence") != seq + 1:
                        report.breaks.append(f"{where}: sequence should be {seq + 1}")
                    if body.get("prev_hash") != prev:
                        report.breaks.append(f"{where}: prev_hash does not match the previous event")
                    if chain_hash(unhashed) != body.get("hash"):
                        report.breaks.append(f"{where}: content does not match its hash")
                    last[d.subject] = (int(body.get("sequence", seq + 1)), str(body.get("hash", "")))
                except (orjson.JSONDecodeError, TypeError, AttributeError):
                    report.breaks.append(f"{d.subject} (stream seq {d.seq}): not a readable envelope")
        if head and expected <= head:
            report.breaks.append(f"{stream_name(context)} stream seq {expected}..{head}: stored but unreadable")
        report.aggregates += len(last)
    return report


async def export(
    nc: NATS, since: datetime | None = None, contexts: tuple[str, ...] = CONTEXTS
) -> AsyncIterator[dict[str, Any]]:
    since_ns = int(since.timestamp() * 1e9) if since else 0
    for context in contexts:
        async for batch in read_stream(nc, context):
            for d in batch:
                if d.timestamp_ns >= since_ns:
                    yield orjson.loads(d.data)


async def history(nc: NATS, aggregate_id: str, contexts: tuple[str, ...] = CONTEXTS) -> list[dict[str, Any]]:
    """Every event of one aggregate, oldest first, whatever its context or jurisdiction."""
    out: list[dict[str, Any]] = []
    for context in contexts:
        subject = f"renda.{context}.*.*.*.*.{aggregate_id}"
        async for batch in read_stream(nc, context, subject_filter=subject):
            out.extend(orjson.loads(d.data) for d in batch)
    return out
