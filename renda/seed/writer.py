"""Append planned steps through the event store: many aggregates in flight, each in its own order.

Steps arrive in time order. Each aggregate is bound to one lane (a task with a queue), so its
steps are decided and appended one after the other on the state its last append left; lanes run
side by side, so up to ``lanes`` appends are in flight (one acknowledged publish each, or one atomic
batch for a command of several events: ``EventStore.append``). A step that reads other aggregates
(``needs``) waits until their steps planned before it are appended.

Ids and hashes do not depend on the interleaving: event ids derive from the command id (from the
seed, the aggregate and its step count) and each aggregate's hash chain only from its own events.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client as NATS

from libs.domain.errors import DomainError
from libs.events.aggregate import AggregateType
from libs.events.envelope import GENESIS
from libs.events.errors import ConcurrencyConflict
from libs.events.store import CommandMeta, EventStore, Loaded, event_id
from libs.events.subjects import CONTEXTS
from renda.seed.plan import Step

Key = tuple[str, str]


@dataclass
class Tally:
    events: int = 0
    commands: int = 0
    aggregates: int = 0
    refused: list[str] = field(default_factory=list)  # a planned step the rules refused (a planning bug)
    skipped: int = 0  # steps on aggregates that already existed (--force)
    by_type: dict[str, int] = field(default_factory=dict)
    digest: int = 0  # a running fingerprint of every event id and hash (order-free): determinism checks


class Writer:
    def __init__(
        self,
        nc: NATS,
        seed: int,
        *,
        lanes: int = 192,
        queue: int = 256,
        on_step: Callable[[int], None] | None = None,
        signers: dict[str, Any] | None = None,
    ) -> None:
        """One ``EventStore`` per context, each with that context's signer (as its service has)."""
        signers = signers or {}
        self.stores = {
            c: EventStore(nc, snapshots=False, **({"signer": signers[c]} if c in signers else {})) for c in CONTEXTS
        }
        self.seed = seed
        self.lanes = lanes
        self.queue = queue
        self.on_step = on_step
        self.tally = Tally()
        self.loaded: dict[Key, Loaded[Any]] = {}
        self.types: dict[str, AggregateType[Any]] = {}
        self._count: dict[Key, int] = {}  # steps run per aggregate (names the command ids)
        self._fed: dict[Key, int] = {}
        self._done: dict[Key, int] = {}
        self._waiters: dict[Key, asyncio.Event] = {}
        self._blocked: set[Key] = set()  # already existed (--force): left as they are

    # -- what steps read of other aggregates ---------------------------------------------------------
    def state(self, agg: AggregateType[Any], aggregate_id: str) -> Any:
        got = self.loaded.get((agg.name, aggregate_id))
        return got.state if got is not None else agg.initial(aggregate_id)

    # -- running ------------------------------------------------------------------------------------
    async def run(self, steps: Iterable[Step]) -> Tally:
        queues: list[asyncio.Queue[tuple[Step, tuple[tuple[Key, int], ...]] | None]] = [
            asyncio.Queue(self.queue) for _ in range(self.lanes)
        ]
        workers = [asyncio.create_task(self._lane(q)) for q in queues]
        try:
            for step in steps:
                key = (step.agg.name, step.agg_id)
                self.types.setdefault(step.agg.name, step.agg)
                waits = tuple(
                    (k, self._fed.get(k, 0)) for k in step.needs if self._fed.get(k, 0) > self._done.get(k, 0)
                )
                self._fed[key] = self._fed.get(key, 0) + 1
                await queues[zlib.crc32(step.agg_id.encode()) % self.lanes].put((step, waits))
                if any(w.done() for w in workers):
                    break
            for q in queues:
                await q.put(None)
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
        return self.tally

    async def _lane(self, q: asyncio.Queue[tuple[Step, tuple[tuple[Key, int], ...]] | None]) -> None:
        while True:
            item = await q.get()
            if item is None:
                return
            step, waits = item
            for k, n in waits:
                while self._done.get(k, 0) < n:
                    await self._waiters.setdefault(k, asyncio.Event()).wait()
            try:
                await self._step(step)
            finally:
                key = (step.agg.name, step.agg_id)
                self._done[key] = self._done.get(key, 0) + 1
                waiter = self._waiters.pop(key, None)
                if waiter is not None:
                    waiter.set()
                if self.on_step is not None:
                    self.on_step(1)

    async def _step(self, step: Step) -> None:
        key = (step.agg.name, step.agg_id)
        n = self._count[key] = self._count.get(key, 0) + 1
        if key in self._blocked:
            self.tally.skipped += 1
            return
        loaded = self.loaded.get(key)
        if loaded is None:
            agg = step.agg
            loaded = Loaded(agg, step.agg_id, agg.initial(step.agg_id), 0, 0, GENESIS, step.where, frozenset())
        try:
            events = step.decide(loaded.state, self)
        except DomainError as refused:
            self.tally.refused.append(f"{step.agg.name} {step.agg_id} @ {step.at.isoformat()}: {refused.code}")
            return
        if not events:
            return
        command_id = step.command_id or event_id(f"seed/{self.seed}/{step.agg.name}", step.agg_id, n)
        meta = CommandMeta(actor=step.actor, correlation_id=command_id, command_id=command_id, now=step.at)
        try:
            done = await self.stores[step.agg.context].append(loaded, events, meta, jurisdiction=step.where)
        except ConcurrencyConflict:
            self._blocked.add(key)  # it existed before the seed (--force): keep it as it is
            self.tally.skipped += 1
            return
        if not loaded.version:
            self.tally.aggregates += 1
        self.loaded[key] = done.loaded
        t = self.tally
        t.commands += 1
        t.events += len(done.envelopes)
        t.by_type[step.agg.name] = t.by_type.get(step.agg.name, 0) + len(done.envelopes)
        for env in done.envelopes:
            t.digest ^= zlib.crc32(f"{env.id}:{env.hash}".encode())
