"""A service's read models share one consumer per stream and one transaction per batch.

Runs on SQLite and PostgreSQL (``database_url``) against a NATS server of its own. The counter
totals are not idempotent on their own (an event applied twice counts twice) and the event log
has the stream sequence as its primary key, so a doubled event shows in both and a lost one in
both.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import BigInteger, Column, MetaData, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope
from libs.events.projection import (
    Projection,
    ProjectionGroup,
    ProjectionHalted,
    ProjectionRunner,
    checkpoints,
    rebuild,
    rebuild_all,
)
from libs.events.store import EventStore
from tests.events.fixtures_domain import (
    CONTEXT,
    COUNTER,
    JURISDICTION,
    STREAM,
    CounterIncremented,
    CounterOpened,
    CounterTotals,
    meta,
    new_id,
    totals,
)
from tests.support.waiting import eventually

log_metadata = MetaData()
event_log = Table(
    "test_event_log",
    log_metadata,
    Column("seq", BigInteger, primary_key=True),  # a doubled event fails the batch, a lost one is missing
    Column("aggregate_id", String(64), nullable=False),
)


class EventLog(Projection):
    name: ClassVar[str] = "test-event-log"
    contexts: ClassVar[tuple[str, ...]] = (CONTEXT,)
    metadata: ClassVar[MetaData] = log_metadata

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(event_log.insert().values(seq=env.stream_seq, aggregate_id=env.aggregate_id))


class Counters:
    """Counters appended through the store; remembers what each must add up to."""

    def __init__(self, nc: NATS) -> None:
        self.store = EventStore(nc)
        self.expected: dict[str, int] = {}
        self.loaded: dict[str, object] = {}

    async def open(self, n: int) -> None:
        for a in range(n):
            cid = new_id()
            done = await self.store.append(
                await self.store.load(COUNTER, cid, JURISDICTION),
                [CounterOpened(counter_id=cid, label=f"计数{a}")],
                meta(),
            )
            self.loaded[cid] = done.loaded
            self.expected[cid] = 0

    async def increment(self, rounds: int) -> None:
        for k in range(rounds):
            for cid in list(self.loaded):
                done = await self.store.append(
                    self.loaded[cid],  # type: ignore[arg-type]
                    [CounterIncremented(counter_id=cid, by=k + 1)],
                    meta(),
                )
                self.loaded[cid] = done.loaded
                self.expected[cid] += k + 1


async def counter_values(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        return {r.id: r.value for r in await conn.execute(select(totals))}


async def logged(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(func.count(), func.count(func.distinct(event_log.c.seq))))).one()
    return int(row[0]), int(row[1])


def runners(nc: NATS, engine: AsyncEngine, *projections: Projection) -> list[ProjectionRunner]:
    return [ProjectionRunner(nc, engine, p, batch=7) for p in projections]


async def all_at(group_runners: list[ProjectionRunner], head: int) -> None:
    async def check() -> None:
        assert all(r.positions.get(STREAM) == head for r in group_runners)

    await eventually(check, timeout=30)


async def consumer_names(nc: NATS) -> list[str]:
    reply = await jsapi.api(nc, f"CONSUMER.NAMES.{STREAM}")
    return list(reply.get("consumers") or [])


async def test_one_consumer_feeds_every_member(js: NATS, engine: AsyncEngine) -> None:
    counters = Counters(js)
    await counters.open(4)
    await counters.increment(5)
    members = runners(js, engine, CounterTotals(), EventLog())
    group = ProjectionGroup(js, engine, members, name="testsvc_read_models", batch=7)
    await group.start()
    try:
        assert [n for n in await consumer_names(js) if n.startswith("testsvc")] == [group.consumer]
        await counters.increment(3)  # while running
        head = await jsapi.last_seq(js, STREAM)
        await all_at(members, head)
        assert await counter_values(engine) == counters.expected
        assert await logged(engine) == (head, head)
    finally:
        await group.stop()
    assert group.consumer not in await consumer_names(js)  # a process's consumer goes with it


async def test_two_instances_on_one_database_lose_nothing_and_double_nothing(
    js: NATS, engine: AsyncEngine, database_url: str
) -> None:
    counters = Counters(js)
    await counters.open(5)
    await counters.increment(2)
    other_engine = make_engine(database_url)  # the second instance: its own engine, the same database
    first = runners(js, engine, CounterTotals(), EventLog())
    second = runners(js, other_engine, CounterTotals(), EventLog())
    groups = [
        ProjectionGroup(js, engine, first, name="testsvc_read_models", batch=7),
        ProjectionGroup(js, other_engine, second, name="testsvc_read_models", batch=3),
    ]
    try:
        await asyncio.gather(*(g.start() for g in groups))
        await counters.increment(6)  # both instances apply while events arrive
        head = await jsapi.last_seq(js, STREAM)
        await all_at(first + second, head)
        assert await counter_values(engine) == counters.expected
        assert await logged(engine) == (head, head)
    finally:
        for g in groups:
            await g.stop()
        await other_engine.dispose()


async def test_a_member_behind_catches_up_while_the_others_skip_what_they_hold(js: NATS, engine: AsyncEngine) -> None:
    counters = Counters(js)
    await counters.open(3)
    await counters.increment(4)
    head = await jsapi.last_seq(js, STREAM)
    alone = runners(js, engine, CounterTotals())
    group = ProjectionGroup(js, engine, alone, name="testsvc_read_models")
    await group.start()
    await all_at(alone, head)
    await group.stop()

    members = runners(js, engine, CounterTotals(), EventLog())  # the log is new: it starts from zero
    group = ProjectionGroup(js, engine, members, name="testsvc_read_models", batch=5)
    await group.start()
    try:
        await counters.increment(2)
        head = await jsapi.last_seq(js, STREAM)
        await all_at(members, head)
        assert await counter_values(engine) == counters.expected  # nothing counted twice
        assert await logged(engine) == (head, head)
    finally:
        await group.stop()


async def test_a_consumer_the_server_dropped_is_created_again(js: NATS, engine: AsyncEngine) -> None:
    counters = Counters(js)
    await counters.open(2)
    members = runners(js, engine, CounterTotals(), EventLog())
    group = ProjectionGroup(js, engine, members, name="testsvc_read_models")
    await group.start()
    try:
        await all_at(members, await jsapi.last_seq(js, STREAM))
        # As the server does with an idle consumer (inactive_threshold) while the process is cut off.
        await jsapi.api(js, f"CONSUMER.DELETE.{STREAM}.{group.consumer}")
        await counters.increment(3)
        head = await jsapi.last_seq(js, STREAM)
        await all_at(members, head)
        assert group.running()
        assert await counter_values(engine) == counters.expected
        assert await logged(engine) == (head, head)
    finally:
        await group.stop()


async def stored_positions(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(checkpoints.c.projection, checkpoints.c.position))
        return {r.projection: int(r.position) for r in rows}


async def test_rebuild_all_ends_as_one_rebuild_each_and_reads_the_stream_once(
    js: NATS, engine: AsyncEngine, tmp_path: Path
) -> None:
    counters = Counters(js)
    await counters.open(4)
    await counters.increment(6)
    head = await jsapi.last_seq(js, STREAM)
    separate = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'separate.sqlite3'}")
    try:
        assert await rebuild(js, separate, CounterTotals(), batch=7) == {STREAM: head}
        assert await rebuild(js, separate, EventLog(), batch=7) == {STREAM: head}
        before = await consumer_names(js)
        assert await rebuild_all(js, engine, [CounterTotals(), EventLog()], batch=7) == {STREAM: head}
        assert await consumer_names(js) == before  # its ephemeral consumer is gone
        assert await counter_values(engine) == counters.expected == await counter_values(separate)
        assert await logged(engine) == (head, head) == await logged(separate)
        assert await stored_positions(engine) == {CounterTotals.name: head, EventLog.name: head}
        # A second rebuild starts from zero again: nothing doubled.
        await rebuild_all(js, engine, [EventLog(), CounterTotals()], batch=50)
        assert await counter_values(engine) == counters.expected
        assert await logged(engine) == (head, head)
    finally:
        await separate.dispose()


class BrokenLog(EventLog):
    """Refuses one stream sequence, as a bug in one read model would."""

    name: ClassVar[str] = "test-broken-log"
    broken_at: ClassVar[int] = 0

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        if env.stream_seq == self.broken_at:
            raise ValueError("this read model cannot apply it")
        await super().apply(env, tx)


async def test_rebuild_all_halts_only_the_member_that_cannot_apply_a_message(js: NATS, engine: AsyncEngine) -> None:
    counters = Counters(js)
    await counters.open(3)
    await counters.increment(5)
    head = await jsapi.last_seq(js, STREAM)
    BrokenLog.broken_at = 9
    with pytest.raises(ProjectionHalted) as halted:
        await rebuild_all(js, engine, [CounterTotals(), BrokenLog()], batch=4)
    assert halted.value.projection == BrokenLog.name and halted.value.halt.seq == 9
    assert await counter_values(engine) == counters.expected  # the other member read to the end
    assert await stored_positions(engine) == {CounterTotals.name: head, BrokenLog.name: 8}
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.max(event_log.c.seq)))).scalar_one() == 8


both_metadata = MetaData()
log_copy = event_log.to_metadata(both_metadata)
seen = Table(
    "test_seen_counts",
    both_metadata,
    Column("seq", BigInteger, primary_key=True),
    Column("logged_before", BigInteger, nullable=False),  # rows of the log when this event came
)


class LogAndCount(Projection):
    """Plain inserts (held by the batch: BufferedTx), every third followed by a read of the log."""

    name: ClassVar[str] = "test-log-and-count"
    contexts: ClassVar[tuple[str, ...]] = (CONTEXT,)
    metadata: ClassVar[MetaData] = both_metadata
    duplicate_at: ClassVar[int] = 0

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        seq = env.stream_seq - 1 if env.stream_seq == self.duplicate_at else env.stream_seq
        await tx.execute(log_copy.insert().values(seq=seq, aggregate_id=env.aggregate_id))
        if env.stream_seq % 3 == 0:
            n = (await tx.execute(select(func.count()).select_from(log_copy))).scalar_one()
            await tx.execute(seen.insert().values(seq=env.stream_seq, logged_before=n))


async def test_held_inserts_are_written_before_any_read_and_a_duplicate_halts_at_its_message(
    js: NATS, engine: AsyncEngine
) -> None:
    counters = Counters(js)
    await counters.open(2)
    await counters.increment(5)
    head = await jsapi.last_seq(js, STREAM)
    LogAndCount.duplicate_at = 0
    await rebuild_all(js, engine, [LogAndCount()], batch=50)
    async with engine.connect() as conn:
        counted = dict((await conn.execute(select(seen.c.seq, seen.c.logged_before))).all())
    assert counted == {s: s for s in range(3, head + 1, 3)}  # every insert before the read was there
    assert await logged(engine) == (head, head)

    LogAndCount.duplicate_at = 8  # its insert repeats the previous one's key, held in the same run
    with pytest.raises(ProjectionHalted) as halted:
        await rebuild_all(js, engine, [LogAndCount()], batch=50)
    assert halted.value.halt.seq == 8
    assert await stored_positions(engine) == {LogAndCount.name: 7}
    assert await logged(engine) == (7, 7)
