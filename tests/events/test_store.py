"""The event store against a real NATS server: concurrency, idempotency, atomic commands, streams."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import SimpleNamespace

import nats
import orjson
import pytest
from nats.aio.client import Client as NATS

from libs.config.settings import Settings
from libs.events import jetstream as jsapi
from libs.events.audit import verify_all
from libs.events.envelope import encode, seal, verify_chain
from libs.events.errors import ConcurrencyConflict, ServerTooOld, StreamMissing
from libs.events.store import Appended, EventStore, event_id
from libs.events.streams import ensure_streams
from libs.events.subjects import aggregate_subject
from libs.runtime.nats_server import EmbeddedNats
from tests.events.fixtures_domain import (
    CONTEXT,
    COUNTER,
    JURISDICTION,
    STREAM,
    Counter,
    CounterIncremented,
    CounterOpened,
    meta,
    new_id,
    read_until,
)
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
SUBJECT_OF = lambda cid: aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, cid)  # noqa: E731


async def open_counter(store: EventStore, label: str = "计数") -> Appended[Counter]:
    cid = new_id()
    loaded = await store.load(COUNTER, cid, JURISDICTION)
    return await store.append(loaded, [CounterOpened(counter_id=cid, label=label)], meta())


async def stored_bodies(nc: NATS, cid: str) -> list[dict]:
    return [orjson.loads(m.data) async for m in jsapi.direct_get_subject(nc, STREAM, SUBJECT_OF(cid))]


# -- optimistic concurrency ---------------------------------------------------------------------
async def test_twenty_concurrent_appends_one_wins_per_sequence_and_retries_land_in_order(nc: NATS) -> None:
    store = EventStore(nc)
    opened = await open_counter(store)
    cid = opened.loaded.id
    n = 20
    stores = [EventStore(nc) for _ in range(4)]  # like four service instances, each with its own cache
    barrier = asyncio.Barrier(n)
    winners: dict[int, list[int]] = {}  # aggregate sequence -> tasks that stored it
    conflicts: list[int] = []
    first_round: dict[int, str] = {}

    async def worker(i: int) -> None:
        m = meta()  # one command, retried until it lands
        store = stores[i % len(stores)]
        first = True
        while True:
            loaded = await store.load(COUNTER, cid)
            if first:
                await barrier.wait()  # everyone holds the same version before anyone appends
            try:
                done = await store.append(loaded, [CounterIncremented(counter_id=cid, by=i, note=f"w{i}")], m)
            except ConcurrencyConflict:
                conflicts.append(i)
                if first:
                    first_round[i] = "conflict"
                first = False
                continue
            if first:
                first_round[i] = "won"
            (env,) = done.envelopes
            winners.setdefault(env.sequence, []).append(i)
            return

    await asyncio.wait_for(asyncio.gather(*(worker(i) for i in range(1, n + 1))), 60)

    # The first round: all had loaded version 1; exactly one won, the 19 others were refused.
    assert sorted(first_round.values()).count("won") == 1
    assert sorted(first_round.values()).count("conflict") == n - 1
    # Exactly one winner per sequence, every worker landed once, nothing lost or doubled.
    assert sorted(winners) == list(range(2, n + 2))
    assert all(len(w) == 1 for w in winners.values())
    assert sorted(w[0] for w in winners.values()) == list(range(1, n + 1))
    assert len(conflicts) >= n - 1

    final = await store.load(COUNTER, cid)
    assert final.version == n + 1
    assert final.state.value == sum(range(1, n + 1))
    bodies = await stored_bodies(nc, cid)
    assert [b["sequence"] for b in bodies] == list(range(1, n + 2))
    # Stored in the order the winners won their sequences.
    assert [b["data"].get("note") for b in bodies[1:]] == [f"w{winners[s][0]}" for s in range(2, n + 2)]
    assert verify_chain(bodies) == []


async def test_a_stale_load_is_a_clean_concurrency_conflict_and_stores_nothing(nc: NATS) -> None:
    store = EventStore(nc)
    opened = await open_counter(store)
    stale = opened.loaded
    await store.append(stale, [CounterIncremented(counter_id=stale.id, by=1)], meta())
    head = await jsapi.last_seq(nc, STREAM)
    with pytest.raises(ConcurrencyConflict) as caught:
        await store.append(stale, [CounterIncremented(counter_id=stale.id, by=2)], meta())
    assert caught.value.code == "concurrency_conflict"
    assert await jsapi.last_seq(nc, STREAM) == head
    assert (await store.load(COUNTER, stale.id)).state.value == 1


# -- idempotency ----------------------------------------------------------------------------------
async def test_same_command_id_twice_is_stored_once(nc: NATS) -> None:
    store = EventStore(nc)
    opened = await open_counter(store)
    cid = opened.loaded.id
    m = meta()

    def decide(_loaded: object) -> list:
        return [CounterIncremented(counter_id=cid, by=5)]

    first = await store.execute(COUNTER, cid, decide, m)
    head = await jsapi.last_seq(nc, STREAM)
    again = await store.execute(COUNTER, cid, decide, m)
    assert len(first.envelopes) == 1
    assert again.envelopes == ()  # a retry decides nothing again
    assert again.stream_seq == first.stream_seq  # and answers the same position
    assert await jsapi.last_seq(nc, STREAM) == head
    loaded = await store.load(COUNTER, cid)
    assert (loaded.version, loaded.state.value) == (2, 5)


async def test_raw_msg_id_is_deduplicated_by_the_server(nc: NATS) -> None:
    cid = new_id()
    env = seal(
        id=str(uuid.uuid4()),
        event=CounterOpened(counter_id=cid, label="raw"),
        aggregate_type=COUNTER.name,
        aggregate_id=cid,
        sequence=1,
        jurisdiction=JURISDICTION,
        occurred_at=meta().now,
        actor=meta().actor,
        correlation_id="c",
        causation_id="k",
        prev_hash="",
    )
    first = await jsapi.publish(nc, SUBJECT_OF(cid), encode(env), {"Nats-Msg-Id": env.id})
    second = await jsapi.publish(nc, SUBJECT_OF(cid), encode(env), {"Nats-Msg-Id": env.id})
    assert not first.duplicate
    assert second.duplicate and second.seq == first.seq
    assert len(await stored_bodies(nc, cid)) == 1


@pytest.mark.parametrize("events", [1, 3])
async def test_retry_after_a_lost_ack_succeeds_and_stores_nothing_new(nc: NATS, events: int) -> None:
    store = EventStore(nc)
    opened = await open_counter(store)
    loaded = opened.loaded
    m = meta()
    batch = [CounterIncremented(counter_id=loaded.id, by=k) for k in range(1, events + 1)]
    first = await store.append(loaded, batch, m)
    head = await jsapi.last_seq(nc, STREAM)
    # The acknowledgement was lost: the client retries the very same append.
    retried = await store.append(loaded, batch, m)
    assert retried.stream_seq == first.stream_seq
    assert retried.loaded.version == first.loaded.version == 1 + events
    assert [e.id for e in retried.envelopes] == [e.id for e in first.envelopes]
    assert await jsapi.last_seq(nc, STREAM) == head
    assert len(await stored_bodies(nc, loaded.id)) == 1 + events


async def test_retry_after_someone_else_appended_is_a_conflict_not_a_success(nc: NATS) -> None:
    store = EventStore(nc)
    opened = await open_counter(store)
    loaded = opened.loaded
    m = meta()
    await store.append(loaded, [CounterIncremented(counter_id=loaded.id, by=1)], m)
    await store.append((await store.load(COUNTER, loaded.id)), [CounterIncremented(counter_id=loaded.id, by=2)], meta())
    with pytest.raises(ConcurrencyConflict):
        await store.append(loaded, [CounterIncremented(counter_id=loaded.id, by=1)], m)


def test_event_ids_derive_from_the_command() -> None:
    assert event_id("cmd", "agg", 2) == event_id("cmd", "agg", 2)
    assert len({event_id("cmd", "agg", 2), event_id("cmd", "agg", 3), event_id("cmd2", "agg", 2)}) == 3


# -- a command's events: whole or not at all ----------------------------------------------------
async def test_a_command_of_several_events_is_stored_in_one_go_with_consecutive_sequences(nc: NATS) -> None:
    store = EventStore(nc)
    opened = await open_counter(store)
    before = opened.stream_seq
    done = await store.append(
        opened.loaded, [CounterIncremented(counter_id=opened.loaded.id, by=k) for k in (1, 2, 3, 4)], meta()
    )
    seqs = [e.stream_seq for e in done.envelopes]
    assert [e.sequence for e in done.envelopes] == [2, 3, 4, 5]
    assert seqs == list(range(seqs[0], seqs[0] + 4)) and seqs[0] > before
    assert done.stream_seq == seqs[-1]
    bodies = await stored_bodies(nc, opened.loaded.id)
    assert [b["sequence"] for b in bodies] == [1, 2, 3, 4, 5]
    assert verify_chain(bodies) == []


KILLED_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    import nats
    from libs.events.store import EventStore
    from tests.events.fixtures_domain import COUNTER, JURISDICTION, CounterIncremented, meta

    async def main(url, cid):
        nc = await nats.connect(url)
        store = EventStore(nc)
        real = nc.request

        async def request(subject, payload=b"", timeout=None, headers=None, **kw):
            if headers and headers.get("Nats-Batch-Commit"):
                await nc.flush()  # the first events have reached the server
                print("PAUSED", flush=True)
                await asyncio.sleep(3600)  # killed here, before the commit
            return await real(subject, payload, timeout=timeout, headers=headers, **kw)

        nc.request = request
        loaded = await store.load(COUNTER, cid, JURISDICTION)
        await store.append(loaded, [CounterIncremented(counter_id=cid, by=k) for k in range(1, 6)], meta())
        print("COMMITTED", flush=True)

    asyncio.run(main(sys.argv[1], sys.argv[2]))
    """
)


async def test_a_process_killed_between_publishes_stores_none_of_the_command(fresh_nats: EmbeddedNats) -> None:
    conn = await nats.connect(fresh_nats.url)
    try:
        await ensure_streams(conn, 1, create_missing=True)
        store = EventStore(conn)
        opened = await open_counter(store)
        cid = opened.loaded.id
        seen: list[bytes] = []

        async def on_msg(m: object) -> None:
            seen.append(m.data)  # type: ignore[attr-defined]

        await conn.subscribe(SUBJECT_OF(cid), cb=on_msg)
        await conn.flush()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            KILLED_CHILD,
            fresh_nats.url,
            cid,
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        try:
            line = await read_until(child.stdout, b"PAUSED")
            assert line == b"PAUSED"

            async def four_published() -> None:
                assert len(seen) == 4

            await eventually(four_published)  # the child really was between its publishes
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
        assert child.returncode == -signal.SIGKILL

        assert await jsapi.last_seq(conn, STREAM) == opened.stream_seq
        reloaded = await store.load(COUNTER, cid)
        assert (reloaded.version, reloaded.state.value) == (1, 0)
        # The abandoned batch blocks nothing: the next command lands right after the first event.
        done = await store.append(reloaded, [CounterIncremented(counter_id=cid, by=7)] * 2, meta())
        assert [e.stream_seq for e in done.envelopes] == [opened.stream_seq + 1, opened.stream_seq + 2]
        report = await verify_all(conn)
        assert report.ok, report.breaks
        assert report.events == 3
    finally:
        await conn.drain()


# -- streams ------------------------------------------------------------------------------------
async def test_streams_deny_delete_and_purge(nc: NATS) -> None:
    store = EventStore(nc)
    opened = await open_counter(store)
    info = await jsapi.stream_info(nc, STREAM)
    cfg = info["config"]
    assert cfg["deny_delete"] is True and cfg["deny_purge"] is True
    assert cfg["storage"] == "file" and cfg["allow_atomic"] is True
    deleted = await jsapi.api(nc, f"STREAM.MSG.DELETE.{STREAM}", {"seq": opened.stream_seq})
    assert deleted.get("error"), deleted
    purged = await jsapi.api(nc, f"STREAM.PURGE.{STREAM}", {"filter": SUBJECT_OF(opened.loaded.id)})
    assert purged.get("error"), purged
    assert len(await stored_bodies(nc, opened.loaded.id)) == 1


async def test_missing_stream_is_refused_not_recreated(fresh_nats: EmbeddedNats) -> None:
    conn = await nats.connect(fresh_nats.url)
    try:
        with pytest.raises(StreamMissing):
            await ensure_streams(conn, 1, create_missing=False)
        with pytest.raises(StreamMissing):
            await jsapi.stream_info(conn, STREAM)
    finally:
        await conn.drain()


async def test_a_service_does_not_start_against_a_nats_without_streams(
    fresh_nats: EmbeddedNats, settings_for, tmp_path: Path
) -> None:
    from services.deputies.app import create

    settings: Settings = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'svc.sqlite3'}")
    app = create(settings)
    with pytest.raises(StreamMissing):
        async with app.router.lifespan_context(app):
            pass  # pragma: no cover - must not get here
    conn = await nats.connect(fresh_nats.url)
    try:
        with pytest.raises(StreamMissing):  # and it did not create one either
            await jsapi.stream_info(conn, "RENDA_DEPUTIES")
    finally:
        await conn.drain()


def _server(major: int, minor: int, patch: int = 0) -> SimpleNamespace:
    version = SimpleNamespace(major=major, minor=minor, patch=patch)
    return SimpleNamespace(connected_server_version=version)


@pytest.mark.parametrize(
    ("major", "minor", "ok"),
    [(2, 11, False), (2, 10, False), (1, 99, False), (2, 12, True), (2, 15, True), (3, 0, True)],
)
def test_server_version_check(major: int, minor: int, ok: bool) -> None:
    fake = _server(major, minor)
    if ok:
        jsapi.check_server_version(fake)  # type: ignore[arg-type]
    else:
        with pytest.raises(ServerTooOld):
            jsapi.check_server_version(fake)  # type: ignore[arg-type]


async def test_the_real_server_passes_the_version_check(nc: NATS) -> None:
    assert "2." in jsapi.check_server_version(nc)
