"""audit: ``renda audit verify`` and ``renda events export`` against a raw ordered read of the same stream.

A stream of signed envelopes as services write them (every event a one-event command: key id and
signature on each, the worst case for verification) — aggregates of 20 events interleaved, so
every aggregate spans the whole stream. The anchors come from running the anchor projection over
it (into SQLite: its rate is a row too). Then, each the better of two:

- raw: ``read_stream`` (the hand-driven ordered pull) over the stream, touching nothing;
- verify: ``verify_all`` with the keys and the anchors (chains, one signature per aggregate, anchors);
- export: ``export_lines`` of the whole stream, and of one county (``--under``), written to /dev/null.

The load average is printed beside the figures (2 shared cores: the ratio is the figure that counts).

Run alone: ``uv run python -m bench.audit [--events N]``; or ``run(ctx)`` from bench/__main__.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client as NATS
from rich.console import Console

from bench.common import ACTOR, NOTE, BenchIncremented, Row, connect, create_stream, fresh_nats, rate_row
from bench.seed import publish_batches
from libs.db.engine import make_engine
from libs.events.anchors import anchor_projection, read_anchors
from libs.events.audit import export_lines
from libs.events.envelope import encode, seal, signed
from libs.events.keys import Keyring, load_signer
from libs.events.projection import read_stream, rebuild
from libs.events.subjects import aggregate_subject, stream_name
from libs.events.verify import verify_all

CONTEXT = "benchaudit"
AGG = "counter"
PER_AGGREGATE = 20
DEFAULT_EVENTS = 100_000


def county_of(a: int) -> str:
    return f"1234{a % 10:02d}"


def township_of(a: int) -> str:
    return f"{county_of(a)}{a % 97:03d}"


async def seed(nc: NATS, events: int, data_dir: Path) -> dict[str, float]:
    signer = load_signer("bench", data_dir)
    aggregates = max(1, events // PER_AGGREGATE)
    now = datetime.now(UTC)
    prev: dict[int, str] = {}
    items: list[tuple[str, bytes]] = []
    started = time.perf_counter()
    for k in range(1, PER_AGGREGATE + 1):
        for a in range(aggregates):
            cid = f"c{a}"
            env = seal(
                id=str(uuid.uuid4()),
                event=BenchIncremented(counter_id=cid, by=1, note=NOTE),
                aggregate_type=AGG,
                aggregate_id=cid,
                sequence=k,
                jurisdiction=township_of(a),
                occurred_at=now,
                actor=ACTOR,
                correlation_id="bench",
                causation_id=str(uuid.uuid4()),
                prev_hash=prev.get(a, ""),
                key_id=signer.key_id,
            )
            signed(env, signer.sign(env.hash))
            prev[a] = env.hash
            items.append((aggregate_subject(CONTEXT, township_of(a), AGG, cid), encode(env)))
    sealing = time.perf_counter() - started
    await publish_batches(nc, items, prefix=f"audit-{uuid.uuid4().hex[:6]}")
    return {"events": len(items), "aggregates": aggregates, "seal_sign_us": sealing / len(items) * 1e6}


async def raw_read(nc: NATS) -> float:
    started = time.perf_counter()
    n = 0
    async for batch in read_stream(nc, CONTEXT):
        n += len(batch)
    return n / (time.perf_counter() - started)


async def export_rate(nc: NATS, under: str | None) -> tuple[float, int]:
    started = time.perf_counter()
    n = 0
    with open(os.devnull, "wb") as out:  # noqa: ASYNC230 (/dev/null never blocks)
        chunk: list[bytes] = []
        async for data in export_lines(nc, contexts=(CONTEXT,), under=under):
            chunk.append(data)
            if len(chunk) >= 1000:
                out.write(b"\n".join(chunk) + b"\n")
                n, chunk = n + len(chunk), []
        out.write(b"\n".join(chunk))
        n += len(chunk)
    return n / (time.perf_counter() - started), n


async def measure(nc: NATS, events: int, folder: Path, console: Console) -> list[Row]:
    await create_stream(nc, CONTEXT)
    seeded = await seed(nc, events, folder)
    keyring = Keyring.gather(folder)
    engine = make_engine(f"sqlite+aiosqlite:///{folder / 'anchors.sqlite3'}")
    try:
        signer = load_signer("bench", folder)
        started = time.perf_counter()
        await rebuild(nc, engine, anchor_projection(CONTEXT, signer, keyring), batch=1000)
        anchoring = seeded["events"] / (time.perf_counter() - started)
        anchors = await read_anchors(engine, CONTEXT)
    finally:
        await engine.dispose()
    raws, verifies, exports, unders = [], [], [], []
    for _ in range(2):  # interleaved, the better of two
        raws.append(await raw_read(nc))
        t = time.perf_counter()
        report = await verify_all(nc, (CONTEXT,), keyring=keyring, anchors=anchors)
        verifies.append(report.events / (time.perf_counter() - t))
        assert report.ok, report.breaks[:5]
        exports.append((await export_rate(nc, None))[0])
        unders.append(await export_rate(nc, county_of(3)))
    raw = max(raws)
    load = os.getloadavg()
    notes = f"{seeded['events']:,} signed events, {seeded['aggregates']:,} aggregates; load {load[0]:.2f} {load[1]:.2f}"
    console.print(
        f"[dim]audit: sealing+signing {seeded['seal_sign_us']:.1f} µs/event; anchors kept: "
        f"{len(anchors.anchors)} stream anchors, {len(anchors.heads):,} heads; {report.signatures:,} signatures "
        f"checked; load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}[/dim]"
    )
    base = "raw ordered read (hand-driven pull of the same stream, nothing done per message)"
    under_rate, under_n = max(unders)
    return [
        rate_row(
            "audit verify (chains + signatures + anchors)", max(verifies), raw, 0.30, base, notes, n=seeded["events"]
        ),
        rate_row("events export (whole stream)", max(exports), raw, 0.30, base, notes, n=seeded["events"]),
        rate_row(
            f"events export --under {county_of(3)}",
            under_rate,
            raw,
            None,
            base,
            f"{under_n:,} events of one county of ten (server-side subject filter); per exported event",
            n=under_n,
        ),
        rate_row(
            "audit anchor projection (rebuild into SQLite)",
            anchoring,
            raw,
            None,
            base,
            "heads upserted per batch; catching up, an anchor every 100,000 events and the newest head "
            "of each aggregate verified at each",
            n=seeded["events"],
        ),
    ]


async def run(ctx: object) -> list[Row]:
    """Entry point for bench/__main__.py (``BENCHES["audit"] = audit.run``)."""
    nc = await ctx.connect()  # type: ignore[attr-defined]
    try:
        events = 20_000 if getattr(ctx.sizes, "quick", False) else DEFAULT_EVENTS  # type: ignore[attr-defined]
        return await measure(nc, events, Path(ctx.folder), ctx.console)  # type: ignore[attr-defined]
    finally:
        await nc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
    args = parser.parse_args()
    console = Console()

    async def go(folder: Path) -> list[Row]:
        with fresh_nats(folder / "nats") as server:
            nc = await connect(server.url)
            try:
                return await measure(nc, args.events, folder, console)
            finally:
                await nc.close()

    with tempfile.TemporaryDirectory(prefix="renda-bench-audit-") as tmp:
        rows = asyncio.run(go(Path(tmp)))
    for r in rows:
        console.print(r.json())
    print(stream_name(CONTEXT), "done")


if __name__ == "__main__":
    main()
