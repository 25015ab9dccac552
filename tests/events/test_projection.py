"""Projections on SQLite and PostgreSQL: crash anywhere, end identical to a fresh rebuild.

Every test here runs against both databases (the ``database_url`` fixture) and a NATS server of
its own, so the stream holds exactly what the test wrote.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import nats
import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope
from libs.events.errors import ProjectionAhead
from libs.events.locator import locator_projection
from libs.events.projection import ProjectionRunner, checkpoints, read_stream, rebuild, rebuild_all
from libs.events.projection.batch import Decoder, _plan
from libs.events.store import EventStore
from libs.events.streams import ensure_streams
from libs.runtime.nats_server import EmbeddedNats, free_port
from tests.events.fixtures_domain import (
    CONTEXT,
    COUNTER,
    JURISDICTION,
    STREAM,
    CounterIncremented,
    CounterOpened,
    CounterTotals,
    CounterTotalsV2,
    NoteTagged,
    meta,
    new_id,
    read_until,
    table_checksum,
    totals,
)
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


async def fill(nc: NATS, aggregates: int, increments: int) -> dict[str, int]:
    """Events interleaved across aggregates; returns each counter's expected value."""
    store = EventStore(nc)
    loaded = {}
    for a in range(aggregates):
        cid = new_id()
        done = await store.append(
            await store.load(COUNTER, cid, JURISDICTION), [CounterOpened(counter_id=cid, label=f"计数{a}")], meta()
        )
        loaded[cid] = done.loaded
    for k in range(increments):
        for cid in list(loaded):
            done = await store.append(loaded[cid], [CounterIncremented(counter_id=cid, by=k + 1)], meta())
            loaded[cid] = done.loaded
    return {cid: sum(range(1, increments + 1)) for cid in loaded}


async def position(engine: AsyncEngine, name: str = CounterTotals.name) -> int:
    async with engine.connect() as conn:
        found = (
            await conn.execute(
                select(checkpoints.c.position).where(checkpoints.c.projection == name, checkpoints.c.stream == STREAM)
            )
        ).scalar_one_or_none()
    return int(found or 0)


async def values(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {r.id: r.value for r in (await conn.execute(select(totals)))}


async def caught_up(runner: ProjectionRunner, head: int) -> None:
    async def check() -> None:
        assert runner.positions.get(STREAM) == head

    await eventually(check, timeout=30)


async def fresh_rebuild_checksum(nc: NATS, engine: AsyncEngine) -> tuple[str, int]:
    await rebuild(nc, engine, CounterTotals(), batch=50)
    return await table_checksum(engine)


# -- killed between batches ---------------------------------------------------------------------
class GatedTotals(CounterTotals):
    """Blocks inside the transaction of the batch holding ``stop_at``, until cancelled."""

    stop_at: ClassVar[int] = 0
    reached: ClassVar[asyncio.Event]

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        await super().apply(env, tx)
        if env.stream_seq == self.stop_at:
            self.reached.set()
            await asyncio.Event().wait()


async def test_a_cancelled_runner_restarts_and_ends_identical_to_a_fresh_rebuild(js: NATS, engine: AsyncEngine) -> None:
    expected = await fill(js, aggregates=6, increments=12)
    head = await jsapi.last_seq(js, STREAM)  # 78
    GatedTotals.stop_at, GatedTotals.reached = 45, asyncio.Event()
    first = ProjectionRunner(js, engine, GatedTotals(), batch=10)
    first.stop_grace = 0.1  # the gated batch never finishes: stopping cuts it after the grace
    await first.start()
    await asyncio.wait_for(GatedTotals.reached.wait(), 30)
    await first.stop()  # cancelled mid-batch: that batch's transaction rolls back

    killed_at = await position(engine)
    assert 0 < killed_at < 45
    second = ProjectionRunner(js, engine, CounterTotals(), batch=10)
    await second.start()
    try:
        await caught_up(second, head)
        assert await position(engine) == head
        assert await values(engine) == expected
        restarted = await table_checksum(engine)
    finally:
        await second.stop()
    assert await fresh_rebuild_checksum(js, engine) == restarted


KILLED_RUNNER = textwrap.dedent(
    """
    import asyncio, sys
    import nats
    from libs.db.engine import make_engine
    from libs.events.projection import ProjectionRunner
    from tests.events.fixtures_domain import CounterTotals

    class Pausing(CounterTotals):
        async def apply(self, env, tx):
            await super().apply(env, tx)
            if env.stream_seq == int(sys.argv[3]):
                print("PAUSED", flush=True)
                await asyncio.sleep(3600)  # SIGKILLed here, inside the batch's transaction

    async def main(url, db):
        nc = await nats.connect(url)
        runner = ProjectionRunner(nc, make_engine(db), Pausing(), batch=10)
        await runner.start()
        await asyncio.sleep(3600)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_a_runner_killed_with_sigkill_restarts_and_ends_identical_to_a_fresh_rebuild(
    js: NATS, fresh_nats: EmbeddedNats, engine: AsyncEngine, database_url: str
) -> None:
    expected = await fill(js, aggregates=5, increments=11)
    head = await jsapi.last_seq(js, STREAM)  # 60
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_RUNNER, fresh_nats.url, database_url, "37", cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        line = await read_until(child.stdout, b"PAUSED")
        assert line == b"PAUSED"
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL

    killed_at = await position(engine)
    assert 0 < killed_at < 37  # whole batches only: the one in flight left nothing behind
    partial = await values(engine)
    assert len(partial) == 5 and partial != expected

    runner = ProjectionRunner(js, engine, CounterTotals(), batch=10)
    await runner.start()
    try:
        await caught_up(runner, head)
        assert await values(engine) == expected
        restarted = await table_checksum(engine)
    finally:
        await runner.stop()
    assert await fresh_rebuild_checksum(js, engine) == restarted


async def test_a_redelivered_batch_is_a_no_op(js: NATS, engine: AsyncEngine) -> None:
    expected = await fill(js, aggregates=3, increments=5)
    runner = ProjectionRunner(js, engine, CounterTotals(), batch=7)
    await runner.prepare()  # tables and checkpoint, no consumer loop
    batches = [b async for b in read_stream(js, "notify", batch=7)]
    assert len(batches) >= 3
    await runner._apply_batch(STREAM, batches[0])
    once = await table_checksum(engine)
    await runner._apply_batch(STREAM, batches[0])  # delivered again
    assert await table_checksum(engine) == once
    for batch in batches[1:]:
        await runner._apply_batch(STREAM, batch)
    for batch in batches:  # everything delivered a second time
        await runner._apply_batch(STREAM, batch)
    assert await values(engine) == expected
    assert await position(engine) == await jsapi.last_seq(js, STREAM)
    assert await table_checksum(engine) == await fresh_rebuild_checksum(js, engine)


async def test_a_locator_beside_a_typed_read_model_decodes_each_event_once(js: NATS, engine: AsyncEngine) -> None:
    """One batch for a typed reader and a raw one (the locator): the raw one takes the typed
    envelopes, and places each aggregate once, by its first event, whatever the batch size."""
    expected = await fill(js, aggregates=4, increments=6)
    delivered = [d for b in [b async for b in read_stream(js, "notify", batch=9)] for d in b]
    typed, locator = (
        ProjectionRunner(js, engine, CounterTotals()),
        ProjectionRunner(js, engine, locator_projection(CONTEXT)),
    )
    decoder = Decoder(delivered)
    plan = _plan(STREAM, delivered, [locator, typed], decoder)  # the raw reader listed first
    (typed_envs, _), (raw_envs, _) = plan[typed], plan[locator]
    assert len(raw_envs) == len(delivered) and all(e.data is not None for e in raw_envs)
    by_seq = {e.stream_seq: e for e in typed_envs}
    assert all(by_seq[e.stream_seq] is e for e in raw_envs if e.stream_seq in by_seq)  # the same objects
    alone = Decoder(delivered)  # without a typed reader: envelopes only
    assert all(isinstance(e, Envelope) and e.data is None for e in (alone.envelope(i, True) for i in range(3)))

    placed = locator_projection(CONTEXT)
    await rebuild_all(js, engine, [placed], batch=5)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(placed.table))).all()  # type: ignore[attr-defined]
    assert sorted(r.aggregate_id for r in rows) == sorted(expected)
    assert {r.jurisdiction for r in rows} == {JURISDICTION} and {r.aggregate_type for r in rows} == {COUNTER.name}


async def test_a_read_over_nats_py_s_own_client_gives_what_renda_s_gives(js: NATS, fresh_nats: EmbeddedNats) -> None:
    """renda's client hands the inbox's messages straight from the parser (``Client.sink``); another
    client goes through its subscription callback. Same messages, same batches, same end."""
    await fill(js, aggregates=3, increments=10)
    head = await jsapi.last_seq(js, STREAM)
    stock = await nats.connect(fresh_nats.url)
    try:
        assert type(stock) is NATS  # not renda's subclass
        theirs = [[(d.seq, d.subject, d.data) for d in b] async for b in read_stream(stock, "notify", batch=7)]
    finally:
        await stock.close()
    ours = [[(d.seq, d.subject, d.data) for d in b] async for b in read_stream(js, "notify", batch=7)]
    assert ours == theirs
    assert [seq for b in ours for seq, _, _ in b] == list(range(1, head + 1))
    assert max(len(b) for b in ours) == 7


async def test_a_read_whose_consumer_is_lost_resumes_after_its_last_message(js: NATS) -> None:
    """A leader change or a restarted server loses an ephemeral consumer: the read goes on, nothing twice."""
    await fill(js, aggregates=3, increments=10)
    head = await jsapi.last_seq(js, STREAM)
    seen: list[int] = []
    deleted = 0
    async for batch in read_stream(js, "notify", batch=5):
        seen.extend(d.seq for d in batch)
        if deleted < 2:  # delete the read's consumer under it, twice
            names = (await jsapi.api(js, f"CONSUMER.NAMES.{STREAM}"))["consumers"]
            for name in (n for n in names if n.startswith("read_")):
                await jsapi.api(js, f"CONSUMER.DELETE.{STREAM}.{name}")
                deleted += 1
    assert deleted == 2
    assert seen == list(range(1, head + 1))


async def test_a_changed_definition_rebuilds_visibly(js: NATS, engine: AsyncEngine) -> None:
    expected = await fill(js, aggregates=3, increments=4)
    head = await jsapi.last_seq(js, STREAM)
    v1 = ProjectionRunner(js, engine, CounterTotals(), batch=50)
    await v1.start()
    await caught_up(v1, head)
    await v1.stop()
    assert not v1.rebuilt
    before = await table_checksum(engine)

    same = ProjectionRunner(js, engine, CounterTotals(), batch=50)
    await same.prepare()
    assert not same.rebuilt and same.positions[STREAM] == head  # unchanged: resumes at its checkpoint

    v2 = ProjectionRunner(js, engine, CounterTotalsV2(), batch=50)
    await v2.prepare()
    assert v2.rebuilt
    assert v2.positions[STREAM] == 0 and await values(engine) == {}  # dropped, rebuilding from zero
    await v2.stop()
    v2 = ProjectionRunner(js, engine, CounterTotalsV2(), batch=50)
    await v2.start()
    try:
        await caught_up(v2, head)
    finally:
        await v2.stop()
    assert await values(engine) == expected
    assert await table_checksum(engine) == before


async def test_a_checkpoint_ahead_of_its_stream_is_refused(js: NATS, engine: AsyncEngine, tmp_path: Path) -> None:
    await fill(js, aggregates=2, increments=3)
    head = await jsapi.last_seq(js, STREAM)
    runner = ProjectionRunner(js, engine, CounterTotals(), batch=50)
    await runner.start()
    await caught_up(runner, head)
    await runner.stop()
    rows_before = await table_checksum(engine)

    other = EmbeddedNats(free_port(), tmp_path / "other-nats").start()  # an empty replacement
    try:
        conn = await nats.connect(other.url)
        try:
            await ensure_streams(conn, 1, create_missing=True)
            with pytest.raises(ProjectionAhead):
                await ProjectionRunner(conn, engine, CounterTotals(), batch=50).prepare()
        finally:
            await conn.drain()
    finally:
        other.stop()
    assert await position(engine) == head  # the read model was left alone
    assert await table_checksum(engine) == rows_before


async def test_rebuild_as_of_a_past_time_into_another_database(js: NATS, database_url: str, tmp_path: Path) -> None:
    early = await fill(js, aggregates=3, increments=2)
    as_of = datetime.now(UTC)
    store = EventStore(js)
    for cid in early:  # later changes to the early counters, and a new one
        loaded = await store.load(COUNTER, cid)
        await store.append(loaded, [CounterIncremented(counter_id=cid, by=100)], meta())
    late = await fill(js, aggregates=1, increments=1)

    live = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'live.sqlite3'}")
    copy = make_engine(database_url)
    try:
        counts = await rebuild(js, live, CounterTotals(), batch=4)
        assert counts == {STREAM: await jsapi.last_seq(js, STREAM)}
        assert await values(live) == {**{c: v + 100 for c, v in early.items()}, **late}

        past = await rebuild(js, copy, CounterTotals(), as_of=as_of, batch=4)
        assert past == {STREAM: 9}  # 3 opened + 3x2 increments
        assert await values(copy) == early
        assert await position(copy) == 9
    finally:
        await live.dispose()
        await copy.dispose()


async def test_lag_is_stream_head_minus_checkpoint(js: NATS, engine: AsyncEngine) -> None:
    await fill(js, aggregates=2, increments=4)
    head = await jsapi.last_seq(js, STREAM)
    runner = ProjectionRunner(js, engine, CounterTotals(), batch=3)
    await runner.prepare()
    assert await runner.lag() == {STREAM: head}
    await runner.stop()
    runner = ProjectionRunner(js, engine, CounterTotals(), batch=3)
    await runner.start()
    try:
        await caught_up(runner, head)
        assert await runner.lag() == {STREAM: 0}
        await fill(js, aggregates=1, increments=0)

        async def lag_back_to_zero() -> None:
            assert await runner.lag() == {STREAM: 0}

        await eventually(lag_back_to_zero)
        assert runner.positions[STREAM] == head + 1
    finally:
        await runner.stop()


async def test_batches_the_projection_does_not_read_move_the_stored_checkpoint_at_stop(
    js: NATS, engine: AsyncEngine
) -> None:
    await fill(js, aggregates=1, increments=1)
    head = await jsapi.last_seq(js, STREAM)
    runner = ProjectionRunner(js, engine, CounterTotals(), batch=50)
    await runner.start()
    await caught_up(runner, head)
    applied = await position(engine)
    assert applied == head
    await EventStore(js).append(  # nothing this projection reads
        await EventStore(js).load(COUNTER, new_id(), JURISDICTION), [NoteTagged(counter_id="x", tags=())], meta()
    )
    await caught_up(runner, head + 1)
    assert await position(engine) == applied  # no SQL write for it while running
    await runner.stop()
    assert await position(engine) == head + 1
