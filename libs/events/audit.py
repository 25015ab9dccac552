"""The audit trail: verify (libs/events/verify.py), one aggregate's history, export of envelopes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime

import orjson
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.projection.consumer import read_stream
from libs.events.subjects import CONTEXTS, jurisdiction_filter, stream_name
from libs.events.verify import AuditReport, verify_all

__all__ = ["AuditReport", "export", "export_lines", "history", "verify_all"]


async def export_lines(
    nc: NATS,
    since: datetime | None = None,
    contexts: tuple[str, ...] = CONTEXTS,
    *,
    under: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> AsyncIterator[bytes]:
    """The stored envelopes as they are (bytes, one per event), in stream order per context.

    ``under``: only what lies at or under that division code (a subject filter on the contract's
    jurisdiction tokens, so the server sends nothing else); ``since``: stored at or after then.
    """
    since_ns = int(since.timestamp() * 1e9) if since else 0
    for context in contexts:
        head = await jsapi.last_seq(nc, stream_name(context))
        subject_filter = jurisdiction_filter(context, under) if under else None
        async for batch in read_stream(nc, context, subject_filter=subject_filter):
            for d in batch:
                if d.timestamp_ns >= since_ns:
                    yield d.data
            if progress is not None:
                progress(stream_name(context), batch[-1].seq, head)


async def export(
    nc: NATS, since: datetime | None = None, contexts: tuple[str, ...] = CONTEXTS, *, under: str | None = None
) -> AsyncIterator[dict[str, object]]:
    async for data in export_lines(nc, since, contexts, under=under):
        yield orjson.loads(data)


async def history(nc: NATS, aggregate_id: str, contexts: tuple[str, ...] = CONTEXTS) -> list[dict[str, object]]:
    """Every event of one aggregate, oldest first, whatever its context or jurisdiction."""
    out: list[dict[str, object]] = []
    for context in contexts:
        subject = f"renda.{context}.*.*.*.*.{aggregate_id}"
        async for batch in read_stream(nc, context, subject_filter=subject):
            out.extend(orjson.loads(d.data) for d in batch)
    return out
