"""The event store: load one aggregate from its own subject, append a command's events guarded.

Append guarantees:
- optimistic concurrency per aggregate: ``Nats-Expected-Last-Subject-Sequence`` is the stream
  sequence of the aggregate's last event as loaded, so a lost race is refused by the server;
- one command's events are stored whole or not at all: one event is one publish, several are
  one atomic batch (ADR-50), decided in docs/decisions.md;
- retries never store twice: event ids (``Nats-Msg-Id``) derive from the command id, and a
  refusal "wrong last sequence" is told apart from a lost race by reading the aggregate's last
  message back (nats-server 2.15 refuses such a retry instead of de-duplicating it);
- authenticated: with a ``signer``, every event carries the writer's key id and the last event of
  each append its signature of that event's hash (the aggregate's chain head; docs/audit.md).

Loading is in libs/events/loading.py, the caches in libs/events/cache.py, the records handed out
in libs/events/records.py (re-exported here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import structlog
from nats.aio.client import Client as NATS

from libs.domain.errors import DomainError
from libs.events import jetstream as jsapi
from libs.events.aggregate import AggregateType
from libs.events.cache import STATE_CACHE, _stream, _subject
from libs.events.envelope import Actor, Envelope, encode, seal, signed, stored_at
from libs.events.errors import ConcurrencyConflict
from libs.events.event import Event
from libs.events.keys import Signer
from libs.events.loading import AggregateLoads
from libs.events.records import (
    EVENT_NS,
    RECENT,
    Appended,
    CommandMeta,
    Loaded,
    Locate,
    S,
    _recent,
    event_id,
)

__all__ = [
    "EVENT_NS",
    "RECENT",
    "STATE_CACHE",
    "Appended",
    "CommandMeta",
    "EventStore",
    "Loaded",
    "Locate",
    "_recent",
    "event_id",
]
log = structlog.get_logger("events.store")


def seal_chain(
    events: Sequence[Event],
    *,
    aggregate_type: str,
    aggregate_id: str,
    version: int,
    last_hash: str,
    where: str,
    subject: str,
    at: datetime,
    actor: Actor,
    correlation_id: str,
    command_id: str,
    signer: Signer | None,
) -> list[Envelope]:
    """One command's envelopes after ``version``: numbered after it, each chained to the one before
    (the first to ``last_hash``), the chain head signed (it vouches for every event before it)."""
    key_id = signer.key_id if signer is not None else ""
    envelopes: list[Envelope] = []
    prev = last_hash
    for i, event in enumerate(events, start=version + 1):
        env = seal(
            id=event_id(command_id, aggregate_id, i),
            event=event,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            sequence=i,
            jurisdiction=where,
            occurred_at=at,
            actor=actor,
            correlation_id=correlation_id,
            causation_id=command_id,
            prev_hash=prev,
            subject=subject,
            key_id=key_id,
        )
        envelopes.append(env)
        prev = env.hash
    if signer is not None and envelopes:
        signed(envelopes[-1], signer.sign(prev))
    return envelopes


def seal_events(
    loaded: Loaded[S], events: list[Event], meta: CommandMeta, where: str, subject: str, signer: Signer | None
) -> list[Envelope]:
    """``seal_chain`` of a command on the aggregate as loaded: one sealing for a single append, a batch of
    many aggregates (``libs/events/batch.py``) and the seed (``renda/seed/batch.py``)."""
    return seal_chain(
        events,
        aggregate_type=loaded.type.name,
        aggregate_id=loaded.id,
        version=loaded.version,
        last_hash=loaded.last_hash,
        where=where,
        subject=subject,
        at=meta.now,
        actor=meta.actor,
        correlation_id=meta.correlation_id,
        command_id=meta.command_id,
        signer=signer,
    )


class EventStore(AggregateLoads):
    def __init__(
        self,
        nc: NATS,
        *,
        locate: Locate | None = None,
        cache_size: int = 100_000,
        snapshots: bool = True,
        signer: Signer | None = None,
    ) -> None:
        """``snapshots=False``: never read nor write snapshots; ``signer``: the writing service's key."""
        super().__init__(nc, locate=locate, cache_size=cache_size, snapshots=snapshots)
        self.signer = signer

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
        when the possibly stale state made ``decide`` refuse with a ``DomainError`` or decide nothing) the command is
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
            except DomainError:
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
        envelopes = seal_events(loaded, events, meta, where, subject, self.signer)
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
