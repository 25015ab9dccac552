"""The suggestions deadline watcher (issue 5, issue 13 point 4): a year-end wave of due deadlines.

N suggestions (10,000; quick 2,000) whose reply deadlines fall due at the same instant; the time the
service's own watcher (its ``find_due`` over the due index, ``act_many``: load, decide, append)
takes to raise all N ``ReplyOverdue``, with the due-index and locator read models running beside
it as in the service (one consumer for both, as a service feeds its read models) and a clock the
bench controls, against a raw scan of the due-index table (one plain SQL SELECT of the due rows)
and that scan plus one acknowledged JetStream publish per row, one at a time (the floor of raising
anything sequentially), measured before and after ours (their mean counts: the host's load moves
within a run). Goal (issue 13): at least the floor's rate.

``uv run python -m bench.watcher [--quick] [--profile] [--n N]`` runs it alone; ``run(ctx)`` is the
``bench`` registration. ``--profile`` runs the watcher's wave under cProfile and prints its hot spots.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import os
import pstats
import time
import uuid
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client as NATS
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.common import Row, create_stream, latency_row, rate_row
from bench.context import Ctx
from bench.context import standalone as run_alone
from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.events.envelope import Actor
from libs.events.locator import locate_with, locator_projection
from libs.events.projection import ProjectionGroup, ProjectionRunner, rebuild
from libs.events.store import CommandMeta, EventStore
from libs.events.streams import ensure_streams
from libs.service.watch import CHUNK, CHUNKS_IN_FLIGHT
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import AssignSuggestion, SubmitSuggestion
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.projections.due import DueIndex
from services.suggestions.projections.tables import utc_text
from services.suggestions.watcher import DeadlineWatcher

TOWNSHIP = "567801001"  # the suggestions bench's tree (5678): other benches use 1234
DEPUTY = "bench-deputy-1"
WATCH_DUE = 10_000
WATCH_DUE_QUICK = 2_000
WATCH_CONTEXT = "benchwatch"  # a stream of its own for the raw-publish floor
SEED_WINDOW = 64  # seeding appends in flight


async def seed_due(nc: NATS, policy: SuggestionPolicy, n: int, now: datetime) -> None:
    """``n`` suggestions submitted and assigned at ``now`` (two commands each): all due together."""
    store = EventStore(nc, cache_size=0)
    actor = Actor("bench:township_staff", "township_staff")
    slots = asyncio.Semaphore(SEED_WINDOW)

    async def one(i: int) -> None:
        sid = str(uuid.uuid4())
        async with slots:
            # Two commands, as at the API: a two-event atomic batch costs ~20x a single publish here.
            submit = SubmitSuggestion(sid, TOWNSHIP, f"建议{i}", "内容", (DEPUTY,))
            done = await store.execute(
                sg.SUGGESTION,
                sid,
                lambda s: sg.decide_submit(s.state, submit, now=now, is_street=False),
                CommandMeta(actor, "bench-seed", str(uuid.uuid4()), now),
                jurisdiction=TOWNSHIP,
            )
            assign = AssignSuggestion(sid, "bench-unit", "王副镇长")
            await store.append(
                done.loaded,
                sg.decide_assign(
                    done.loaded.state, assign, now=now, policy=policy, is_street=False, actor_role="township_staff"
                ),
                CommandMeta(actor, "bench-seed", str(uuid.uuid4()), now),
            )

    await asyncio.gather(*(one(i) for i in range(n)))


async def due_rows(engine: AsyncEngine, now: datetime) -> tuple[int, float]:
    """The raw scan: one plain SQL SELECT of the due rows of the index, timed."""
    q = text(
        "SELECT suggestion_id, kind, due_at FROM suggestions_due WHERE settled = :f AND due_at < :now ORDER BY due_at"
    )
    async with engine.connect() as conn:
        t0 = time.perf_counter()
        rows = (await conn.execute(q, {"f": False, "now": utc_text(now)})).all()
        return len(rows), time.perf_counter() - t0


async def raw_floor(nc: NATS, engine: AsyncEngine, now: datetime, found: int) -> float:
    """The floor of raising anything: the scan, then one acknowledged publish per row, one at a time."""
    await create_stream(nc, WATCH_CONTEXT)
    t0 = time.perf_counter()
    await due_rows(engine, now)
    for i in range(found):
        await jsapi.publish(
            nc,
            f"renda.{WATCH_CONTEXT}.5678.567801.567801001.due.d{i}",
            b'{"raised":true}',
            {"Nats-Msg-Id": str(uuid.uuid4())},
        )
    return time.perf_counter() - t0


async def watcher_bench(ctx: Ctx) -> list[Row]:
    n = ctx.figures.get("watcher.n") or (WATCH_DUE_QUICK if ctx.sizes.quick else WATCH_DUE)
    profile = bool(ctx.figures.get("watcher.profile"))
    policy = SuggestionPolicy.parse(normal="PT1H")  # a short configured deadline: due an hour after assignment
    assigned_at = datetime.now(UTC).replace(microsecond=0)
    now = assigned_at + timedelta(hours=1, seconds=1)  # the bench's clock: every deadline has just passed
    nc = await ctx.connect()
    await ensure_streams(nc, 1, create_missing=True)  # the context streams, when no bench before made them
    engine = make_engine(f"sqlite+aiosqlite:///{ctx.folder / 'sug-watch.sqlite3'}")
    prof = cProfile.Profile() if profile else None
    try:
        t0 = time.perf_counter()
        await seed_due(nc, policy, n, assigned_at)
        locator = locator_projection("suggestions")  # how the service's store finds an aggregate's subject
        await rebuild(nc, engine, locator)
        await rebuild(nc, engine, DueIndex(policy))
        seeded = time.perf_counter() - t0
        found, scan = await due_rows(engine, now)
        scans = [scan] + [(await due_rows(engine, now))[1] for _ in range(4)]
        scan = min(scans)
        if found < n:
            raise RuntimeError(f"due index holds {found} due rows, expected {n}")
        load_floor = os.getloadavg()
        cpu0 = time.process_time()
        floor_before = await raw_floor(nc, engine, now, found)
        cpu_floor = time.process_time() - cpu0
        # Ours, as the service runs it: the due-index and locator read models beside the watcher,
        # fed as a service feeds its read models (one consumer, one transaction per batch).
        runners = [ProjectionRunner(nc, engine, proj, service="suggestions") for proj in (locator, DueIndex(policy))]
        group = ProjectionGroup(nc, engine, runners, name="suggestions_read_models")
        await group.start()
        store = EventStore(nc, locate=locate_with(engine, locator))  # type: ignore[arg-type]
        watcher = DeadlineWatcher(store, engine, policy, clock=lambda: now)
        load = os.getloadavg()
        if prof is not None:
            prof.enable()
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        task = asyncio.create_task(watcher.run())
        try:
            while watcher.raised < n:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            raised = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
            if prof is not None:
                prof.disable()
            head = await jsapi.last_seq(nc, "RENDA_SUGGESTIONS")
            await runners[1].wait_for("RENDA_SUGGESTIONS", head, 120)
            settled = time.perf_counter() - t0
            left, _ = await due_rows(engine, now)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await group.stop()
        # The floor again, after ours: the host's load moves within a run (other work on the
        # machine), so ours is set against the mean of the floor before and after it. The rows
        # are settled by now: this SELECT finds none (the scan is some 0.2 % of the floor).
        load_after = os.getloadavg()
        floor_after = await raw_floor(nc, engine, now, found)
    finally:
        await nc.close()
        await engine.dispose()
    if prof is not None:
        out = io.StringIO()
        stats = pstats.Stats(prof, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "40")))
        ctx.console.print(out.getvalue(), markup=False, highlight=False)
    floor = (floor_before + floor_after) / 2
    notes = (
        f"{n:,} ReplyOverdue in {raised:.1f} s = {n / raised:,.0f}/s (pages of {watcher.batch:,}, chunks of {CHUNK} "
        f"loaded and appended together, {CHUNKS_IN_FLIGHT} in flight); index settled after {settled:.1f} s, {left} "
        f"due rows left; raw SELECT of {found:,} rows best of 5; floor {floor_before:.1f} s before ours and "
        f"{floor_after:.1f} s after, mean {floor:.1f} s = {n / floor:,.0f}/s; this process's CPU: ours {cpu:.1f} s "
        f"({cpu / n * 1e6:,.0f} µs a deadline, with the read models beside it), the first floor's {cpu_floor:.1f} s; "
        f"seeding + index {seeded:.1f} s; host load average {load_floor[0]:.1f} before the first floor, "
        f"{load[0]:.1f} before ours, {load_after[0]:.1f} before the second floor, {os.getloadavg()[0]:.1f} after it"
    )
    return [
        latency_row(
            f"watcher: raise {n:,} deadlines due at once",
            raised * 1e3,
            scan * 1e3,
            None,
            "raw SQL SELECT of the due rows of the index (SQLite)",
            notes,
            due=n,
        ),
        rate_row(
            f"watcher: raise {n:,} vs scan + raw publish each",
            n / raised,
            n / floor,
            1.0,  # issue 13: at least as fast as the raw sequential floor
            "the SELECT, then one acknowledged JetStream publish per row, sequential; before and after ours, mean",
            due=n,
        ),
    ]


async def run(ctx: Ctx) -> list[Row]:
    return await watcher_bench(ctx)


async def standalone(quick: bool, profile: bool, n: int | None) -> int:
    return await run_alone("watcher", quick, run, {"watcher.profile": profile, "watcher.n": n})


if __name__ == "__main__":
    ap = argparse.ArgumentParser(prog="python -m bench.watcher", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small N (2,000)")
    ap.add_argument("--profile", action="store_true", help="the watcher's wave under cProfile, hot spots printed")
    ap.add_argument("--n", type=int, default=None, help="this many due deadlines instead")
    a = ap.parse_args()
    from libs.observability.logging import configure

    configure("WARNING")  # the watcher's info lines are not rendered
    raise SystemExit(asyncio.run(standalone(a.quick, a.profile, a.n)))
