"""The envelope: canonical hash chain, decoding, upcasting old versions to the current class."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.envelope import (
    GENESIS,
    Actor,
    CorruptEnvelope,
    chain_hash,
    decode,
    encode,
    seal,
    verify_chain,
)
from libs.events.event import Event, UnknownEventType, registry
from libs.events.store import EventStore
from libs.events.subjects import aggregate_subject
from tests.events.fixtures_domain import (
    CONTEXT,
    COUNTER,
    JURISDICTION,
    CounterIncremented,
    CounterOpened,
    NoteTagged,
    meta,
    new_id,
)

CONTRACT_KEYS = {
    "id",
    "type",
    "version",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "jurisdiction",
    "occurred_at",
    "actor",
    "correlation_id",
    "causation_id",
    "prev_hash",
    "hash",
    "data",
}
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def chain(cid: str, events: list[Event]) -> list[dict]:
    bodies, prev = [], GENESIS
    for seq, event in enumerate(events, start=1):
        env = seal(
            id=str(uuid.uuid4()),
            event=event,
            aggregate_type=COUNTER.name,
            aggregate_id=cid,
            sequence=seq,
            jurisdiction=JURISDICTION,
            occurred_at=NOW,
            actor=Actor("test:clerk", "county_staff"),
            correlation_id="corr",
            causation_id="cmd",
            prev_hash=prev,
        )
        bodies.append(orjson.loads(encode(env)))
        prev = env.hash
    return bodies


def three(cid: str = "c1") -> list[dict]:
    return chain(
        cid,
        [
            CounterOpened(counter_id=cid, label="甲"),
            CounterIncremented(counter_id=cid, by=2),
            CounterIncremented(counter_id=cid, by=3),
        ],
    )


def test_the_envelope_has_the_contracts_keys_and_links_to_the_previous_hash() -> None:
    bodies = three()
    assert all(set(b) == CONTRACT_KEYS for b in bodies)
    assert set(bodies[0]["actor"]) == {"subject", "role"}
    assert bodies[0]["prev_hash"] == GENESIS
    assert [b["prev_hash"] for b in bodies[1:]] == [b["hash"] for b in bodies[:-1]]
    assert bodies[0]["type"] == "TestCounterOpened" and bodies[0]["version"] == 1


def test_the_hash_is_sha256_over_the_canonical_body_whatever_the_key_order() -> None:
    body = three()[1]
    unhashed = {k: v for k, v in body.items() if k != "hash"}
    shuffled = dict(reversed(list(unhashed.items())))
    assert chain_hash(shuffled) == chain_hash(unhashed) == body["hash"]
    assert len(body["hash"]) == 64


def test_an_intact_chain_verifies() -> None:
    assert verify_chain(three()) == []


def test_altering_content_is_detected_at_that_event() -> None:
    bodies = three()
    bodies[1]["data"]["by"] = 200
    problems = verify_chain(bodies)
    assert len(problems) == 1 and "#2" in problems[0] and "altered" in problems[0]


def test_an_altered_event_with_a_recomputed_hash_breaks_the_next_link() -> None:
    bodies = three()
    bodies[1]["data"]["by"] = 200
    bodies[1]["hash"] = chain_hash({k: v for k, v in bodies[1].items() if k != "hash"})
    problems = verify_chain(bodies)
    assert len(problems) == 1 and "#3" in problems[0] and "prev_hash" in problems[0]


def test_a_removed_or_reordered_event_is_detected() -> None:
    bodies = three()
    assert verify_chain([bodies[0], bodies[2]])
    assert verify_chain([bodies[0], bodies[2], bodies[1]])
    assert verify_chain(bodies[1:])


@pytest.mark.parametrize("field", ["jurisdiction", "occurred_at", "causation_id", "aggregate_id", "type"])
def test_every_envelope_field_is_covered_by_the_hash(field: str) -> None:
    bodies = copy.deepcopy(three())
    bodies[0][field] = bodies[0][field] + "x"
    assert verify_chain(bodies)


def test_decode_round_trips_and_rejects_garbage() -> None:
    body = three()[1]
    env = decode(orjson.dumps(body), stream_seq=7, subject="s")
    assert env.data == CounterIncremented(counter_id="c1", by=2)
    assert env.body() == body
    assert env.recomputed_hash() == body["hash"]
    assert (env.stream_seq, env.subject) == (7, "s")
    with pytest.raises(CorruptEnvelope):
        decode(b"{not json")
    with pytest.raises(CorruptEnvelope):
        decode(orjson.dumps({k: v for k, v in body.items() if k != "actor"}))


# -- upcasters ------------------------------------------------------------------------------------
def v1_body(cid: str, tag: str | None, *, sequence: int = 2, prev_hash: str = GENESIS) -> dict:
    data = {"counter_id": cid, **({"tag": tag} if tag else {})}
    unhashed = {
        "id": str(uuid.uuid4()),
        "type": "TestNoteTagged",
        "version": 1,
        "aggregate_type": COUNTER.name,
        "aggregate_id": cid,
        "sequence": sequence,
        "jurisdiction": JURISDICTION,
        "occurred_at": NOW.isoformat(),
        "actor": {"subject": "test:old", "role": "county_staff"},
        "correlation_id": "c",
        "causation_id": "old",
        "prev_hash": prev_hash,
        "data": data,
    }
    return {**unhashed, "hash": chain_hash(unhashed)}


def test_a_v1_body_decodes_as_the_current_v2_class() -> None:
    assert NoteTagged.version == 2
    env = decode(orjson.dumps(v1_body("c9", "urgent")))
    assert isinstance(env.data, NoteTagged)
    assert env.data.tags == ("urgent",)
    assert env.version == 1  # the stored version stays what was stored
    assert env.raw_data == {"counter_id": "c9", "tag": "urgent"}  # and so does the hashed data
    assert env.recomputed_hash() == env.hash
    assert decode(orjson.dumps(v1_body("c9", None))).data.tags == ()


def test_registry_upcasts_and_refuses_unknown_types_and_missing_steps() -> None:
    assert registry.decode("TestNoteTagged", 1, {"counter_id": "x", "tag": "t"}) == NoteTagged(
        counter_id="x", tags=("t",)
    )
    assert registry.decode("TestNoteTagged", 2, {"counter_id": "x", "tags": ["a", "b"]}).tags == ("a", "b")
    with pytest.raises(UnknownEventType):
        registry.decode("TestNoSuchEvent", 1, {})
    with pytest.raises(UnknownEventType):
        registry.decode("TestCounterOpened", 0, {"counter_id": "x", "label": "y"})  # no step from v0


def test_declaring_another_class_under_an_existing_type_name_is_refused() -> None:
    with pytest.raises(ValueError, match="declared twice"):

        class Impostor(Event, type_name="TestCounterOpened"):
            counter_id: str


async def test_the_store_loads_a_raw_v1_event_as_v2(nc: NATS) -> None:
    store = EventStore(nc)
    cid = new_id()
    opened = await store.append(
        await store.load(COUNTER, cid, JURISDICTION), [CounterOpened(counter_id=cid, label="旧")], meta()
    )
    old = v1_body(cid, "legacy", sequence=2, prev_hash=opened.loaded.last_hash)
    subject = aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, cid)
    await jsapi.publish(nc, subject, orjson.dumps(old), {"Nats-Msg-Id": old["id"]})
    loaded = await store.load(COUNTER, cid)
    assert loaded.version == 2
    assert loaded.state.tags == ("legacy",)
    # The next event chains onto the stored v1 body's hash.
    more = await store.append(loaded, [NoteTagged(counter_id=cid, tags=("new",))], meta())
    assert more.envelopes[0].prev_hash == old["hash"]
    assert more.envelopes[0].version == 2
    assert (await store.load(COUNTER, cid)).state.tags == ("legacy", "new")
