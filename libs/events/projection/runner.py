"""One projection's progress: its tables, checkpoints, halts and the waiters on it.

The messages come from a ``ProjectionGroup`` (libs/events/projection/group.py): ``start()`` runs
this projection in a group of its own; a service runs all its read models in one group.

The tables are created from the definition; a changed definition (its DDL or ``version``) drops
and rebuilds them from zero, logged as ``projection.rebuild``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog
from nats.aio.client import Client as NATS
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope
from libs.events.errors import ProjectionAhead
from libs.events.metrics import PROJECTION_HALTED, PROJECTION_HALTS
from libs.events.projection.base import Projection, create_missing_indexes
from libs.events.projection.checkpoints import Halt, checkpoints, ensure_state_tables, halt_of, lock_ddl
from libs.events.projection.consumer import Delivered
from libs.events.subjects import stream_name
from libs.observability.metrics import PROJECTION_APPLIED, PROJECTION_LAG

if TYPE_CHECKING:
    from libs.events.projection.group import ProjectionGroup

log = structlog.get_logger("events.projection")


class ProjectionRunner:
    """One projection's progress: its tables, checkpoints and waiters."""

    def __init__(
        self,
        nc: NATS,
        engine: AsyncEngine,
        projection: Projection,
        *,
        batch: int = 500,
        service: str = "",
    ) -> None:
        self.nc = nc
        self.engine = engine
        self.projection = projection
        self.batch = batch
        self.service = service
        self.positions: dict[str, int] = {}
        self.heads: dict[str, int] = {}
        self.halted: dict[str, Halt] = {}  # stream -> where and why it stopped
        self._changed = asyncio.Condition()
        self._unsaved: dict[str, int] = {}
        self._wanted = projection.wants()
        self.group: ProjectionGroup | None = None
        self._own_group = False
        self.generation = 0  # batches that carried events of this projection (caches key on it)
        self.stop_grace = 5.0  # seconds a batch in flight may take to commit when stopping
        self.rebuilt = False

    @property
    def streams(self) -> list[str]:
        return [stream_name(c) for c in self.projection.contexts]

    def consumer_name(self) -> str:
        return f"proj_{self.projection.name}".replace(".", "_").replace("-", "_")

    # -- preparing ------------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Create or rebuild the tables, read checkpoints and halts, refuse a checkpoint ahead of its stream."""
        name = self.projection.name
        definition = self.projection.definition(self.engine.dialect)
        async with writing(self.engine) as tx:
            await lock_ddl(tx)
            await ensure_state_tables(tx)
            if self.projection.kept is not None:
                await tx.run_sync(self.projection.kept.create_all)
            rows = (await tx.execute(select(checkpoints).where(checkpoints.c.projection == name))).mappings().all()
            stale = any(r["definition"] != definition for r in rows)
            if stale or not rows:
                if stale:
                    log.warning("projection.rebuild", projection=name, reason="definition changed")
                    self.rebuilt = True
                await tx.run_sync(self.projection.metadata.drop_all)
                await tx.execute(checkpoints.delete().where(checkpoints.c.projection == name))
                rows = []
            await tx.run_sync(self.projection.metadata.create_all)
            await tx.run_sync(create_missing_indexes, self.projection.metadata)
            have = {r["stream"]: int(r["position"]) for r in rows}
            for r in rows:
                halt = halt_of(r)
                if halt is not None and halt.stream in self.streams:
                    self.halted[halt.stream] = halt
            now = datetime.now(UTC)
            for stream in self.streams:
                if stream not in have:
                    await tx.execute(
                        checkpoints.insert().values(
                            projection=name, stream=stream, position=0, definition=definition, updated_at=now
                        )
                    )
                    have[stream] = 0
        for stream in self.streams:
            head = await jsapi.last_seq(self.nc, stream)
            if have[stream] > head:
                raise ProjectionAhead(f"{name}: checkpoint {have[stream]} is ahead of {stream} (last {head})")
            self.positions[stream] = have[stream]
            self.heads[stream] = head
            PROJECTION_LAG.labels(name, stream).set(head - have[stream])
            PROJECTION_HALTED.labels(name, stream).set(1 if stream in self.halted else 0)
            if stream in self.halted:
                log.error("projection.halted", projection=name, **self.halted[stream].as_dict())
        # The per-projection durable consumer of earlier versions: nobody reads it any more.
        for stream in self.streams:
            await jsapi.api(self.nc, f"CONSUMER.DELETE.{stream}.{self.consumer_name()}")

    # -- running (in a group of its own) -------------------------------------------------------
    async def start(self) -> None:
        from libs.events.projection.group import ProjectionGroup

        group = ProjectionGroup(self.nc, self.engine, [self], name=self.consumer_name(), batch=self.batch)
        self._own_group = True
        await group.start()

    async def stop(self) -> None:
        if self.group is not None and self._own_group:
            await self.group.stop()

    async def _apply_batch(self, stream: str, delivered: list[Delivered]) -> None:
        """Apply one batch to this projection alone (rebuilds; a group applies to all its members)."""
        from libs.events.projection.batch import apply_batch

        await apply_batch(self.engine, stream, delivered, [self])

    # -- progress --------------------------------------------------------------------------------
    def wanted(self, type_name: str) -> bool:
        return self._wanted is None or type_name in self._wanted

    def wanted_types(self) -> frozenset[str] | None:
        """The event types it reads; None: every type."""
        return self._wanted

    async def _advance(self, stream: str, position: int, *, saved: bool, head: int, delivered: int) -> None:
        if saved:
            self._unsaved.pop(stream, None)
            self.generation += 1
        else:
            # Nothing this projection reads: advance in memory only. The stored checkpoint moves
            # with the next batch that writes (or at shutdown); after a crash the skipped events
            # are read again and skipped again, so nothing is lost and nothing doubled.
            self._unsaved[stream] = position
        self.heads[stream] = max(self.heads.get(stream, 0), head)
        async with self._changed:
            self.positions[stream] = max(self.positions.get(stream, 0), position)
            self._changed.notify_all()
        PROJECTION_APPLIED.labels(self.projection.name, stream).inc(delivered)
        PROJECTION_LAG.labels(self.projection.name, stream).set(self.heads[stream] - self.positions[stream])

    async def _halt(self, halt: Halt, *, head: int) -> None:
        """Stop reading ``halt.stream`` at ``halt.seq`` (the halt row is already stored)."""
        stream = halt.stream
        self._unsaved.pop(stream, None)
        self.generation += 1
        self.halted[stream] = halt
        self.heads[stream] = max(self.heads.get(stream, 0), head)
        async with self._changed:
            self.positions[stream] = max(self.positions.get(stream, 0), halt.seq - 1)
            self._changed.notify_all()
        PROJECTION_HALTS.labels(self.projection.name, stream).inc()
        PROJECTION_HALTED.labels(self.projection.name, stream).set(1)
        log.error("projection.halted", projection=self.projection.name, service=self.service, **halt.as_dict())

    async def resume(self, stream: str, position: int) -> None:
        """The operator resolved the halt (skip or retry): read on from ``position``."""
        self.halted.pop(stream, None)
        async with self._changed:
            self.positions[stream] = position
            self._changed.notify_all()
        PROJECTION_HALTED.labels(self.projection.name, stream).set(0)
        log.warning("projection.resumed", projection=self.projection.name, stream=stream, position=position)

    def mine(self, stream: str, envs: list[Envelope]) -> list[Envelope]:
        known = self.positions.get(stream, 0)
        return [e for e in envs if e.stream_seq > known and self.wanted(e.type)]

    async def save_position(self) -> None:
        """Store the in-memory checkpoint of batches that wrote nothing (called at shutdown)."""
        for stream, position in list(self._unsaved.items()):
            if stream in self.halted:
                continue
            where = (checkpoints.c.projection == self.projection.name) & (checkpoints.c.stream == stream)
            async with writing(self.engine) as tx:
                await tx.execute(
                    update(checkpoints).where(where & (checkpoints.c.position < position)).values(position=position)
                )
            self._unsaved.pop(stream, None)

    # -- reading its progress ------------------------------------------------------------------
    async def wait_for(self, stream: str, seq: int, timeout: float) -> bool:
        """Wait until the read model includes ``stream`` up to ``seq`` (read-your-writes); False if halted before."""
        if stream not in self.positions:
            return True
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(lambda: self.positions.get(stream, 0) >= seq or stream in self.halted)
            return self.positions.get(stream, 0) >= seq
        except TimeoutError:
            return False

    async def lag(self, heads: dict[str, int] | None = None) -> dict[str, int]:
        """Stream head minus checkpoint; ``heads`` shares the heads read among several runners."""
        heads = {} if heads is None else heads
        out = {}
        for stream in self.streams:
            if stream not in heads:
                heads[stream] = await jsapi.last_seq(self.nc, stream)
            head = heads[stream]
            self.heads[stream] = head
            out[stream] = max(0, head - self.positions.get(stream, 0))
            PROJECTION_LAG.labels(self.projection.name, stream).set(out[stream])
        return out

    def running(self) -> bool:
        return self.group is not None and self.group.running()
