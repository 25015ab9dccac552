"""Snapshots against a real NATS server: written every N events, read with the events after them,
ignored when they do not fit, never needed (a missing stream is recreated by the next write)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError

from libs.events import jetstream as jsapi
from libs.events.aggregate import AggregateType
from libs.events.envelope import encode, seal, verify_chain
from libs.events.errors import ConcurrencyConflict, CorruptStream
from libs.events.store import RECENT, EventStore, Loaded, _recent
from libs.events.streams import ensure_streams
from libs.events.subjects import SNAPSHOT_STREAM, aggregate_subject, snapshot_subject
from libs.runtime.nats_server import EmbeddedNats
from tests.events.fixtures_domain import (
    CONTEXT,
    JURISDICTION,
    STREAM,
    Counter,
    CounterIncremented,
    CounterOpened,
    evolve,
    meta,
    new_id,
)

EVERY = 5
COUNTER: AggregateType[Counter] = AggregateType(
    "testsnapcounter", CONTEXT, lambda i: Counter(id=i), evolve, snapshot_every=EVERY
)


@pytest.fixture
async def nc2(nats_server: EmbeddedNats) -> AsyncIterator[NATS]:
    """A second connection, as another service instance would have."""
    conn = await nats.connect(nats_server.url, name="renda-tests-2")
    yield conn
    await conn.drain()


def increment(by: int = 1) -> Any:
    def decide(loaded: Loaded[Counter]) -> list[Any]:
        return [CounterIncremented(counter_id=loaded.id, by=by)]

    return decide


async def counter_with(store: EventStore, events: int, *, cid: str | None = None) -> str:
    """A counter of ``events`` events (opened, then incremented by 1), one command each."""
    cid = cid or new_id()
    await store.execute(
        COUNTER, cid, lambda _: [CounterOpened(counter_id=cid, label="快照")], meta(), jurisdiction=JURISDICTION
    )
    for _ in range(events - 1):
        await store.execute(COUNTER, cid, increment(), meta(), jurisdiction=JURISDICTION)
    return cid


async def more(store: EventStore, cid: str, events: int) -> None:
    for _ in range(events):
        await store.execute(COUNTER, cid, increment(), meta(), jurisdiction=JURISDICTION)


async def stored_snapshot(nc: NATS, cid: str, agg: AggregateType[Counter] = COUNTER) -> dict[str, Any] | None:
    try:
        got = await jsapi.direct_get_last(nc, SNAPSHOT_STREAM, snapshot_subject(CONTEXT, agg.name, cid))
    except NoRespondersError:
        return None  # no snapshot stream (yet)
    return None if got is None else orjson.loads(got.data)


async def full_replay(nc: NATS, cid: str) -> Loaded[Counter]:
    return await EventStore(nc, snapshots=False).load(COUNTER, cid, JURISDICTION)


async def cold_load(nc: NATS, cid: str) -> tuple[Loaded[Counter], int]:
    """A load by a new store (nothing cached) and the number of messages it received."""
    store = EventStore(nc)
    before = nc.stats["in_msgs"]
    loaded = await store.load(COUNTER, cid, JURISDICTION)
    return loaded, nc.stats["in_msgs"] - before


async def stream_exists(nc: NATS, name: str) -> bool:
    return not (await jsapi.api(nc, f"STREAM.INFO.{name}")).get("error")


# -- writing ----------------------------------------------------------------------------------------
async def test_a_snapshot_is_written_once_snapshot_every_events_are_past_the_last(nc: NATS) -> None:
    store = EventStore(nc)
    cid = await counter_with(store, EVERY - 1)
    await store.snapshots.flush()  # type: ignore[union-attr]
    assert await stored_snapshot(nc, cid) is None
    await more(store, cid, 1)
    await store.snapshots.flush()  # type: ignore[union-attr]
    body = await stored_snapshot(nc, cid)
    assert body is not None
    loaded = await full_replay(nc, cid)
    assert (body["version"], body["last_stream_seq"], body["last_hash"]) == (
        EVERY,
        loaded.last_stream_seq,
        loaded.last_hash,
    )
    assert body["state"] == {"id": cid, "label": "快照", "value": EVERY - 1, "events": EVERY, "tags": []}
    assert body["jurisdiction"] == JURISDICTION and len(body["causations"]) == EVERY
    await more(store, cid, EVERY - 1)
    await store.snapshots.flush()  # type: ignore[union-attr]
    assert (await stored_snapshot(nc, cid))["version"] == EVERY  # type: ignore[index]
    await more(store, cid, 1)
    await store.snapshots.flush()  # type: ignore[union-attr]
    assert (await stored_snapshot(nc, cid))["version"] == 2 * EVERY  # type: ignore[index]


async def test_a_load_that_folds_snapshot_every_events_writes_a_snapshot(nc: NATS, nc2: NATS) -> None:
    cid = await counter_with(EventStore(nc, snapshots=False), 2 * EVERY + 2)  # stored with no snapshot
    assert await stored_snapshot(nc, cid) is None
    store = EventStore(nc2)
    await store.load(COUNTER, cid, JURISDICTION)
    await store.snapshots.flush()  # type: ignore[union-attr]
    assert (await stored_snapshot(nc, cid))["version"] == 2 * EVERY + 2  # type: ignore[index]


async def test_no_snapshot_for_a_type_that_says_never(nc: NATS) -> None:
    never = AggregateType("testnosnapcounter", CONTEXT, lambda i: Counter(id=i), evolve, snapshot_every=0)
    store = EventStore(nc)
    cid = new_id()
    for k in range(12):
        await store.execute(never, cid, increment(k), meta(), jurisdiction=JURISDICTION)
    await store.snapshots.flush()  # type: ignore[union-attr]
    assert await stored_snapshot(nc, cid, never) is None
    assert (await EventStore(nc).load(never, cid, JURISDICTION)).state.value == sum(range(12))


# -- reading ----------------------------------------------------------------------------------------
async def test_a_cold_store_reads_only_the_events_past_the_snapshot(nc: NATS, nc2: NATS) -> None:
    store = EventStore(nc)
    cid = await counter_with(store, 2 * EVERY + 2)  # snapshot at 10, two events after it
    await store.snapshots.flush()  # type: ignore[union-attr]
    replayed = await full_replay(nc, cid)

    loaded, received = await cold_load(nc2, cid)
    assert loaded == replayed  # state, version, last sequence and hash, causations
    assert (loaded.version, loaded.snapshot_version) == (2 * EVERY + 2, 2 * EVERY)
    # The snapshot and the last event together, then events 11 and 12 and the end-of-batch status;
    # a full read receives all 12 events and the status.
    assert received == 2 + 2 + 1
    _, everything = await cold_load_without_snapshots(nc2, cid)
    assert everything == 2 * EVERY + 2 + 1

    await more(store, cid, EVERY - 2)  # 15: a snapshot of the last event
    await store.snapshots.flush()  # type: ignore[union-attr]
    loaded, received = await cold_load(nc2, cid)
    assert (loaded.version, loaded.state.value, received) == (3 * EVERY, 3 * EVERY - 1, 2)
    await more(store, cid, 1)  # 16: one past it, which came with the snapshot
    loaded, received = await cold_load(nc2, cid)
    assert (loaded.version, loaded.state.value, received) == (3 * EVERY + 1, 3 * EVERY, 2)
    assert loaded == await full_replay(nc, cid)


async def cold_load_without_snapshots(nc: NATS, cid: str) -> tuple[Loaded[Counter], int]:
    before = nc.stats["in_msgs"]
    loaded = await EventStore(nc, snapshots=False).load(COUNTER, cid, JURISDICTION)
    return loaded, nc.stats["in_msgs"] - before


async def test_a_new_and_a_one_event_aggregate_load_in_one_round_trip(nc: NATS, nc2: NATS) -> None:
    cid = new_id()
    loaded, received = await cold_load(nc2, cid)
    assert (loaded.exists, received) == (False, 2)
    await EventStore(nc).execute(
        COUNTER, cid, lambda _: [CounterOpened(counter_id=cid, label="一")], meta(), jurisdiction=JURISDICTION
    )
    loaded, received = await cold_load(nc2, cid)
    assert (loaded.version, loaded.state.label, received) == (1, "一", 2)


def forged(body: dict[str, Any], kind: str) -> bytes:
    match kind:
        case "garbage":
            return b"{not json"
        case "foreign fingerprint":
            return orjson.dumps({**body, "fingerprint": "0" * 64})
        case "state of another shape":
            return orjson.dumps({**body, "state": {"id": body["aggregate_id"], "value": "many"}})
        case "another aggregate":
            return orjson.dumps({**body, "aggregate_id": "someone-else"})
        case "another jurisdiction":
            return orjson.dumps({**body, "jurisdiction": "340402"})
        case "not linked to the events":
            return orjson.dumps({**body, "last_hash": "f" * 64, "state": {**body["state"], "value": 999}})
        case "ahead of the stream":
            return orjson.dumps({**body, "version": body["version"] + 50, "last_stream_seq": 10**12})
        case "a wrong version":
            return orjson.dumps({**body, "version": body["version"] - 1})
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "garbage",
        "foreign fingerprint",
        "state of another shape",
        "another aggregate",
        "another jurisdiction",
        "not linked to the events",
        "ahead of the stream",
        "a wrong version",
    ],
)
@pytest.mark.parametrize("past", [0, 1, 3])  # events stored after the snapshot
async def test_an_unusable_snapshot_is_ignored_and_the_load_is_still_right(
    nc: NATS, nc2: NATS, kind: str, past: int
) -> None:
    store = EventStore(nc)
    cid = await counter_with(store, 2 * EVERY)
    await store.snapshots.flush()  # type: ignore[union-attr]
    body = await stored_snapshot(nc, cid)
    assert body is not None and body["version"] == 2 * EVERY
    await jsapi.publish(nc, snapshot_subject(CONTEXT, COUNTER.name, cid), forged(body, kind), {})
    await more(store, cid, past)
    loaded, _ = await cold_load(nc2, cid)
    assert loaded == await full_replay(nc, cid)
    assert loaded.state.value == 2 * EVERY - 1 + past


async def test_a_gap_in_the_events_past_a_snapshot_refuses_the_load(nc: NATS, nc2: NATS) -> None:
    """Sequence continuity from the snapshot on, as from the first event: never decide on a gap."""
    store = EventStore(nc)
    cid = await counter_with(store, 2 * EVERY + 1)  # snapshot at 10, then event 11
    await store.snapshots.flush()  # type: ignore[union-attr]
    last = await full_replay(nc, cid)
    m = meta()
    skipped = seal(
        id=new_id(),
        event=CounterIncremented(counter_id=cid, by=1),
        aggregate_type=COUNTER.name,
        aggregate_id=cid,
        sequence=last.version + 2,
        jurisdiction=JURISDICTION,
        occurred_at=m.now,
        actor=m.actor,
        correlation_id="gap",
        causation_id=m.command_id,
        prev_hash=last.last_hash,
    )
    subject = aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, cid)
    await jsapi.publish(nc, subject, encode(skipped), {"Nats-Msg-Id": skipped.id})
    with pytest.raises(CorruptStream):
        await EventStore(nc2).load(COUNTER, cid, JURISDICTION)
    with pytest.raises(CorruptStream):
        await EventStore(nc2, snapshots=False).load(COUNTER, cid, JURISDICTION)


# -- a cache, never needed ----------------------------------------------------------------------------
async def test_loads_work_without_the_snapshot_stream_and_the_next_write_creates_it(fresh_nats: EmbeddedNats) -> None:
    conn = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(conn, 1, create_missing=True)
        writer = EventStore(conn)
        cid = await counter_with(writer, EVERY)
        await writer.snapshots.flush()  # type: ignore[union-attr]
        assert await stream_exists(conn, SNAPSHOT_STREAM)  # created by the first snapshot written
        assert (await jsapi.api(conn, f"STREAM.DELETE.{SNAPSHOT_STREAM}")).get("success")

        # A new store: its load cannot read a snapshot, reads every event, and (having folded
        # EVERY of them) writes one, which creates the stream again.
        reader = EventStore(conn)
        loaded = await reader.load(COUNTER, cid, JURISDICTION)
        assert (loaded.version, loaded.state.value) == (EVERY, EVERY - 1)
        assert reader.snapshots.reads_paused  # type: ignore[union-attr]
        await reader.snapshots.flush()  # type: ignore[union-attr]
        assert await stream_exists(conn, SNAPSHOT_STREAM)
        assert not reader.snapshots.reads_paused  # type: ignore[union-attr]
        assert (await stored_snapshot(conn, cid))["version"] == EVERY  # type: ignore[index]

        # Deleted under a store that had created it: its next write hears "no responders",
        # creates the stream and publishes that snapshot again.
        assert (await jsapi.api(conn, f"STREAM.DELETE.{SNAPSHOT_STREAM}")).get("success")
        await more(writer, cid, EVERY)
        await writer.snapshots.flush()  # type: ignore[union-attr]
        assert (await stored_snapshot(conn, cid))["version"] == 2 * EVERY  # type: ignore[index]
        info = await jsapi.stream_info(conn, SNAPSHOT_STREAM)
        assert info["config"]["max_msgs_per_subject"] == 1
        assert not info["config"].get("deny_purge") and not info["config"].get("deny_delete")
        assert (await EventStore(conn).load(COUNTER, cid, JURISDICTION)) == await full_replay(conn, cid)
    finally:
        await conn.drain()


async def test_a_purged_snapshot_stream_only_costs_a_full_read(nc: NATS, nc2: NATS) -> None:
    store = EventStore(nc)
    cid = await counter_with(store, 2 * EVERY)
    await store.snapshots.flush()  # type: ignore[union-attr]
    purge = {"filter": snapshot_subject(CONTEXT, COUNTER.name, cid)}
    assert (await jsapi.api(nc, f"STREAM.PURGE.{SNAPSHOT_STREAM}", purge)).get("success")
    loaded, received = await cold_load(nc2, cid)
    assert loaded == await full_replay(nc, cid)
    assert received == 2 + 2 * EVERY + 1


# -- commands -------------------------------------------------------------------------------------------
async def test_a_retried_command_after_a_snapshot_is_still_a_no_op(nc: NATS, nc2: NATS) -> None:
    store = EventStore(nc)
    cid = new_id()
    opened = meta()
    await store.execute(
        COUNTER, cid, lambda _: [CounterOpened(counter_id=cid, label="重试")], opened, jurisdiction=JURISDICTION
    )
    early = meta()
    await store.execute(COUNTER, cid, increment(5), early, jurisdiction=JURISDICTION)
    await more(store, cid, 2 * EVERY - 2)  # snapshot at 10
    late = meta()
    await store.execute(COUNTER, cid, increment(7), late, jurisdiction=JURISDICTION)  # 11, after the snapshot
    await store.snapshots.flush()  # type: ignore[union-attr]
    head = await jsapi.last_seq(nc, STREAM)

    for retried in (opened, early, late):
        again = await EventStore(nc2).execute(COUNTER, cid, increment(5), retried, jurisdiction=JURISDICTION)
        assert again.envelopes == ()
        assert again.loaded.snapshot_version == 2 * EVERY  # it was loaded from the snapshot
        assert again.loaded.applied(retried.command_id)
    assert await jsapi.last_seq(nc, STREAM) == head
    assert (await full_replay(nc, cid)).state.value == 5 + 2 * EVERY - 2 + 7


async def test_a_race_between_two_stores_loaded_from_a_snapshot_is_a_clean_conflict(nc: NATS, nc2: NATS) -> None:
    cid = await counter_with(EventStore(nc), 2 * EVERY + 1)
    first, second = EventStore(nc), EventStore(nc2)
    await first.snapshots.flush()  # type: ignore[union-attr]
    a = await first.load(COUNTER, cid, JURISDICTION)
    b = await second.load(COUNTER, cid, JURISDICTION)
    assert a.snapshot_version == b.snapshot_version == 2 * EVERY
    await first.append(a, [CounterIncremented(counter_id=cid, by=10)], meta())
    with pytest.raises(ConcurrencyConflict):
        await second.append(b, [CounterIncremented(counter_id=cid, by=20)], meta())
    again = await second.load(COUNTER, cid, JURISDICTION)
    await second.append(again, [CounterIncremented(counter_id=cid, by=20)], meta())
    final = await full_replay(nc, cid)
    assert (final.version, final.state.value) == (2 * EVERY + 3, 2 * EVERY + 30)
    subject = aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, cid)
    assert verify_chain([orjson.loads(m.data) async for m in jsapi.direct_get_subject(nc, STREAM, subject)]) == []


def test_the_recent_command_ids_are_the_last_distinct_ones_oldest_first() -> None:
    assert _recent(("a", "b"), ["c", "c", "b"]) == ("a", "c", "b")
    ids = [f"k{i}" for i in range(RECENT + 40)]
    assert _recent((), ids) == tuple(ids[-RECENT:])
    assert _recent(tuple(ids[:RECENT]), ["new"]) == (*ids[1:RECENT], "new")


def test_snapshots_are_their_own_stream_and_subjects() -> None:
    assert snapshot_subject("suggestions", "suggestion", "s-1") == "renda.snapshots.suggestions.suggestion.s-1"
    with pytest.raises(ValueError):
        snapshot_subject("suggestions", "suggestion", "s.1")  # one token, like the event subjects
