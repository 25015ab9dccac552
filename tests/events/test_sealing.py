"""The command path's cheaper sealing stores what the former code stored: same hash, same body, same ids."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from libs.events.envelope import GENESIS, Actor, Envelope, decode, encode, seal, verify_chain
from libs.events.event import Event
from libs.events.store import EVENT_NS, event_id
from tests.events.fixtures_domain import COUNTER, JURISDICTION, CounterIncremented, CounterOpened, NoteTagged

NOW = datetime(2026, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
ACTOR = Actor("test:clerk", "county_staff")


def former_body(event: Event, *, id: str, sequence: int, prev_hash: str) -> dict[str, Any]:
    """The body as the code before this change built it: the unhashed dict, then its hash added."""
    unhashed = {
        "id": id,
        "type": event.type_name,
        "version": event.version,
        "aggregate_type": COUNTER.name,
        "aggregate_id": "c1",
        "sequence": sequence,
        "jurisdiction": JURISDICTION,
        "occurred_at": NOW.isoformat(),
        "actor": {"subject": ACTOR.subject, "role": ACTOR.role},
        "correlation_id": "corr",
        "causation_id": "cmd",
        "prev_hash": prev_hash,
        "data": event.model_dump(mode="json"),
    }
    digest = hashlib.sha256(orjson.dumps(unhashed, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return {**unhashed, "hash": digest}


def sealed(event: Event, *, id: str, sequence: int, prev_hash: str) -> Envelope:
    return seal(
        id=id,
        event=event,
        aggregate_type=COUNTER.name,
        aggregate_id="c1",
        sequence=sequence,
        jurisdiction=JURISDICTION,
        occurred_at=NOW,
        actor=ACTOR,
        correlation_id="corr",
        causation_id="cmd",
        prev_hash=prev_hash,
        subject="renda.notify.x",
    )


EVENTS: list[Event] = [
    CounterOpened(counter_id="c1", label='甲 "引号" \\ 和换行\n'),
    CounterIncremented(counter_id="c1", by=-3, note="𠀀 emoji 🎉"),
    NoteTagged(counter_id="c1", tags=("a", "b")),
]


def test_a_sealed_chain_stores_the_former_bodies_and_hashes_and_verifies() -> None:
    prev, stored = GENESIS, []
    for seq, event in enumerate(EVENTS, start=1):
        env = sealed(event, id=f"e{seq}", sequence=seq, prev_hash=prev)
        former = former_body(event, id=f"e{seq}", sequence=seq, prev_hash=prev)
        body = orjson.loads(encode(env))
        assert body == former == env.body()  # the same JSON object; only the key order differs
        assert env.hash == former["hash"] == env.recomputed_hash()
        assert encode(env) != orjson.dumps(former)  # the bytes are the canonical ones plus the hash
        stored.append(body)
        prev = env.hash
    assert verify_chain(stored) == []


def test_a_sealed_envelope_is_a_complete_envelope_and_decodes_to_itself() -> None:
    env = sealed(EVENTS[1], id="e2", sequence=2, prev_hash="p" * 64)
    names = {f.name for f in fields(Envelope)}
    assert set(vars(env)) == names  # built without __init__: every field is there
    assert set(vars(decode(encode(env)))) == names
    back = decode(encode(env), subject="renda.notify.x")
    assert back == env and back.raw_data == env.raw_data and back.recomputed_hash() == env.hash
    # A changed copy carries no stale stored bytes: it is serialised from its fields.
    altered = replace(env, correlation_id="other")
    assert orjson.loads(encode(altered))["correlation_id"] == "other"
    assert orjson.loads(encode(altered))["hash"] == env.hash  # the hash is what it was: verification will tell


@given(st.text(min_size=1), st.text(min_size=1), st.integers(min_value=0, max_value=10**12))
def test_event_ids_are_the_uuid5_they_always_were(command_id: str, aggregate_id: str, sequence: int) -> None:
    assert event_id(command_id, aggregate_id, sequence) == str(
        uuid.uuid5(EVENT_NS, f"{command_id}/{aggregate_id}/{sequence}")
    )
