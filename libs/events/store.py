"""The event store: load one aggregate from its own subject, append a command's events guarded.

Append guarantees:
- optimistic concurrency per aggregate: ``Nats-Expected-Last-Subject-Sequence`` is the stream
  sequence of the aggregate's last event as loaded, so a lost race is refused by the server;
- one command's events are stored whole or not at all: one event is one publish, several are
  one atomic batch (ADR-50), decided in docs/decisions.md;
- retries never store twice: event ids (``Nats-Msg-Id``) derive from the command id, and a
  refusal "wrong last sequence" is told apart from a lost race by reading the aggregate's last
  message back (nats-server 2.15 refuses such a retry instead of de-duplicating it).

Loads: a state this process holds is brought up to date by reading only newer events; otherwise
the aggregate's snapshot (libs/events/snapshots.py) and its last event are asked for together,
and only the events past the snapshot are read and folded. A snapshot is written, in the
background, once ``snapshot_every`` events have been folded past the last one.
"""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, TypeVar

import structlog
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events import snapshots as snap
from libs.events.aggregate import AggregateType
from libs.events.envelope import GENESIS, Actor, Envelope, decode, encode, seal, stored_at
from libs.events.errors import ConcurrencyConflict, CorruptStream, EventStoreError
from libs.events.event import Event
from libs.events.subjects import (
    SNAPSHOT_STREAM,
    aggregate_subject,
    any_jurisdiction_subject,
    snapshot_subject,
    stream_name,
)

S = TypeVar("S")
log = structlog.get_logger("events.store")
STATE_CACHE = 1_000  # aggregates whose state is kept between commands (bounded: causations grow)
EVENT_NS = uuid.UUID("5b0f7d8e-2c1a-4b7e-9a59-6c0d8e1f2a30")
_EVENT_NS_BYTES = EVENT_NS.bytes
RECENT = snap.RECENT_CAUSATIONS

# Pure and called on every command: kept (the subject's validation is a regex per token).
_subject = lru_cache(maxsize=16_384)(aggregate_subject)
_stream = lru_cache(maxsize=64)(stream_name)
_snapshot_subject = lru_cache(maxsize=4_096)(snapshot_subject)
_SNAPSHOT_BODY_ONLY = frozenset({SNAPSHOT_STREAM})  # the body says all; its headers cost a parse

Locate = Callable[[str, str, str], Awaitable[str | None]]  # (context, aggregate_type, id) -> jurisdiction


@dataclass(frozen=True)
class CommandMeta:
    actor: Actor
    correlation_id: str
    command_id: str  # becomes the events' causation id
    now: datetime


@dataclass(frozen=True)
class Loaded(Generic[S]):
    type: AggregateType[S]
    id: str
    state: S
    version: int  # aggregate sequence of its last event; 0 when it has none
    last_stream_seq: int  # the guard for the next append
    last_hash: str
    jurisdiction: str | None
    causations: frozenset[str]  # command ids already applied to this aggregate (see ``recent``)
    # The last RECENT command ids, oldest first: what a snapshot keeps of ``causations``, so a
    # state loaded from a snapshot knows these plus those of the events read after it.
    recent: tuple[str, ...] = ()
    # The version of the aggregate's last snapshot this process knows; bookkeeping, not state.
    snapshot_version: int = field(default=0, compare=False)

    @property
    def exists(self) -> bool:
        return self.version > 0

    def applied(self, command_id: str) -> bool:
        return command_id in self.causations


@dataclass(frozen=True)
class Appended(Generic[S]):
    loaded: Loaded[S]
    envelopes: tuple[Envelope, ...]
    stream: str
    stream_seq: int  # stream position of the last event: the read-your-writes token


def event_id(command_id: str, aggregate_id: str, sequence: int) -> str:
    """``str(uuid.uuid5(EVENT_NS, f"{command_id}/{aggregate_id}/{sequence}"))``, a fifth of its cost."""
    h = bytearray(hashlib.sha1(_EVENT_NS_BYTES + f"{command_id}/{aggregate_id}/{sequence}".encode()).digest())
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h[:16].hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _recent(before: tuple[str, ...], ids: Iterable[str]) -> tuple[str, ...]:
    """The last RECENT distinct command ids of ``before`` then ``ids``, oldest first."""
    seen: dict[str, None] = {}
    for c in itertools.chain(reversed(list(ids)), reversed(before)):
        if c not in seen:
            seen[c] = None
            if len(seen) == RECENT:
                break
    return tuple(reversed(seen))


class EventStore:
    def __init__(
        self, nc: NATS, *, locate: Locate | None = None, cache_size: int = 100_000, snapshots: bool = True
    ) -> None:
        """``snapshots=False``: never read nor write snapshots (every cold load reads every event)."""
        self.nc = nc
        self._locate = locate
        self._where: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._cache_size = cache_size
        # Aggregates this process loaded or wrote last, by subject: a load then reads only the
        # events stored after them (the stream is append-only: deny_delete, deny_purge).
        self._states: OrderedDict[str, Loaded[Any]] = OrderedDict()
        self._states_size = min(cache_size, STATE_CACHE)
        self.snapshots = snap.Snapshots(nc) if snapshots else None

    # -- where an aggregate lives -------------------------------------------------------------
    def _remember(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str) -> None:
        key = (agg.name, aggregate_id)
        self._where[key] = jurisdiction
        self._where.move_to_end(key)
        if len(self._where) > self._cache_size:
            self._where.popitem(last=False)

    async def _jurisdiction_of(self, agg: AggregateType[S], aggregate_id: str) -> str | None:
        found = self._where.get((agg.name, aggregate_id))
        if found is None and self._locate is not None:
            found = await self._locate(agg.context, agg.name, aggregate_id)
        if found is None:
            # Slow path (the locator lags behind): find the aggregate's first message by wildcard.
            first = await jsapi.direct_get_first(
                self.nc, stream_name(agg.context), any_jurisdiction_subject(agg.context, agg.name, aggregate_id)
            )
            if first is not None:
                found = decode(first.data).jurisdiction
        if found is not None:
            self._remember(agg, aggregate_id, found)
        return found

    # -- reading ------------------------------------------------------------------------------
    async def read(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None = None) -> list[Envelope]:
        jurisdiction = jurisdiction or await self._jurisdiction_of(agg, aggregate_id)
        if jurisdiction is None:
            return []
        return await self._events(_stream(agg.context), _subject(agg.context, jurisdiction, agg.name, aggregate_id))

    async def _events(self, stream: str, subject: str, start_seq: int = 1) -> list[Envelope]:
        return [
            decode(m.data, stream_seq=m.seq, subject=m.subject)
            async for m in jsapi.direct_get_subject(self.nc, stream, subject, start_seq=start_seq)
        ]

    async def load(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None = None) -> Loaded[S]:
        """The aggregate's current state, reading only its own subject.

        Pass ``jurisdiction`` when the caller knows where the aggregate lives (a fresh id, or an id
        that names its place, like a division code); otherwise it is looked up.
        """
        known = jurisdiction or await self._jurisdiction_of(agg, aggregate_id)
        if not known:
            return self._fold(agg, aggregate_id, None, [], None)
        subject = _subject(agg.context, known, agg.name, aggregate_id)
        stream = _stream(agg.context)
        cached = self._states.get(subject)
        if cached is not None and cached.type is agg:
            after = cached.last_stream_seq + 1
            if await jsapi.direct_get_next(self.nc, stream, subject, after) is None:
                return cached  # nothing stored since: one plain request, the usual case of a busy aggregate
            loaded = self._fold(agg, aggregate_id, known, await self._events(stream, subject, after), cached)
        else:
            loaded = await self._load_cold(agg, aggregate_id, known, stream, subject)
        loaded = self._snapshot_if_due(loaded)
        self._keep(subject, loaded)
        return loaded

    async def _load_cold(
        self, agg: AggregateType[S], aggregate_id: str, known: str, stream: str, subject: str
    ) -> Loaded[S]:
        """Snapshot and last event in one round trip; then only the events past the snapshot, if any.

        The snapshot is used only where the events confirm it: its last event is the aggregate's
        last (same stream sequence, sequence and hash), or the events after it link onto it
        (next sequence, ``prev_hash`` = its ``last_hash``). Otherwise every event is read.
        """
        snapshots = self.snapshots
        codec = snapshots.codec(agg) if snapshots is not None and not snapshots.reads_paused else None
        if snapshots is None or codec is None:
            return self._fold(agg, aggregate_id, known, await self._events(stream, subject), None)
        got_snapshot, got_last = await jsapi.direct_get_last_each(
            self.nc,
            [(SNAPSHOT_STREAM, _snapshot_subject(agg.context, agg.name, aggregate_id)), (stream, subject)],
            bodies_only=_SNAPSHOT_BODY_ONLY,
        )
        if isinstance(got_last, EventStoreError):
            raise got_last
        if got_last is None:
            return self._fold(agg, aggregate_id, known, [], None)  # no event: a new aggregate
        last = decode(got_last.data, stream_seq=got_last.seq, subject=got_last.subject)
        base = self._from_snapshot(agg, codec, aggregate_id, known, got_snapshot)
        if base is None:
            if last.sequence == 1:
                return self._fold(agg, aggregate_id, known, [last], None)
        elif last.stream_seq == base.last_stream_seq:
            if last.sequence == base.version and last.hash == base.last_hash:
                return base  # the snapshot is of the last event
        elif last.stream_seq > base.last_stream_seq:
            if last.sequence == base.version + 1 and last.prev_hash == base.last_hash:
                return self._fold(agg, aggregate_id, known, [last], base)  # one event past it
            if last.sequence > base.version + 1:
                tail = await self._events(stream, subject, base.last_stream_seq + 1)
                if tail and tail[0].sequence == base.version + 1 and tail[0].prev_hash == base.last_hash:
                    return self._fold(agg, aggregate_id, known, tail, base)
        if base is not None:
            snapshots.once(
                "events.snapshot.mismatch",
                agg.name,
                aggregate_type=agg.name,
                aggregate_id=aggregate_id,
                snapshot_version=base.version,
                last_sequence=last.sequence,
                note="read every event instead",
            )
        return self._fold(agg, aggregate_id, known, await self._events(stream, subject), None)

    def _from_snapshot(
        self,
        agg: AggregateType[S],
        codec: snap.Codec,
        aggregate_id: str,
        known: str,
        got: jsapi.StoredMsg | EventStoreError | None,
    ) -> Loaded[S] | None:
        if got is None:
            return None
        assert self.snapshots is not None
        if isinstance(got, EventStoreError):
            self.snapshots.read_failed(got, agg)
            return None
        try:
            s = snap.decode(agg, codec, aggregate_id, got.data)
            if s.jurisdiction != known:
                raise snap.Unusable(f"jurisdiction {s.jurisdiction} where {known} expected")
        except snap.Unusable as exc:
            self.snapshots.once(
                "events.snapshot.unusable",
                agg.name,
                aggregate_type=agg.name,
                aggregate_id=aggregate_id,
                reason=str(exc),
                note="read every event instead",
            )
            return None
        return Loaded(
            type=agg,
            id=aggregate_id,
            state=s.state,
            version=s.version,
            last_stream_seq=s.last_stream_seq,
            last_hash=s.last_hash,
            jurisdiction=known,
            causations=frozenset(s.causations),
            recent=s.causations,
            snapshot_version=s.version,
        )

    def _snapshot_if_due(self, loaded: Loaded[S]) -> Loaded[S]:
        """Write a snapshot (in the background) once ``snapshot_every`` events are past the last one."""
        agg = loaded.type
        if (
            self.snapshots is None
            or agg.snapshot_every <= 0
            or loaded.version - loaded.snapshot_version < agg.snapshot_every
            or loaded.jurisdiction is None
        ):
            return loaded
        codec = self.snapshots.codec(agg)
        if codec is None:
            return loaded
        self.snapshots.write(
            agg,
            codec,
            _snapshot_subject(agg.context, agg.name, loaded.id),
            loaded.id,
            snap.Snapshot(
                version=loaded.version,
                last_stream_seq=loaded.last_stream_seq,
                last_hash=loaded.last_hash,
                jurisdiction=loaded.jurisdiction,
                causations=loaded.recent,
                state=loaded.state,
            ),
        )
        return replace(loaded, snapshot_version=loaded.version)

    def held(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None = None) -> Loaded[S] | None:
        """The state this process holds of the aggregate, maybe behind the stream; None if none.

        Only for deciding optimistically: an append on it is refused by the expected-sequence
        guard if the aggregate moved on, and any refusal must be decided again on ``load``.
        """
        return self._cached(agg, aggregate_id, jurisdiction)

    def _cached(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None) -> Loaded[S] | None:
        where = jurisdiction or self._where.get((agg.name, aggregate_id))
        if where is None or self._states_size <= 0:
            return None
        held = self._states.get(_subject(agg.context, where, agg.name, aggregate_id))
        return held if held is not None and held.type is agg else None  # type: ignore[return-value]

    def _fold(
        self,
        agg: AggregateType[S],
        aggregate_id: str,
        known: str | None,
        envelopes: list[Envelope],
        cached: Loaded[S] | None,
    ) -> Loaded[S]:
        if cached is not None and not envelopes:
            return cached
        state = cached.state if cached is not None else agg.initial(aggregate_id)
        expected = cached.version if cached is not None else 0
        for env in envelopes:
            expected += 1
            if env.sequence != expected:
                # A gap or a reordering means a stored event was lost or altered: never decide on it.
                raise CorruptStream(f"{agg.name} {aggregate_id}: event #{env.sequence} where #{expected} expected")
            state = agg.evolve(state, env.data)
        last = envelopes[-1] if envelopes else None
        ids = [e.causation_id for e in envelopes]
        causations = frozenset(ids)
        return Loaded(
            type=agg,
            id=aggregate_id,
            state=state,
            version=last.sequence if last else 0,
            last_stream_seq=last.stream_seq if last else 0,
            last_hash=last.hash if last else GENESIS,
            jurisdiction=known,
            causations=cached.causations | causations if cached is not None else causations,
            recent=_recent(cached.recent if cached is not None else (), ids),
            snapshot_version=cached.snapshot_version if cached is not None else 0,
        )

    def _keep(self, subject: str, loaded: Loaded[Any]) -> None:
        if self._states_size <= 0 or not loaded.exists:
            return
        held = self._states.get(subject)
        if held is not None and held.last_stream_seq > loaded.last_stream_seq:
            return  # a concurrent command of this process got further
        self._states[subject] = loaded
        self._states.move_to_end(subject)
        if len(self._states) > self._states_size:
            self._states.popitem(last=False)

    # -- the command path -------------------------------------------------------------------
    async def execute(
        self,
        agg: AggregateType[S],
        aggregate_id: str,
        decide: Callable[[Loaded[S]], list[Event]],
        meta: CommandMeta,
        *,
        jurisdiction: str | None = None,
        new: bool = False,
    ) -> Appended[S]:
        """Load → decide → append. A command already applied (a retry) decides nothing again.

        A state this process holds is used as it is, without asking the server for newer events:
        the append's expected-sequence guard refuses it if the aggregate moved on, and then (or
        when the possibly stale state made ``decide`` refuse or decide nothing) the command is
        decided again on a fresh load. ``decide`` is pure, so deciding twice is harmless; this
        saves a round trip on the common path of an aggregate this process wrote last.

        ``new``: the caller has just made this id (and names its ``jurisdiction``), so the empty
        state is tried first in the same way: an aggregate that exists after all refuses the
        guard (expected sequence 0), and the command is decided again on its loaded state.
        """
        cached = self._cached(agg, aggregate_id, jurisdiction)
        if cached is None and new and jurisdiction is not None:
            cached = self._fold(agg, aggregate_id, jurisdiction, [], None)
        if cached is not None and not cached.applied(meta.command_id):
            try:
                events = decide(cached)
            except Exception:
                events = []  # maybe only because the state is stale: decide again below
            if events:
                try:
                    return await self.append(cached, events, meta, jurisdiction=jurisdiction)
                except ConcurrencyConflict:
                    pass
        loaded = await self.load(agg, aggregate_id, jurisdiction)
        if loaded.applied(meta.command_id):
            return Appended(loaded, (), _stream(agg.context), loaded.last_stream_seq)
        return await self.append(loaded, decide(loaded), meta, jurisdiction=jurisdiction)

    # -- writing ------------------------------------------------------------------------------
    async def append(
        self, loaded: Loaded[S], events: list[Event], meta: CommandMeta, *, jurisdiction: str | None = None
    ) -> Appended[S]:
        """Append one command's ``events`` to the aggregate as loaded; all or nothing."""
        agg = loaded.type
        where = loaded.jurisdiction or jurisdiction
        if where is None:
            raise ValueError(f"{agg.name} {loaded.id}: jurisdiction unknown for a new aggregate")
        stream = _stream(agg.context)
        if not events:
            return Appended(loaded, (), stream, loaded.last_stream_seq)
        subject = _subject(agg.context, where, agg.name, loaded.id)
        command_id = meta.command_id
        envelopes: list[Envelope] = []
        prev = loaded.last_hash
        for i, event in enumerate(events, start=loaded.version + 1):
            env = seal(
                id=event_id(command_id, loaded.id, i),
                event=event,
                aggregate_type=agg.name,
                aggregate_id=loaded.id,
                sequence=i,
                jurisdiction=where,
                occurred_at=meta.now,
                actor=meta.actor,
                correlation_id=meta.correlation_id,
                causation_id=command_id,
                prev_hash=prev,
                subject=subject,
            )
            envelopes.append(env)
            prev = env.hash
        guard = str(loaded.last_stream_seq)
        try:
            if len(envelopes) == 1:
                headers = {"Nats-Msg-Id": envelopes[0].id, "Nats-Expected-Last-Subject-Sequence": guard}
                ack = await jsapi.publish(self.nc, subject, encode(envelopes[0]), headers)
            else:
                messages = [(encode(env), {"Nats-Msg-Id": env.id}) for env in envelopes]
                messages[0][1]["Nats-Expected-Last-Subject-Sequence"] = guard
                ack = await jsapi.publish_atomic(self.nc, subject, messages, batch_id=envelopes[0].id)
        except jsapi.PublishRefused as refused:
            if refused.err_code not in (jsapi.WRONG_LAST_SEQUENCE, jsapi.BATCH_DUPLICATE_MSG_ID):
                raise
            ack = await self._stored_already(stream, subject, envelopes[-1].id)
        self._remember(agg, loaded.id, where)
        state = loaded.state
        for event in events:
            state = agg.evolve(state, event)
        recent = loaded.recent
        if not recent or recent[-1] != command_id:
            recent = (*recent, command_id)[-RECENT:]
        last = envelopes[-1]
        new = Loaded(
            type=agg,
            id=loaded.id,
            state=state,
            version=last.sequence,
            last_stream_seq=ack.seq,
            last_hash=last.hash,
            jurisdiction=where,
            causations=loaded.causations | {command_id},
            recent=recent,
            snapshot_version=loaded.snapshot_version,
        )
        if ack.duplicate:
            self._states.pop(subject, None)  # not ours to vouch for: the next load reads it all
        else:
            new = self._snapshot_if_due(new)
            self._keep(subject, new)
        first = ack.seq - len(envelopes) + 1
        for k, env in enumerate(envelopes):
            stored_at(env, first + k)
        return Appended(new, tuple(envelopes), stream, ack.seq)

    async def _stored_already(self, stream: str, subject: str, last_event_id: str) -> jsapi.PubAck:
        """A refused guard is either our own earlier attempt (lost ack) or a lost race."""
        last = await jsapi.direct_get_last(self.nc, stream, subject)
        if last is not None and last.headers.get("Nats-Msg-Id") == last_event_id:
            log.info("events.append.retry_already_stored", subject=subject, seq=last.seq)
            return jsapi.PubAck(seq=last.seq, duplicate=True)
        raise ConcurrencyConflict(subject)
