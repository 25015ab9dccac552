"""The deadline watcher: exactly once across restarts, a duplicate instance, and a crash between
decision and append. Real NATS (a server of its own, so no other test's deadlines are in it) and
the due index on SQLite and PostgreSQL; the watchers' clock is set by the test."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import nats
import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.envelope import Actor
from libs.events.projection import ProjectionRunner
from libs.events.store import CommandMeta, EventStore
from libs.events.streams import ensure_streams
from libs.runtime.nats_server import EmbeddedNats
from libs.service.watch import Due, due_meta
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    ExtendDeadline,
    RecordConsultation,
    ReplyToSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.projections.due import DueIndex
from services.suggestions.projections.tables import due
from services.suggestions.watcher import NAME, DeadlineWatcher

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
POLICY = SuggestionPolicy.parse(normal="P3M", reminder_before="P14D,P3D")
DUE = datetime(2026, 6, 2, 9, 0, tzinfo=TZ)  # T0 + P3M on the calendar
TOWN = "340403001"
STREAM = "RENDA_SUGGESTIONS"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def meta(now: datetime) -> CommandMeta:
    cid = str(uuid.uuid4())
    return CommandMeta(actor=Actor("clerk", "township_staff"), correlation_id=cid, command_id=cid, now=now)


@pytest.fixture
async def conns(fresh_nats: EmbeddedNats) -> AsyncIterator[tuple[NATS, NATS]]:
    """Two connections: two instances of the service."""
    a = await nats.connect(fresh_nats.url)
    await ensure_streams(a, 1, create_missing=True)
    b = await nats.connect(fresh_nats.url)
    yield a, b
    await a.drain()
    await b.drain()


async def assigned(store: EventStore) -> tuple[str, int]:
    sid = str(uuid.uuid4())
    c = SubmitSuggestion(sid, TOWN, "修缮村道", "村道破损", ("d-1", "d-2"))
    await store.execute(
        sg.SUGGESTION, sid, lambda x: sg.decide_submit(x.state, c, now=T0, is_street=False), meta(T0), jurisdiction=TOWN
    )
    a = AssignSuggestion(sid, "u-finance", "陈副镇长")
    done = await store.execute(
        sg.SUGGESTION,
        sid,
        lambda x: sg.decide_assign(x.state, a, now=T0, policy=POLICY, is_street=False, actor_role="township_staff"),
        meta(T0),
    )
    assert done.loaded.state.due_at == DUE
    return sid, done.stream_seq


async def types_of(store: EventStore, sid: str) -> list[str]:
    return [e.type for e in await store.read(sg.SUGGESTION, sid)]


async def open_rows(engine: AsyncEngine, sid: str) -> list[tuple[str, bool]]:
    async with engine.connect() as conn:
        q = select(due.c.kind, due.c.settled).where(due.c.suggestion_id == sid).order_by(due.c.due_at)
        return [(r.kind, r.settled) for r in await conn.execute(q)]


async def test_two_instances_and_a_restart_raise_each_deadline_once(conns, engine: AsyncEngine) -> None:
    nc_a, nc_b = conns
    index = ProjectionRunner(nc_a, engine, DueIndex(POLICY))
    await index.start()
    try:
        store_a, store_b = EventStore(nc_a), EventStore(nc_b)
        sid, seq = await assigned(store_a)
        assert await index.wait_for(STREAM, seq, 10)
        # The index holds the deadline and both reminders, nothing settled yet.
        assert await open_rows(engine, sid) == [
            ("reply_reminder:P14D", False),
            ("reply_reminder:P3D", False),
            ("reply_overdue", False),
        ]

        clock = Clock(DUE - timedelta(days=10))  # past the P14D reminder, before the P3D one
        one = DeadlineWatcher(store_a, engine, POLICY, clock=clock)
        two = DeadlineWatcher(store_b, engine, POLICY, clock=clock)
        for _ in range(3):
            await asyncio.gather(one.tick(), two.tick())
        assert (await types_of(store_a, sid)).count("ReplyReminderDue") == 1

        clock.now = DUE + timedelta(hours=1)  # the deadline has passed unanswered
        for _ in range(3):
            await asyncio.gather(one.tick(), two.tick())
        types = await types_of(store_a, sid)
        assert types.count("ReplyOverdue") == 1
        assert types.count("ReplyReminderDue") == 1  # the P3D reminder is moot once overdue
        assert await index.wait_for(STREAM, (await store_a.load(sg.SUGGESTION, sid)).last_stream_seq, 10)
        assert all(settled for _, settled in await open_rows(engine, sid))

        # A restart: a new process (new connection, empty caches) finds nothing left to raise.
        nc_c = await nats.connect(nc_a.connected_url.geturl())  # type: ignore[union-attr]
        try:
            restarted = DeadlineWatcher(EventStore(nc_c), engine, POLICY, clock=clock)
            clock.now += timedelta(days=1)
            assert await restarted.tick() == 0
            assert (await types_of(store_a, sid)).count("ReplyOverdue") == 1
        finally:
            await nc_c.drain()
    finally:
        await index.stop()


async def test_a_crash_between_decision_and_append_stores_nothing_twice(conns, engine: AsyncEngine) -> None:
    nc_a, nc_b = conns
    store_a = EventStore(nc_a)
    sid, _ = await assigned(store_a)
    now = DUE + timedelta(minutes=5)
    item = Due(kind="reply_overdue", aggregate_id=sid, due_at=DUE)
    m = due_meta(NAME, item, now)
    first = DeadlineWatcher(store_a, engine, POLICY, clock=Clock(now))
    assert await first.act(item, m) is True
    # The same command again (the process died before it could note the append): nothing.
    assert await first.act(item, m) is False
    # And from another instance that never saw the first append (no cache), a moment later.
    second = DeadlineWatcher(EventStore(nc_b), engine, POLICY, clock=Clock(now + timedelta(seconds=3)))
    assert await second.act(item, due_meta(NAME, item, now + timedelta(seconds=3))) is False
    assert (await types_of(store_a, sid)).count("ReplyOverdue") == 1


async def test_an_extension_opens_a_new_deadline_and_a_reply_settles_it(conns, engine: AsyncEngine) -> None:
    nc_a, _ = conns
    index = ProjectionRunner(nc_a, engine, DueIndex(POLICY))
    await index.start()
    try:
        store = EventStore(nc_a)
        sid, _ = await assigned(store)
        later = DUE + timedelta(days=30)
        done = await store.execute(
            sg.SUGGESTION,
            sid,
            lambda x: sg.decide_extend(
                x.state,
                ExtendDeadline(sid, later, "跨年立项"),
                now=T0 + timedelta(days=1),
                is_street=False,
                actor_role="township_staff",
            ),
            meta(T0 + timedelta(days=1)),
        )
        assert await index.wait_for(STREAM, done.stream_seq, 10)
        watcher = DeadlineWatcher(store, engine, POLICY, clock=Clock(DUE + timedelta(hours=1)))
        await watcher.tick()
        assert "ReplyOverdue" not in await types_of(store, sid)  # the old deadline no longer counts
        async with engine.connect() as conn:
            q = select(due.c.due_at).where(
                due.c.suggestion_id == sid, due.c.kind == "reply_overdue", due.c.settled.is_(False)
            )
            assert [datetime.fromisoformat(v) for v in (await conn.execute(q)).scalars()] == [later]
    finally:
        await index.stop()


async def test_a_b_promise_past_its_date_is_raised_once_and_a_reply_settles_the_round(
    conns, engine: AsyncEngine
) -> None:
    nc_a, _ = conns
    index = ProjectionRunner(nc_a, engine, DueIndex(POLICY))
    await index.start()
    try:
        store = EventStore(nc_a)
        sid, _ = await assigned(store)
        when = T0 + timedelta(days=20)
        consult = RecordConsultation(sid, when.date(), "face_to_face", "面商")
        await store.execute(
            sg.SUGGESTION,
            sid,
            lambda x: sg.decide_consult(x.state, consult, unit_id=None, now=when, policy=POLICY),
            meta(when),
        )
        reply = ReplyToSuggestion(sid, "B", "列入计划", promised_by=date(2026, 5, 31), measures="立项")
        done = await store.execute(
            sg.SUGGESTION,
            sid,
            lambda x: sg.decide_reply(x.state, reply, unit_id=None, now=when, policy=POLICY),
            meta(when),
        )
        assert await index.wait_for(STREAM, done.stream_seq, 10)
        assert [k for k, settled in await open_rows(engine, sid) if not settled] == ["promise_overdue"]
        clock = Clock(datetime(2026, 5, 31, 23, 59, tzinfo=TZ))  # the promised day is not over yet
        watcher = DeadlineWatcher(store, engine, POLICY, clock=clock)
        assert await watcher.tick() == 0
        clock.now = datetime(2026, 6, 1, 0, 1, tzinfo=TZ)
        assert await watcher.tick() == 1
        assert await DeadlineWatcher(store, engine, POLICY, clock=clock).tick() == 0  # a second one: nothing
        assert (await types_of(store, sid)).count("PromiseOverdue") == 1
        assert "ReplyOverdue" not in await types_of(store, sid)
    finally:
        await index.stop()


async def test_a_wave_raised_in_batches_by_two_instances_is_raised_once_each(conns, engine: AsyncEngine) -> None:
    nc_a, nc_b = conns
    index = ProjectionRunner(nc_a, engine, DueIndex(POLICY))
    await index.start()
    try:
        store = EventStore(nc_a)
        wave = [await assigned(store) for _ in range(24)]
        assert await index.wait_for(STREAM, max(seq for _, seq in wave), 10)
        clock = Clock(DUE + timedelta(hours=1))
        # Small chunks and batches: several atomic batches per tick, the two instances' racing.
        one = DeadlineWatcher(EventStore(nc_a), engine, POLICY, clock=clock, batch=10)
        two = DeadlineWatcher(EventStore(nc_b), engine, POLICY, clock=clock, batch=10)
        one.watcher.chunk = two.watcher.chunk = 4
        collector = gc.get_threshold()
        for _ in range(6):
            await asyncio.gather(one.tick(), two.tick())
        # A page of several chunks ran with the collector frozen: it is as it was again.
        assert gc.get_threshold() == collector and gc.get_freeze_count() == 0
        # Each instance counts what it stored or found stored under its own event ids (the same
        # clock makes the same command ids); the stream holds each once.
        assert one.raised + two.raised >= len(wave)
        for sid, _ in wave:
            assert (await types_of(store, sid)).count("ReplyOverdue") == 1
        # The index settles them all; a restart finds nothing left.
        assert await index.wait_for(STREAM, (await store.load(sg.SUGGESTION, wave[-1][0])).last_stream_seq, 10)
        assert await DeadlineWatcher(EventStore(nc_b), engine, POLICY, clock=clock).tick() == 0
    finally:
        await index.stop()


async def test_a_wave_acted_on_together_again_or_by_another_instance_stores_nothing_twice(
    conns, engine: AsyncEngine
) -> None:
    nc_a, nc_b = conns
    store = EventStore(nc_a)
    wave = [sid for sid, _ in [await assigned(store) for _ in range(5)]]
    now = DUE + timedelta(minutes=5)
    items = [Due(kind="reply_overdue", aggregate_id=sid, due_at=DUE) for sid in wave]
    work = [(item, due_meta(NAME, item, now)) for item in items]
    # Another instance raised the third one alone, a moment earlier (another command id), after
    # this process last saw it: the wave's load reads it up to date, and it decides nothing.
    other = DeadlineWatcher(EventStore(nc_b), engine, POLICY, clock=Clock(now))
    assert await other.act(items[2], due_meta(NAME, items[2], now - timedelta(seconds=1))) is True
    watcher = DeadlineWatcher(store, engine, POLICY, clock=Clock(now))
    assert await watcher.act_many(work) == [True, True, False, True, True]
    # The same wave again (a crash after the append, then a retry), here and from an instance
    # that never saw it: nothing twice.
    assert await watcher.act_many(work) == [False] * 5
    assert await DeadlineWatcher(EventStore(nc_b), engine, POLICY, clock=Clock(now)).act_many(work) == [False] * 5
    assert [(await types_of(store, sid)).count("ReplyOverdue") for sid in wave] == [1] * 5
