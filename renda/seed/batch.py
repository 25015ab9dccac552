"""Append planned steps in atomic batches: one fsync for up to ~900 events of many aggregates.

``Producer`` (pure, no I/O) decides each step on its aggregate's state and seals the events exactly
as ``EventStore.append`` seals a command: event ids from the command id, the ``prev_hash`` chain,
the writing service's key id on every event and its signature on the command's last one.
``Publisher`` sends a producer's batches to the stream as atomic batches (ADR-50: all or nothing,
up to 1,000 messages, several subjects), ``Nats-Msg-Id`` on every message and each aggregate's
``Nats-Expected-Last-Subject-Sequence`` guard on its first message in the batch, filled in from
the acknowledgements it has had. Several batches are in flight when they touch different
aggregates. A producer may run in another process (``run.py``): it hands over bytes only.

With ``sync_interval: always`` a publish per command costs one fsync each; batching is what
makes ``--scale city`` possible (docs/seed.md).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.aio.client import Client as NATS

from libs.domain.errors import DomainError
from libs.events.aggregate import AggregateType
from libs.events.envelope import GENESIS, encode
from libs.events.errors import EventStoreError
from libs.events.store import event_id, seal_chain
from libs.events.subjects import aggregate_subject, stream_name
from renda.seed.plan import Step
from renda.seed.writer import Key, Tally

MAX_MESSAGES = 900  # below the server's 1,000 per atomic batch; a command never straddles two
IN_FLIGHT = 4


@dataclass
class Head:
    """What the next command on an aggregate needs: its state, last sequence and hash, its subject."""

    state: Any
    subject: str
    version: int = 0
    last_hash: str = GENESIS


@dataclass
class Batch:
    stream: str
    # (subject, stored bytes, event id, guarded): ``guarded`` on an aggregate's first message here
    messages: list[tuple[str, bytes, str, bool]] = field(default_factory=list)
    steps: int = 0  # planned steps decided into this batch (for the progress bar)


class Producer:
    def __init__(self, seed: int, *, signers: dict[str, Any] | None = None) -> None:
        self.seed = seed
        self.signers = signers or {}
        self.tally = Tally()
        self.heads: dict[Key, Head] = {}
        self._count: dict[Key, int] = {}

    def state(self, agg: AggregateType[Any], aggregate_id: str) -> Any:
        head = self.heads.get((agg.name, aggregate_id))
        return head.state if head is not None else agg.initial(aggregate_id)

    def assume(self, agg: AggregateType[Any], aggregate_id: str, state: Any) -> None:
        """A state written elsewhere (another producer) that steps here read but never append to."""
        self.heads[(agg.name, aggregate_id)] = Head(state, "", version=-1)

    def produce(self, steps: list[Step]) -> Iterator[Batch]:
        open_: dict[str, Batch] = {}  # one open batch per stream (an atomic batch is of one stream)
        in_batch: dict[str, set[Key]] = {}
        for step in steps:
            context = step.agg.context
            batch = open_.get(context)
            if batch is None:
                batch = open_[context] = Batch(stream_name(context))
                in_batch[context] = set()
            batch.steps += 1
            self._decide(step, batch, in_batch[context])
            if len(batch.messages) >= MAX_MESSAGES:
                yield open_.pop(context)
        yield from (b for b in open_.values() if b.messages or b.steps)

    def _decide(self, step: Step, batch: Batch, seen: set[Key]) -> None:
        agg = step.agg
        key = (agg.name, step.agg_id)
        n = self._count[key] = self._count.get(key, 0) + 1
        head = self.heads.get(key)
        if head is None:
            head = Head(agg.initial(step.agg_id), aggregate_subject(agg.context, step.where, agg.name, step.agg_id))
        try:
            events = step.decide(head.state, self)
        except DomainError as refused:
            self.tally.refused.append(f"{agg.name} {step.agg_id} @ {step.at.isoformat()}: {refused.code}")
            return
        if not events:
            return
        command_id = step.command_id or event_id(f"seed/{self.seed}/{agg.name}", step.agg_id, n)
        sealed = seal_chain(
            events,
            aggregate_type=agg.name,
            aggregate_id=step.agg_id,
            version=head.version,
            last_hash=head.last_hash,
            where=step.where,
            subject=head.subject,
            at=step.at,
            actor=step.actor,
            correlation_id=command_id,
            command_id=command_id,
            signer=self.signers.get(agg.context),
        )
        state = head.state
        for event in events:
            state = agg.evolve(state, event)
        first = key not in seen
        seen.add(key)
        for k, env in enumerate(sealed):
            batch.messages.append((head.subject, encode(env), env.id, first and k == 0))
        t = self.tally
        if not head.version:
            t.aggregates += 1
        head.state, head.version, head.last_hash = state, sealed[-1].sequence, sealed[-1].hash
        self.heads[key] = head
        t.commands += 1
        t.events += len(sealed)
        t.by_type[agg.name] = t.by_type.get(agg.name, 0) + len(sealed)
        for env in sealed:
            t.digest ^= zlib.crc32(f"{env.id}:{env.hash}".encode())


class Publisher:
    """Sends batches with their guards; up to ``in_flight`` at once when their aggregates differ."""

    def __init__(self, nc: NATS, *, in_flight: int = IN_FLIGHT) -> None:
        self.nc = nc
        self.in_flight = in_flight
        self.last_seq: dict[str, int] = {}  # aggregate subject -> stream sequence of its last event
        self._inbox = ""
        self._replies: dict[str, asyncio.Future[bytes]] = {}
        self._flying: list[tuple[Batch, set[str], asyncio.Future[bytes]]] = []
        self._sub: Any = None
        self._n = 0

    async def __aenter__(self) -> Publisher:
        self._inbox = self.nc.new_inbox()
        self._sub = await self.nc.subscribe(self._inbox + ".*", cb=self._on_reply)
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                await self.drain()
        finally:
            await self._sub.unsubscribe()

    async def _on_reply(self, m: Any) -> None:
        waiting = self._replies.pop(m.subject, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(m.data)

    async def send(self, batch: Batch) -> None:
        if not batch.messages:
            return
        subjects = {m[0] for m in batch.messages}
        while self._flying and (
            len(self._flying) >= self.in_flight or any(not subjects.isdisjoint(s) for _, s, _ in self._flying)
        ):
            await self._finish_one()
        self._n += 1
        reply = f"{self._inbox}.{self._n}"
        waiting: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._replies[reply] = waiting
        bid = batch.messages[0][2]
        last = len(batch.messages)
        for i, (subject, payload, msg_id, guarded) in enumerate(batch.messages, start=1):
            headers = {"Nats-Msg-Id": msg_id, "Nats-Batch-Id": bid, "Nats-Batch-Sequence": str(i)}
            if guarded:
                headers["Nats-Expected-Last-Subject-Sequence"] = str(self.last_seq.get(subject, 0))
            if i == last:
                headers["Nats-Batch-Commit"] = "1"
                await self.nc.publish(subject, payload, reply=reply, headers=headers)
            else:
                await self.nc.publish(subject, payload, headers=headers)
        self._flying.append((batch, subjects, waiting))

    async def drain(self) -> None:
        while self._flying:
            await self._finish_one()

    async def _finish_one(self) -> None:
        batch, _subjects, reply = self._flying.pop(0)
        try:
            data = await asyncio.wait_for(reply, 120)
        except TimeoutError:
            raise EventStoreError(f"seed batch to {batch.stream}: no acknowledgement in 120 s") from None
        ack = orjson.loads(data)
        if ack.get("error"):
            raise EventStoreError(f"seed batch refused by {batch.stream}: {ack['error']}")
        first = int(ack["seq"]) - len(batch.messages) + 1
        last_seq = self.last_seq
        for k, (subject, _payload, _id, _guarded) in enumerate(batch.messages):
            last_seq[subject] = first + k


async def write_batched(nc: NATS, producer: Producer, steps: list[Step], on_step: Any = None) -> Tally:
    """Produce and publish in this process, yielding to the client between batches."""
    async with Publisher(nc) as publisher:
        for batch in producer.produce(steps):
            await publisher.send(batch)
            if on_step is not None:
                on_step(batch.steps)
    return producer.tally
