"""The event store: load one aggregate from its own subject, append a command's events guarded.

Append guarantees:
- optimistic concurrency per aggregate: ``Nats-Expected-Last-Subject-Sequence`` is the stream
  sequence of the aggregate's last event as loaded, so a lost race is refused by the server;
- one command's events are stored whole or not at all: one event is one publish, several are
  one atomic batch (ADR-50), decided in docs/decisions.md;
- retries never store twice: event ids (``Nats-Msg-Id``) derive from the command id, and a
  refusal "wrong last sequence" is told apart from a lost race by reading the aggregate's last
  message back (nats-server 2.15 refuses such a retry instead of de-duplicating it).
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Generic, TypeVar

import structlog
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.aggregate import AggregateType
from libs.events.envelope import GENESIS, Actor, Envelope, decode, encode, seal
from libs.events.errors import ConcurrencyConflict, CorruptStream
from libs.events.event import Event
from libs.events.subjects import aggregate_subject, any_jurisdiction_subject, stream_name

S = TypeVar("S")
log = structlog.get_logger("events.store")
STATE_CACHE = 1_000  # aggregates whose state is kept between commands (bounded: causations grow)
EVENT_NS = uuid.UUID("5b0f7d8e-2c1a-4b7e-9a59-6c0d8e1f2a30")

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
    causations: frozenset[str]  # command ids already applied to this aggregate

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
    return str(uuid.uuid5(EVENT_NS, f"{command_id}/{aggregate_id}/{sequence}"))


class EventStore:
    def __init__(self, nc: NATS, *, locate: Locate | None = None, cache_size: int = 100_000) -> None:
        self.nc = nc
        self._locate = locate
        self._where: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._cache_size = cache_size
        # Aggregates this process loaded or wrote last, by subject: a load then reads only the
        # events stored after them (the stream is append-only: deny_delete, deny_purge).
        self._states: OrderedDict[str, Loaded[Any]] = OrderedDict()
        self._states_size = min(cache_size, STATE_CACHE)

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
        subject = aggregate_subject(agg.context, jurisdiction, agg.name, aggregate_id)
        return [
            decode(m.data, stream_seq=m.seq, subject=m.subject)
            async for m in jsapi.direct_get_subject(self.nc, stream_name(agg.context), subject)
        ]

    async def load(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None = None) -> Loaded[S]:
        """The aggregate's current state, reading only its own subject.

        Pass ``jurisdiction`` when the caller knows where the aggregate lives (a fresh id, or an id
        that names its place, like a division code); otherwise it is looked up.
        """
        known = jurisdiction or await self._jurisdiction_of(agg, aggregate_id)
        if not known:
            return self._fold(agg, aggregate_id, None, [], None)
        subject = aggregate_subject(agg.context, known, agg.name, aggregate_id)
        cached = self._states.get(subject)
        if cached is not None and cached.type is not agg:
            cached = None
        after = cached.last_stream_seq + 1 if cached is not None else 1
        stream = stream_name(agg.context)
        if cached is not None and await jsapi.direct_get_next(self.nc, stream, subject, after) is None:
            return cached  # nothing stored since: one plain request, the usual case of a busy aggregate
        envelopes = [
            decode(m.data, stream_seq=m.seq, subject=m.subject)
            async for m in jsapi.direct_get_subject(self.nc, stream, subject, start_seq=after)
        ]
        loaded = self._fold(agg, aggregate_id, known, envelopes, cached)
        self._keep(subject, loaded)
        return loaded

    def _cached(self, agg: AggregateType[S], aggregate_id: str, jurisdiction: str | None) -> Loaded[S] | None:
        where = jurisdiction or self._where.get((agg.name, aggregate_id))
        if where is None or self._states_size <= 0:
            return None
        held = self._states.get(aggregate_subject(agg.context, where, agg.name, aggregate_id))
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
        causations = frozenset(e.causation_id for e in envelopes)
        return Loaded(
            type=agg,
            id=aggregate_id,
            state=state,
            version=last.sequence if last else 0,
            last_stream_seq=last.stream_seq if last else 0,
            last_hash=last.hash if last else GENESIS,
            jurisdiction=known,
            causations=cached.causations | causations if cached is not None else causations,
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
    ) -> Appended[S]:
        """Load → decide → append. A command already applied (a retry) decides nothing again.

        A state this process holds is used as it is, without asking the server for newer events:
        the append's expected-sequence guard refuses it if the aggregate moved on, and then (or
        when the possibly stale state made ``decide`` refuse or decide nothing) the command is
        decided again on a fresh load. ``decide`` is pure, so deciding twice is harmless; this
        saves a round trip on the common path of an aggregate this process wrote last.
        """
        cached = self._cached(agg, aggregate_id, jurisdiction)
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
            return Appended(loaded, (), stream_name(agg.context), loaded.last_stream_seq)
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
        stream = stream_name(agg.context)
        if not events:
            return Appended(loaded, (), stream, loaded.last_stream_seq)
        subject = aggregate_subject(agg.context, where, agg.name, loaded.id)
        envelopes: list[Envelope] = []
        prev = loaded.last_hash
        for i, event in enumerate(events, start=loaded.version + 1):
            env = seal(
                id=event_id(meta.command_id, loaded.id, i),
                event=event,
                aggregate_type=agg.name,
                aggregate_id=loaded.id,
                sequence=i,
                jurisdiction=where,
                occurred_at=meta.now,
                actor=meta.actor,
                correlation_id=meta.correlation_id,
                causation_id=meta.command_id,
                prev_hash=prev,
            )
            envelopes.append(env)
            prev = env.hash
        guard = {"Nats-Expected-Last-Subject-Sequence": str(loaded.last_stream_seq)}
        messages = [(encode(env), {"Nats-Msg-Id": env.id}) for env in envelopes]
        messages[0] = (messages[0][0], {**messages[0][1], **guard})
        try:
            if len(messages) == 1:
                ack = await jsapi.publish(self.nc, subject, messages[0][0], messages[0][1])
            else:
                ack = await jsapi.publish_atomic(self.nc, subject, messages, batch_id=envelopes[0].id)
        except jsapi.PublishRefused as refused:
            if refused.err_code not in (jsapi.WRONG_LAST_SEQUENCE, jsapi.BATCH_DUPLICATE_MSG_ID):
                raise
            ack = await self._stored_already(stream, subject, envelopes[-1].id)
        self._remember(agg, loaded.id, where)
        state = loaded.state
        for event in events:
            state = agg.evolve(state, event)
        new = replace(
            loaded,
            state=state,
            version=envelopes[-1].sequence,
            last_stream_seq=ack.seq,
            last_hash=envelopes[-1].hash,
            jurisdiction=where,
            causations=loaded.causations | {meta.command_id},
        )
        if ack.duplicate:
            self._states.pop(subject, None)  # not ours to vouch for: the next load reads it all
        else:
            self._keep(subject, new)
        stored = tuple(
            replace(env, stream_seq=ack.seq - len(envelopes) + 1 + k, subject=subject)
            for k, env in enumerate(envelopes)
        )
        return Appended(new, stored, stream, ack.seq)

    async def _stored_already(self, stream: str, subject: str, last_event_id: str) -> jsapi.PubAck:
        """A refused guard is either our own earlier attempt (lost ack) or a lost race."""
        last = await jsapi.direct_get_last(self.nc, stream, subject)
        if last is not None and last.headers.get("Nats-Msg-Id") == last_event_id:
            log.info("events.append.retry_already_stored", subject=subject, seq=last.seq)
            return jsapi.PubAck(seq=last.seq, duplicate=True)
        raise ConcurrencyConflict(subject)
