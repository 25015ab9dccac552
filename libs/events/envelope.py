"""The contract's JSON envelope and its tamper-evident hash chain.

``hash`` is SHA-256 over the canonical encoding (sorted keys, no whitespace, UTF-8) of the
envelope without ``hash`` itself; ``prev_hash`` is the hash of the aggregate's previous event
("" for the first), so altering or removing one stored event breaks every later link.

The stored bytes of a sealed envelope are that canonical encoding with ``"hash"`` added as the
last key: one serialisation serves both the hash and the message. Key order carries no meaning
(JSON objects are unordered); verification re-canonicalises the parsed body (``verify_chain``,
``libs.events.audit``).

Writer authentication (docs/audit.md): the events a service appends carry its ``key_id`` (hashed
like every other field), and the last event of each append carries ``sig``, the service's Ed25519
signature of that event's ``hash`` — the aggregate's chain head, which through ``prev_hash``
vouches for every event before it. ``sig`` is the one field outside the hash.
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


UNHASHED = ("hash", "sig")  # the fields a stored body holds beside what was hashed


def chain_hash(body_without_hash: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body_without_hash)).hexdigest()


def hashed_part(body: dict[str, Any]) -> dict[str, Any]:
    """What ``hash`` was computed over: the stored body without ``hash`` and ``sig``."""
    return {k: v for k, v in body.items() if k not in UNHASHED}


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
    key_id: str = ""  # the writer's key (hashed); "" for events written before signing
    sig: str = ""  # the writer's signature of ``hash``, on the last event of an append only
    # The bytes to store, set by ``seal`` only: ``replace`` (which changes content) drops them.
    stored: bytes = field(default=b"", init=False, repr=False, compare=False)

    def body(self) -> dict[str, Any]:
        """The envelope as stored (what was hashed, plus the hash)."""
        body = {**_unhashed(self), "hash": self.hash}
        if self.sig:
            body["sig"] = self.sig
        return body

    def recomputed_hash(self) -> str:
        return chain_hash(_unhashed(self))


def _unhashed(e: Envelope) -> dict[str, Any]:
    out = {
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
    if e.key_id:
        out["key_id"] = e.key_id
    return out


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
    subject: str = "",
    key_id: str = "",
) -> Envelope:
    """Build a new envelope, compute its hash and the bytes to store, serialising once."""
    raw = event.model_dump(mode="json")
    unhashed = {
        "id": id,
        "type": event.type_name,
        "version": event.version,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "sequence": sequence,
        "jurisdiction": jurisdiction,
        "occurred_at": occurred_at.isoformat(),
        "actor": {"subject": actor.subject, "role": actor.role},
        "correlation_id": correlation_id,
        "causation_id": causation_id,
        "prev_hash": prev_hash,
        "data": raw,
    }
    if key_id:
        unhashed["key_id"] = key_id
    hashed = canonical(unhashed)
    h = hashlib.sha256(hashed).hexdigest()
    stored = b"".join((hashed[:-1], b',"hash":"', h.encode(), b'"}'))  # "hashed" ends in "}"
    return _built(
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
        hash=h,
        data=event,
        raw_data=raw,
        stream_seq=0,
        subject=subject,
        key_id=key_id,
        sig="",
        stored=stored,
    )


def signed(env: Envelope, sig: str) -> Envelope:
    """Add the writer's signature to an envelope this process has just sealed (before storing it)."""
    object.__setattr__(env, "sig", sig)
    if env.stored:
        object.__setattr__(env, "stored", b"".join((env.stored[:-1], b',"sig":"', sig.encode(), b'"}')))
    return env


def _built(**values: Any) -> Envelope:
    """An envelope from every field's value, without the frozen ``__init__``'s per-field setattr.

    Eighteen ``object.__setattr__`` calls cost more than the rest of sealing (measured: 7 µs of a
    21 µs seal); one dict of every field is equivalent, which ``test_envelope`` checks.
    """
    env = object.__new__(Envelope)
    env.__dict__.update(values)
    return env


def stored_at(env: Envelope, stream_seq: int) -> Envelope:
    """Record the stream sequence of an envelope this process has just sealed and stored.

    Only for envelopes not yet handed to anyone (the store's own, right after the ack): it saves
    copying eighteen fields per event on the command path.
    """
    object.__setattr__(env, "stream_seq", stream_seq)
    return env


def encode(env: Envelope) -> bytes:
    """The bytes to store: those computed by ``seal``, else the body serialised."""
    return env.stored or orjson.dumps(env.body())


class CorruptEnvelope(ValueError):
    pass


_ACTORS: dict[tuple[str, str], Actor] = {}
_ACTORS_KEPT = 10_000  # distinct actors remembered (a city has ~12,000 deputies and a few thousand staff)


def _actor(subject: str, role: str) -> Actor:
    """One ``Actor`` per (subject, role), shared: it is frozen, and a replay decodes the same few
    thousand again and again (its dataclass ``__init__`` was a tenth of decoding an envelope)."""
    got = _ACTORS.get((subject, role))
    if got is None:
        if len(_ACTORS) >= _ACTORS_KEPT:
            _ACTORS.clear()
        got = _ACTORS[(subject, role)] = Actor(subject=subject, role=role)
    return got


def from_body(b: dict[str, Any], *, stream_seq: int = 0, subject: str = "", decode_data: bool = True) -> Envelope:
    """An envelope from its parsed stored body; the event is upcast to its current class.

    ``decode_data=False``: the envelope only (``data`` is None), for readers of every event whatever
    its type (they need no event class).
    """
    actor = b["actor"]
    raw = b["data"]
    return _built(
        id=b["id"],
        type=b["type"],
        version=b["version"],
        aggregate_type=b["aggregate_type"],
        aggregate_id=b["aggregate_id"],
        sequence=b["sequence"],
        jurisdiction=b["jurisdiction"],
        occurred_at=datetime.fromisoformat(b["occurred_at"]),
        actor=_actor(actor["subject"], actor["role"]),
        correlation_id=b["correlation_id"],
        causation_id=b["causation_id"],
        prev_hash=b["prev_hash"],
        hash=b["hash"],
        data=registry.decode(b["type"], b["version"], raw) if decode_data else None,
        raw_data=raw,
        stream_seq=stream_seq,
        subject=subject,
        key_id=b.get("key_id", ""),
        sig=b.get("sig", ""),
        stored=b"",
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
        unhashed = hashed_part(b)
        if b.get("sequence") != i:
            problems.append(f"{b.get('aggregate_id')}: sequence {b.get('sequence')} where {i} expected")
        if b.get("prev_hash") != prev:
            problems.append(f"{b.get('aggregate_id')}#{i}: prev_hash does not match the previous event")
        if chain_hash(unhashed) != b.get("hash"):
            problems.append(f"{b.get('aggregate_id')}#{i}: hash does not match the content (altered)")
        prev = b.get("hash", "")
    return problems
