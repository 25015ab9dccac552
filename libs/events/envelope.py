"""The contract's JSON envelope and its tamper-evident hash chain.

``hash`` is SHA-256 over the canonical encoding (sorted keys, no whitespace, UTF-8) of the
envelope without ``hash`` itself; ``prev_hash`` is the hash of the aggregate's previous event
("" for the first), so altering or removing one stored event breaks every later link.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from libs.events.event import Event, registry

GENESIS = ""


def canonical(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


def chain_hash(body_without_hash: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body_without_hash)).hexdigest()


@dataclass(frozen=True)
class Actor:
    subject: str
    role: str

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(subject=f"system:{name}", role="system")


@dataclass(frozen=True)
class Envelope:
    id: str
    type: str
    version: int
    aggregate_type: str
    aggregate_id: str
    sequence: int
    jurisdiction: str
    occurred_at: datetime
    actor: Actor
    correlation_id: str
    causation_id: str
    prev_hash: str
    hash: str
    data: Event
    raw_data: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)
    # Where it lies in JetStream; not part of the hashed body.
    stream_seq: int = 0
    subject: str = ""

    def body(self) -> dict[str, Any]:
        """The envelope as stored (what was hashed, plus the hash)."""
        return {**_unhashed(self), "hash": self.hash}

    def recomputed_hash(self) -> str:
        return chain_hash(_unhashed(self))


def _unhashed(e: Envelope) -> dict[str, Any]:
    return {
        "id": e.id,
        "type": e.type,
        "version": e.version,
        "aggregate_type": e.aggregate_type,
        "aggregate_id": e.aggregate_id,
        "sequence": e.sequence,
        "jurisdiction": e.jurisdiction,
        "occurred_at": e.occurred_at.isoformat(),
        "actor": {"subject": e.actor.subject, "role": e.actor.role},
        "correlation_id": e.correlation_id,
        "causation_id": e.causation_id,
        "prev_hash": e.prev_hash,
        "data": e.raw_data,
    }


def seal(
    *,
    id: str,
    event: Event,
    aggregate_type: str,
    aggregate_id: str,
    sequence: int,
    jurisdiction: str,
    occurred_at: datetime,
    actor: Actor,
    correlation_id: str,
    causation_id: str,
    prev_hash: str,
) -> Envelope:
    """Build a new envelope and compute its hash."""
    raw = event.model_dump(mode="json")
    env = Envelope(
        id=id,
        type=event.type_name,
        version=event.version,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        sequence=sequence,
        jurisdiction=jurisdiction,
        occurred_at=occurred_at,
        actor=actor,
        correlation_id=correlation_id,
        causation_id=causation_id,
        prev_hash=prev_hash,
        hash="",
        data=event,
        raw_data=raw,
    )
    return _with_hash(env, env.recomputed_hash())


def _with_hash(env: Envelope, h: str) -> Envelope:
    object.__setattr__(env, "hash", h)
    return env


def encode(env: Envelope) -> bytes:
    return orjson.dumps(env.body())


class CorruptEnvelope(ValueError):
    pass


def from_body(b: dict[str, Any], *, stream_seq: int = 0, subject: str = "") -> Envelope:
    """An envelope from its parsed stored body; the event is upcast to its current class."""
    actor = b["actor"]
    raw = b["data"]
    return Envelope(
        id=b["id"],
        type=b["type"],
        version=b["version"],
        aggregate_type=b["aggregate_type"],
        aggregate_id=b["aggregate_id"],
        sequence=b["sequence"],
        jurisdiction=b["jurisdiction"],
        occurred_at=datetime.fromisoformat(b["occurred_at"]),
        actor=Actor(subject=actor["subject"], role=actor["role"]),
        correlation_id=b["correlation_id"],
        causation_id=b["causation_id"],
        prev_hash=b["prev_hash"],
        hash=b["hash"],
        data=registry.decode(b["type"], b["version"], raw),
        raw_data=raw,
        stream_seq=stream_seq,
        subject=subject,
    )


def decode(payload: bytes, *, stream_seq: int = 0, subject: str = "") -> Envelope:
    """Parse a stored envelope; the event is upcast to its current class. Hash is not checked here."""
    try:
        return from_body(orjson.loads(payload), stream_seq=stream_seq, subject=subject)
    except (KeyError, TypeError, ValueError, orjson.JSONDecodeError) as exc:
        raise CorruptEnvelope(f"undecodable envelope at {subject}#{stream_seq}: {exc}") from exc


def decode_raw(payload: bytes) -> dict[str, Any]:
    """The stored body as plain JSON (for audit and export, no upcasting)."""
    return orjson.loads(payload)  # type: ignore[no-any-return]


def verify_chain(bodies: list[dict[str, Any]]) -> list[str]:
    """Check one aggregate's stored bodies in order; return a description of each break."""
    problems: list[str] = []
    prev = GENESIS
    for i, b in enumerate(bodies, start=1):
        unhashed = {k: v for k, v in b.items() if k != "hash"}
        if b.get("sequence") != i:
            problems.append(f"{b.get('aggregate_id')}: sequence {b.get('sequence')} where {i} expected")
        if b.get("prev_hash") != prev:
            problems.append(f"{b.get('aggregate_id')}#{i}: prev_hash does not match the previous event")
        if chain_hash(unhashed) != b.get("hash"):
            problems.append(f"{b.get('aggregate_id')}#{i}: hash does not match the content (altered)")
        prev = b.get("hash", "")
    return problems
