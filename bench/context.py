"""One benchmark run: its sizes, its fresh NATS server, its PostgreSQL, and the big seeded stream."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS
from rich.console import Console

from bench.common import (
    BENCH_CONTEXT,
    Row,
    Sizes,
    connect,
    counter_envelopes,
    counter_subject,
    create_stream,
    fresh_nats,
    jurisdiction_of,
)
from bench.seed import publish_batches
from libs.runtime.nats_server import EmbeddedNats
from tests.support.postgres import Postgres, postgres

LONG_ID = "long"  # the 500-event aggregate of the big stream
LONG_EVENTS = 500
TARGET_ID = "s0"  # an aggregate of 20 events, spread over the whole stream
PER_AGGREGATE = 20


@dataclass
class Ctx:
    sizes: Sizes
    nats: EmbeddedNats
    folder: Path
    console: Console
    stack: contextlib.ExitStack
    figures: dict[str, Any] = field(default_factory=dict)  # measured figures other benches may reuse
    _pg: Postgres | None = None
    _big: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        return self.nats.url

    async def connect(self) -> NATS:
        return await connect(self.url)

    def pg(self) -> Postgres:
        if self._pg is None:
            self._pg = self.stack.enter_context(postgres())
            self.console.print(f"[dim]PostgreSQL: {self._pg.source}[/dim]")
        return self._pg

    def pg_database(self) -> str:
        """A fresh PostgreSQL database (asyncpg URL), dropped at the end of the run."""
        return self.stack.enter_context(self.pg().database())

    async def big_stream(self) -> dict[str, Any]:
        """RENDA_BENCH with ``stream_events`` events: aggregates of 20 events interleaved round-robin, so
        every aggregate is spread over the whole stream, plus one 500-event aggregate spread evenly."""
        if self._big is not None:
            return self._big
        started = time.perf_counter()
        n = self.sizes.stream_events
        aggregates = n // PER_AGGREGATE
        nc = await self.connect()
        try:
            await create_stream(nc, BENCH_CONTEXT)
            chains = []
            for a in range(aggregates):
                cid = f"s{a}"
                j = jurisdiction_of(a)
                subject = counter_subject(cid, j)
                chains.append([(subject, payload) for payload in counter_envelopes(cid, j, PER_AGGREGATE)])
            long_j = jurisdiction_of(7)
            long_subject = counter_subject(LONG_ID, long_j)
            longs = [(long_subject, payload) for payload in counter_envelopes(LONG_ID, long_j, LONG_EVENTS)]
            items: list[tuple[str, bytes]] = []
            every = max(1, n // LONG_EVENTS)
            li = 0
            for k in range(PER_AGGREGATE):
                for a in range(aggregates):
                    items.append(chains[a][k])
                    if len(items) % every == 0 and li < LONG_EVENTS:
                        items.append(longs[li])
                        li += 1
            items.extend(longs[li:])
            await publish_batches(nc, items, prefix="big")
        finally:
            await nc.close()
        self._big = {
            "events": len(items),
            "aggregates": aggregates + 1,
            "target": (TARGET_ID, jurisdiction_of(0)),
            "long": (LONG_ID, long_j),
            "seconds": time.perf_counter() - started,
        }
        self.console.print(f"[dim]seeded RENDA_BENCH: {len(items):,} events in {self._big['seconds']:.1f} s[/dim]")
        return self._big


async def standalone(
    name: str, quick: bool, run: Callable[[Ctx], Awaitable[list[Row]]], figures: dict[str, Any] | None = None
) -> int:
    """``python -m bench.<name>`` on its own: a fresh NATS in a temporary folder with the context
    streams, one run, its table and notes; exit 1 when a goal is missed (as ``python -m bench``)."""
    import tempfile

    import nats

    from bench.__main__ import table
    from libs.events.streams import ensure_streams

    console = Console(width=150)
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"renda-bench-{name}-")))
        embedded = stack.enter_context(fresh_nats(folder / "nats"))
        nc = await nats.connect(embedded.url)
        await ensure_streams(nc, 1, create_missing=True)
        await nc.close()
        ctx = Ctx(Sizes.of(quick), embedded, folder, console, stack)
        ctx.figures.update(figures or {})
        started = time.perf_counter()
        rows = await run(ctx)
        console.print(table(rows, f"{name} ({'quick' if quick else 'full'}, {time.perf_counter() - started:.0f} s)"))
        for r in rows:
            if r.notes:
                console.print(f"[dim]· {r.name}: {r.notes}[/dim]")
    return 1 if any(r.passed is False for r in rows) else 0
