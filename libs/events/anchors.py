"""Anchors: chain heads recorded where the event store's fate is not shared — the read-model database.

A projection per context (run by its service, like the locator) reads every event of the
context's stream and keeps, in tables that are never dropped on a rebuild:

- ``<context>_audit_heads``: per aggregate (subject) its last sequence, hash and stream sequence;
- ``<context>_audit_state``: the stream's running hash (SHA-256 over the previous running hash and
  each event's hash, in stream order), the count and the last stream sequence;
- ``<context>_audit_anchors``: at intervals (``every`` events, or ``interval`` seconds with new
  events) a signed row of that state — stream, sequence, count, running hash, key id, signature —
  the way Certificate Transparency signs tree heads.

A NATS store restored from an older backup takes a stream (and any KV bucket) back in time; these
tables do not go with it, so ``renda audit verify`` finds the lost tail, a lost aggregate, an event
removed or changed between two anchors. ``renda audit anchor --export`` writes them for an auditor.

The projection also authenticates what it reads: each aggregate's newest head must carry a valid
signature of a known service key (libs/events/keys.py), checked at once for live traffic and, when
catching up, once per aggregate at each anchor (an aggregate written many times between two anchors
costs one check); an event without a key id, or an
unsigned one not followed by the rest of its command (left unsigned across a batch boundary, or
followed by another command's event) is flagged too.
Flags go to ``/readyz`` (``unauthenticated``), the log and ``renda_events_unauthenticated_total``.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import structlog
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.db.engine import reading
from libs.events.envelope import Envelope
from libs.events.keys import Keyring, Signer
from libs.events.metrics import EVENTS_UNAUTHENTICATED
from libs.events.projection.base import Projection
from libs.events.subjects import stream_name

log = structlog.get_logger("events.anchors")
ANCHOR_EVERY = 100_000  # events between two anchors at most (catching up); live, ANCHOR_INTERVAL rules
ANCHOR_INTERVAL = 60.0  # seconds between two anchors while events come in
ANCHOR_DOMAIN = b"renda-anchor-v1:"
KEPT_FLAGS = 50
MAX_PENDING = 100_000  # signed heads awaiting their check (memory bound between two anchors)
CHECK_AT_ONCE = 32  # a batch leaving at most this many heads to check is checked at once (live traffic)
CHECK_EVERY = 30.0  # seconds: catching up, heads are checked at least this often


def _code(reason: str) -> str:
    """A short label for the metric."""
    for start, code in (
        ("signed with an unknown key", "unknown_key"),
        ("signature does not verify", "bad_signature"),
        ("written without a service key", "no_key"),
        ("not signed, and the next", "incomplete_command"),
    ):
        if reason.startswith(start):
            return code
    return "unsigned"


def running_hash(previous: str, event_hash: str) -> str:
    return hashlib.sha256((previous + event_hash).encode()).hexdigest()


def anchor_text(stream: str, seq: int, count: int, running: str) -> str:
    return f"{stream}|{seq}|{count}|{running}"


@dataclass(frozen=True)
class Tables:
    metadata: MetaData
    heads: Table
    state: Table
    anchors: Table


def tables(context: str, metadata: MetaData | None = None) -> Tables:
    md = metadata if metadata is not None else MetaData()
    heads = Table(
        f"{context}_audit_heads",
        md,
        Column("subject", String(300), primary_key=True),
        Column("aggregate_type", String(60), nullable=False),
        Column("aggregate_id", String(100), nullable=False),
        Column("sequence", BigInteger, nullable=False),
        Column("hash", String(64), nullable=False),
        Column("stream_seq", BigInteger, nullable=False),
    )
    state = Table(
        f"{context}_audit_state",
        md,
        Column("stream", String(100), primary_key=True),
        Column("last_seq", BigInteger, nullable=False),
        Column("count", BigInteger, nullable=False),
        Column("running", String(64), nullable=False),
        Column("anchored_count", BigInteger, nullable=False),
    )
    anchors = Table(
        f"{context}_audit_anchors",
        md,
        Column("stream", String(100), primary_key=True),
        Column("seq", BigInteger, primary_key=True),
        Column("count", BigInteger, nullable=False),
        Column("running", String(64), nullable=False),
        Column("service", String(60), nullable=False),
        Column("key_id", String(32), nullable=False),
        Column("sig", Text, nullable=False),
        Column("recorded_at", DateTime(timezone=True), nullable=False),
    )
    return Tables(md, heads, state, anchors)


def _upsert(dialect: str, table: Table) -> Any:
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    cols = {c.name: ins.excluded[c.name] for c in table.c if not c.primary_key}
    return ins.on_conflict_do_update(
        index_elements=[table.c.subject], set_=cols, where=table.c.sequence < ins.excluded.sequence
    )


class Anchors(Projection):
    """The audit anchors of one context (see the module's docstring); made by ``anchor_projection``."""

    raw: ClassVar[bool] = True
    version: ClassVar[int] = 1
    t: ClassVar[Tables]

    def __init__(self, signer: Signer | None, keyring: Keyring, *, every: int, interval: float) -> None:
        self.signer = signer
        self.keyring = keyring
        self.every = every
        self.interval = interval
        self.stream = stream_name(self.contexts[0])
        self._anchored_at = self._checked_at = time.monotonic()
        # subject -> (sequence, stream seq, causation id) of an unsigned event awaiting its command's rest
        self._unsigned: dict[str, tuple[int, int, str]] = {}
        # subject -> the newest signed head not yet verified: checked at each anchor, so an aggregate
        # written a thousand times between two anchors costs one signature check, not a thousand.
        self._signed: dict[str, tuple[str, str, str, int, int]] = {}
        self.flags: deque[dict[str, Any]] = deque(maxlen=KEPT_FLAGS)
        self.flagged = 0
        self._upserts: dict[str, Any] = {}

    def _flag(self, env_subject: str, sequence: int, stream_seq: int, reason: str) -> None:
        self.flagged += 1
        EVENTS_UNAUTHENTICATED.labels(self.stream, _code(reason)).inc()
        flag = {
            "stream": self.stream,
            "seq": stream_seq,
            "subject": env_subject,
            "sequence": sequence,
            "reason": reason,
        }
        self.flags.append(flag)
        if self.flagged <= KEPT_FLAGS or self.flagged % 1000 == 0:  # loud, but a flood stays readable
            log.error("events.unauthenticated", flagged=self.flagged, **flag)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        t = self.t
        row = (await tx.execute(select(t.state).where(t.state.c.stream == self.stream))).mappings().first()
        last_seq, count, running, anchored = (
            (int(row["last_seq"]), int(row["count"]), str(row["running"]), int(row["anchored_count"]))
            if row is not None
            else (0, 0, "", 0)
        )
        newest: dict[str, Envelope] = {}
        fresh = []
        for env in envs:
            if env.stream_seq <= last_seq:
                continue  # the state row is this projection's own truth: replays add nothing twice
            fresh.append(env)
            running = running_hash(running, env.hash)
            count += 1
            last_seq = env.stream_seq
            newest[env.subject] = env
        if not newest:
            return
        self._authenticate(fresh, newest)
        dialect = await tx.run_sync(lambda c: c.dialect.name)
        upsert = self._upserts.get(dialect)
        if upsert is None:
            upsert = self._upserts[dialect] = _upsert(dialect, t.heads)
        await tx.execute(
            upsert,
            [
                {
                    "subject": e.subject,
                    "aggregate_type": e.aggregate_type,
                    "aggregate_id": e.aggregate_id,
                    "sequence": e.sequence,
                    "hash": e.hash,
                    "stream_seq": e.stream_seq,
                }
                for e in newest.values()
            ],
        )
        now = time.monotonic()
        due = count - anchored >= self.every or now - self._anchored_at >= self.interval
        # Live batches are small: their heads are checked at once. Catching up, a check waits for
        # the anchor (or CHECK_EVERY seconds), so an aggregate written often is checked once.
        if (
            due
            or len(self._signed) <= CHECK_AT_ONCE
            or len(self._signed) >= MAX_PENDING
            or now - self._checked_at >= CHECK_EVERY
        ):
            self._check_signatures()
            self._checked_at = now
        if due and self.signer is not None:
            text = anchor_text(self.stream, last_seq, count, running)
            await tx.execute(
                t.anchors.insert().values(
                    stream=self.stream,
                    seq=last_seq,
                    count=count,
                    running=running,
                    service=self.signer.service,
                    key_id=self.signer.key_id,
                    sig=self.signer.sign(text, domain=ANCHOR_DOMAIN),
                    recorded_at=datetime.now(UTC),
                )
            )
        if due:
            anchored = count
            self._anchored_at = now
        values = {"last_seq": last_seq, "count": count, "running": running, "anchored_count": anchored}
        if row is None:
            await tx.execute(t.state.insert().values(stream=self.stream, **values))
        else:
            await tx.execute(update(t.state).where(t.state.c.stream == self.stream).values(**values))

    def _authenticate(self, envs: list[Envelope], newest: dict[str, Envelope]) -> None:
        """Each event is a service's: signed (the newest per aggregate is checked), or an unsigned part
        of a command whose last event follows; an unsigned head left across a batch is flagged."""
        carried = set(self._unsigned)
        for env in envs:
            subject = env.subject
            open_ = self._unsigned.pop(subject, None)
            if open_ is not None and env.causation_id != open_[2]:
                self._flag(subject, open_[0], open_[1], "not signed, and the next event is not of its command")
            carried.discard(subject)
            if not env.key_id:
                self._flag(subject, env.sequence, env.stream_seq, "written without a service key")
            elif not env.sig:
                self._unsigned[subject] = (env.sequence, env.stream_seq, env.causation_id)
            elif newest.get(subject) is env:
                self._signed[subject] = (env.key_id, env.hash, env.sig, env.sequence, env.stream_seq)
        for subject in carried:  # unsigned heads of an earlier batch that nothing completed
            sequence, stream_seq, _ = self._unsigned.pop(subject)
            self._flag(subject, sequence, stream_seq, "not signed (no service wrote it)")

    def _check_signatures(self) -> None:
        """Verify the newest signed head of each aggregate written since the last check (one Ed25519 each)."""
        for subject, (key_id, hash_hex, sig, sequence, stream_seq) in self._signed.items():
            why = self.keyring.check(key_id, hash_hex, sig)
            if why is not None:
                self._flag(subject, sequence, stream_seq, why)
        self._signed.clear()

    def health(self) -> dict[str, Any]:
        return {"flagged": self.flagged, "last": list(self.flags)[-10:]}


def anchor_projection(
    context: str,
    signer: Signer | None,
    keyring: Keyring,
    *,
    every: int = ANCHOR_EVERY,
    interval: float = ANCHOR_INTERVAL,
) -> Anchors:
    kept = tables(context)

    class ContextAnchors(Anchors):
        name: ClassVar[str] = f"{context}-audit-anchors"
        contexts: ClassVar[tuple[str, ...]] = (context,)
        metadata: ClassVar[MetaData] = MetaData()  # nothing dropped on a rebuild: every table is kept
        t: ClassVar[Tables] = kept

    ContextAnchors.kept = kept.metadata
    return ContextAnchors(signer, keyring, every=every, interval=interval)


# -- reading them back (renda audit verify / anchor --export) ------------------------------------
@dataclass
class AnchorSet:
    """Stream anchors and aggregate heads, from the read-model databases or an exported file."""

    anchors: list[dict[str, Any]]
    heads: list[dict[str, Any]]

    def to_lines(self) -> list[dict[str, Any]]:
        return [{"kind": "anchor", **a} for a in self.anchors] + [{"kind": "head", **h} for h in self.heads]

    @classmethod
    def from_lines(cls, lines: list[dict[str, Any]]) -> AnchorSet:
        anchors = [{k: v for k, v in x.items() if k != "kind"} for x in lines if x.get("kind") == "anchor"]
        heads = [{k: v for k, v in x.items() if k != "kind"} for x in lines if x.get("kind") == "head"]
        return cls(anchors, heads)

    def extend(self, other: AnchorSet) -> None:
        self.anchors.extend(other.anchors)
        self.heads.extend(other.heads)


async def read_anchors(engine: AsyncEngine, context: str) -> AnchorSet:
    """The context's anchors and heads in ``engine`` (empty when its service never ran there)."""
    t = tables(context)
    async with reading(engine) as conn:
        have = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
        if t.anchors.name not in have:
            return AnchorSet([], [])
        anchors = (await conn.execute(select(t.anchors).order_by(t.anchors.c.seq))).mappings().all()
        heads = (await conn.execute(select(t.heads))).mappings().all()
    out = []
    for a in anchors:
        d = {str(k): v for k, v in a.items()}  # plain str keys (column names are a str subclass)
        at = d["recorded_at"]
        d["recorded_at"] = at.isoformat() if isinstance(at, datetime) else str(at)
        out.append(d)
    return AnchorSet(out, [{str(k): v for k, v in h.items()} for h in heads])
