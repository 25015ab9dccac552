"""Many aggregates' commands in atomic batches (libs/events/batch.py) against a real NATS server:
sealed byte for byte as ``EventStore.append`` seals them, stored with each aggregate's guard,
all or nothing per batch, and never twice."""

from __future__ import annotations

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.batch import Command, append_many, load_many, seal_command
from libs.events.envelope import encode, verify_chain
from libs.events.keys import Signer
from libs.events.store import EventStore
from libs.events.subjects import aggregate_subject
from tests.events.fixtures_domain import (
    CONTEXT,
    COUNTER,
    JURISDICTION,
    STREAM,
    CounterIncremented,
    CounterOpened,
    meta,
    new_id,
)


def subject_of(cid: str) -> str:
    return aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, cid)


async def stored(nc: NATS, cid: str) -> list[jsapi.StoredMsg]:
    return [m async for m in jsapi.direct_get_subject(nc, STREAM, subject_of(cid))]


async def opened(store: EventStore, n: int) -> list[str]:
    ids = []
    for i in range(n):
        cid = new_id()
        loaded = await store.load(COUNTER, cid, JURISDICTION)
        await store.append(loaded, [CounterOpened(counter_id=cid, label=f"计数{i}")], meta())
        ids.append(cid)
    return ids


def bump(cid: str, by: int) -> list[CounterIncremented]:
    return [CounterIncremented(counter_id=cid, by=by, note=f"+{by}")]


async def test_a_batch_seals_every_event_byte_for_byte_as_a_single_append(nc: NATS) -> None:
    signer = Signer.of("notify", Ed25519PrivateKey.generate())
    store = EventStore(nc, signer=signer)
    (cid,) = await opened(store, 1)
    loaded = await EventStore(nc, signer=signer).load(COUNTER, cid, JURISDICTION)
    m = meta()
    events = [*bump(cid, 2), *bump(cid, 3)]  # two events: the chain and the head's signature
    sealed = seal_command(store, Command(loaded, events, m))
    single = await store.append(loaded, events, m)
    assert [encode(e) for e in sealed.envelopes] == [encode(e) for e in single.envelopes]
    assert sealed.envelopes[-1].sig and not sealed.envelopes[0].sig


async def test_many_aggregates_in_few_batches_each_guarded_and_chained(nc: NATS) -> None:
    store = EventStore(nc)
    ids = await opened(store, 7)
    fresh = EventStore(nc)
    loads = [await fresh.load(COUNTER, cid, JURISDICTION) for cid in ids]
    commands = [Command(loaded, bump(loaded.id, i + 1) * (1 + i % 2), meta()) for i, loaded in enumerate(loads)]
    commands.append(Command(await fresh.load(COUNTER, new_id(), JURISDICTION), [], meta()))  # decided nothing
    # At most 4 messages a batch: several batches, none splitting a command of two events.
    done = await append_many(fresh, commands, max_messages=4)
    assert all(d is not None for d in done)
    assert done[-1] is not None and done[-1].envelopes == ()
    for i, (cid, d) in enumerate(zip(ids, done, strict=False)):
        msgs = await stored(nc, cid)
        bodies = [orjson.loads(m.data) for m in msgs]
        assert verify_chain(bodies) == []
        assert len(bodies) == 2 + i % 2
        assert d is not None and d.stream_seq == msgs[-1].seq
        assert [e.stream_seq for e in d.envelopes] == [m.seq for m in msgs[1:]]
        assert d.loaded.version == len(bodies) and d.loaded.last_hash == bodies[-1]["hash"]
        # What the store now holds is what a cold load reads.
        again = await EventStore(nc).load(COUNTER, cid, JURISDICTION)
        assert again.state == d.loaded.state and again.last_stream_seq == d.loaded.last_stream_seq
        assert again.state.value == (i + 1) * (1 + i % 2)
        held = await fresh.load(COUNTER, cid, JURISDICTION)
        assert held.state == again.state


async def test_one_stale_aggregate_refuses_its_whole_batch_and_a_retry_stores_nothing_twice(nc: NATS) -> None:
    store = EventStore(nc)
    ids = await opened(store, 3)
    loads = [await EventStore(nc).load(COUNTER, cid, JURISDICTION) for cid in ids]
    # Another instance moves the second aggregate on after the wave loaded it.
    await store.append(await store.load(COUNTER, ids[1], JURISDICTION), bump(ids[1], 100), meta())
    commands = [Command(loaded, bump(loaded.id, 1), meta()) for loaded in loads]
    assert await append_many(EventStore(nc), commands) == [None, None, None]
    assert [len(await stored(nc, cid)) for cid in ids] == [1, 2, 1]  # all or nothing

    ok = [commands[0], commands[2]]
    first = await append_many(EventStore(nc), ok)
    assert all(d is not None and len(d.envelopes) == 1 for d in first)
    # The same commands again (an acknowledgement lost, the wave retried): refused, nothing twice.
    assert await append_many(EventStore(nc), ok) == [None, None]
    assert [len(await stored(nc, cid)) for cid in ids] == [2, 2, 2]
    # Decided again on a fresh load, as the watcher does: the store knows the command is applied.
    again = await EventStore(nc).load(COUNTER, ids[0], JURISDICTION)
    assert again.applied(commands[0].meta.command_id)


async def test_load_many_gives_what_load_gives_for_short_long_new_and_held_aggregates(nc: NATS) -> None:
    writer = EventStore(nc)
    ids = await opened(writer, 4)
    for cid, more in zip(ids, (0, 1, 4, 12), strict=True):  # 1, 2, 5 and 13 events (a snapshot at 10)
        for k in range(more):
            await writer.append(await writer.load(COUNTER, cid, JURISDICTION), bump(cid, k + 1), meta())
    unknown = new_id()
    store = EventStore(nc)
    held = await store.load(COUNTER, ids[1], JURISDICTION)  # this process holds one of them already
    targets: list[tuple[str, str | None]] = [(cid, JURISDICTION) for cid in ids]
    targets += [(unknown, JURISDICTION), (ids[2], None)]  # a new one, and one located by the store
    got = await load_many(store, COUNTER, targets)
    for (cid, _), g in zip(targets, got, strict=True):
        assert not isinstance(g, Exception)
        want = await EventStore(nc).load(COUNTER, cid, JURISDICTION)
        assert (g.state, g.version, g.last_stream_seq, g.last_hash) == (
            want.state,
            want.version,
            want.last_stream_seq,
            want.last_hash,
        )
        assert g.causations == want.causations
    assert got[1] == held and not got[4].exists
    assert [g.version for g in got if not isinstance(g, Exception)] == [1, 2, 5, 13, 0, 5]
    # What it loaded is held: an append on it is guarded by the sequence it read.
    (short,) = [g for g in got[:1] if not isinstance(g, Exception)]
    done = await append_many(store, [Command(short, bump(ids[0], 7), meta())])
    assert done[0] is not None and [m.seq for m in await stored(nc, ids[0])][-1] == done[0].stream_seq
