"""Append planned steps in atomic batches: one fsync for up to ~900 events of many aggregates.

Each step is decided on its aggregate's state and sealed exactly as ``EventStore.append`` seals a
command (event ids from the command id, ``prev_hash`` chain, the writing service's signature on
the command's last event); the messages of many commands then go to the stream as one atomic
batch (ADR-50: all or nothing, up to 1,000 messages, several subjects), with each aggregate's
``Nats-Expected-Last-Subject-Sequence`` guard on its first message and ``Nats-Msg-Id`` on every
one. A batch is decided and sealed while the one before it is in flight; its guards are filled
in once that one is acknowledged. With ``sync_interval: always`` a publish per command costs one
fsync each: batching is what makes ``--scale city`` possible (docs/seed.md).
"""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from nats.aio.client import Client as NATS

from libs.domain.errors import DomainError
from libs.events import envelope as envelopes
from libs.events.aggregate import AggregateType
from libs.events.envelope import GENESIS, encode, seal
from libs.events.errors import EventStoreError
from libs.events.store import event_id
from libs.events.subjects import aggregate_subject, stream_name
from renda.seed.plan import Step
from renda.seed.writer import Key, Tally

MAX_MESSAGES = 900  # below the server's 1,000 per atomic batch; a command never straddles two


@dataclass
class Head:
    """What the next append to an aggregate needs: its state, last sequence, hash and stream position."""

    agg: AggregateType[Any]
    state: Any
    version: int = 0
    last_hash: str = GENESIS
    last_stream_seq: int = 0  # 0: none stored yet
    subject: str = ""


@dataclass
class Batch:
    messages: list[tuple[str, bytes, Key, str]] = field(default_factory=list)  # (subject, bytes, key, event id)
    stream: str = ""


class BatchWriter:
    def __init__(self, nc: NATS, seed: int, *, signers: dict[str, Any] | None = None, on_step: Any = None) -> None:
        self.nc = nc
        self.seed = seed
        self.signers = signers or {}
        self.on_step = on_step
        self.tally = Tally()
        self.heads: dict[Key, Head] = {}
        self._count: dict[Key, int] = {}
        self._inbox = ""
        self._replies: dict[str, asyncio.Future[bytes]] = {}

    async def _on_reply(self, m: Any) -> None:
        waiting = self._replies.pop(m.subject, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(m.data)

    def state(self, agg: AggregateType[Any], aggregate_id: str) -> Any:
        head = self.heads.get((agg.name, aggregate_id))
        return head.state if head is not None else agg.initial(aggregate_id)

    async def run(self, steps: list[Step]) -> Tally:
        self._inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(self._inbox + ".*", cb=self._on_reply)
        try:
            return await self._run(steps)
        finally:
            await sub.unsubscribe()

    async def _run(self, steps: list[Step]) -> Tally:
        batches: dict[str, Batch] = {}  # one open batch per stream (a batch is of one stream)
        in_flight: Any = None
        done_steps = 0
        for n, step in enumerate(steps):
            if n % 64 == 0:
                await asyncio.sleep(0)  # let the client flush the batch in flight and read its ack
            context = step.agg.context
            batch = batches.get(context)
            if batch is None:
                batch = batches[context] = Batch(stream=stream_name(context))
            self._decide(step, batch)
            done_steps += 1
            if len(batch.messages) >= MAX_MESSAGES:
                if in_flight is not None:
                    await self._finish(*in_flight)
                in_flight = (batch, await self._send(batch))
                del batches[context]
                if self.on_step is not None:
                    self.on_step(done_steps)
                    done_steps = 0
        for batch in batches.values():
            if in_flight is not None:
                await self._finish(*in_flight)
            in_flight = (batch, await self._send(batch))
        if in_flight is not None:
            await self._finish(*in_flight)
        if self.on_step is not None and done_steps:
            self.on_step(done_steps)
        return self.tally

    def _decide(self, step: Step, batch: Batch) -> None:
        agg = step.agg
        key = (agg.name, step.agg_id)
        n = self._count[key] = self._count.get(key, 0) + 1
        head = self.heads.get(key)
        if head is None:
            head = Head(
                agg, agg.initial(step.agg_id), subject=aggregate_subject(agg.context, step.where, agg.name, step.agg_id)
            )
        try:
            events = step.decide(head.state, self)
        except DomainError as refused:
            self.tally.refused.append(f"{agg.name} {step.agg_id} @ {step.at.isoformat()}: {refused.code}")
            return
        if not events:
            return
        command_id = step.command_id or event_id(f"seed/{self.seed}/{step.agg.name}", step.agg_id, n)
        signer = self.signers.get(agg.context)
        extra = {"key_id": signer.key_id} if signer is not None else {}
        prev = head.last_hash
        sealed = []
        state = head.state
        for i, event in enumerate(events, start=head.version + 1):
            env = seal(
                id=event_id(command_id, step.agg_id, i),
                event=event,
                aggregate_type=agg.name,
                aggregate_id=step.agg_id,
                sequence=i,
                jurisdiction=step.where,
                occurred_at=step.at,
                actor=step.actor,
                correlation_id=command_id,
                causation_id=command_id,
                prev_hash=prev,
                subject=head.subject,
                **extra,
            )
            sealed.append(env)
            prev = env.hash
            state = agg.evolve(state, event)
        if signer is not None:
            envelopes.signed(sealed[-1], signer.sign(prev))  # type: ignore[attr-defined]
        for env in sealed:
            batch.messages.append((head.subject, encode(env), key, env.id))
        if not head.version:
            self.tally.aggregates += 1
        head.state, head.version, head.last_hash = state, sealed[-1].sequence, prev
        self.heads[key] = head
        t = self.tally
        t.commands += 1
        t.events += len(sealed)
        t.by_type[agg.name] = t.by_type.get(agg.name, 0) + len(sealed)
        for env in sealed:
            t.digest ^= zlib.crc32(f"{env.id}:{env.hash}".encode())

    async def _send(self, batch: Batch) -> asyncio.Future[bytes]:
        """Publish the batch (guards from the heads as acknowledged so far); answer the commit's reply future."""
        bid = batch.messages[0][3]
        reply = f"{self._inbox}.{bid}"
        waiting: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._replies[reply] = waiting
        last = len(batch.messages)
        seen: set[Key] = set()
        for i, (subject, payload, key, msg_id) in enumerate(batch.messages, start=1):
            headers = {"Nats-Msg-Id": msg_id, "Nats-Batch-Id": bid, "Nats-Batch-Sequence": str(i)}
            if key not in seen:
                seen.add(key)
                headers["Nats-Expected-Last-Subject-Sequence"] = str(self.heads[key].last_stream_seq)
            if i == last:
                headers["Nats-Batch-Commit"] = "1"
                await self.nc.publish(subject, payload, reply=reply, headers=headers)
            else:
                await self.nc.publish(subject, payload, headers=headers)
        return waiting

    async def _finish(self, batch: Batch, reply: asyncio.Future[bytes]) -> None:
        try:
            data = await asyncio.wait_for(reply, 120)
        except TimeoutError:
            raise EventStoreError(f"seed batch to {batch.stream}: no acknowledgement in 120 s") from None
        ack = orjson.loads(data)
        if ack.get("error"):
            raise EventStoreError(f"seed batch refused by {batch.stream}: {ack['error']}")
        first = int(ack["seq"]) - len(batch.messages) + 1
        for k, (_subject, _payload, key, _id) in enumerate(batch.messages):
            self.heads[key].last_stream_seq = first + k
