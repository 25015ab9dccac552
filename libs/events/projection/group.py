"""Projections of one process that read the same streams, fed by one consumer per stream.

Every event reaches all members in one delivery and one SQL transaction, instead of one consumer,
one pull and one commit per projection (bench/: the command path of a service with six read
models). The consumer belongs to this process only (its name carries an instance id; no
acknowledgements, removed by the server when idle): it starts right after the lowest checkpoint
of the members still reading, and members skip what they already hold. The SQL checkpoints stay
the truth, so a second instance on the same database or a restart resumes exactly.

A batch that fails for a passing reason is retried with back-off (1 s doubling to a minute),
reported in ``trouble`` (``/readyz``) and counted; a member halted on a message takes nothing
more from that stream until its checkpoint row says an operator resolved it (polled).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events import jetstream as jsapi
from libs.events.metrics import PROJECTION_BATCH_FAILURES
from libs.events.projection.batch import apply_batch
from libs.events.projection.checkpoints import rows as checkpoint_rows
from libs.events.projection.consumer import PullSource
from libs.events.projection.runner import ProjectionRunner
from libs.events.subjects import stream_subjects

log = structlog.get_logger("events.projection")
IDLE_CONSUMER_NS = 600 * 1_000_000_000  # a process's consumer outlives a network cut of ten minutes
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
RESUME_POLL = 2.0  # seconds between reads of a halted member's checkpoint row


def _context_of(stream: str) -> str:
    return stream.removeprefix("RENDA_").lower()


class ProjectionGroup:
    """Projections of one process that read the same streams, fed by one consumer per stream."""

    def __init__(
        self,
        nc: NATS,
        engine: AsyncEngine,
        runners: list[ProjectionRunner],
        *,
        name: str,
        batch: int = 500,
        defer: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.nc = nc
        self.engine = engine
        self.runners = runners
        self.batch = batch
        # Awaited before each batch: a service lets the commands it is answering finish first
        # (the SQLite work of a batch runs in the event loop's thread), within a bound.
        self.defer = defer
        self.name = name
        self.consumer = f"{name}_{uuid.uuid4().hex[:8]}".replace(".", "_").replace("-", "_")
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Future[None]] = set()
        self._stopping = False
        self.trouble: dict[str, dict[str, Any]] = {}  # stream -> the failing batch's error, attempts, retry in

    @property
    def streams(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.runners:
            seen.update(dict.fromkeys(r.streams))
        return list(seen)

    def members(self, stream: str) -> list[ProjectionRunner]:
        return [r for r in self.runners if stream in r.streams]

    async def start(self) -> None:
        for r in self.runners:
            await r.prepare()
            r.group = self
        for stream in self.streams:
            await self._position_consumer(stream)
        self._tasks = [asyncio.create_task(self._follow(s), name=f"{self.consumer}:{s}") for s in self.streams]

    async def _position_consumer(self, stream: str) -> None:
        # Start right after the lowest checkpoint of the members still reading: the SQL
        # checkpoints are the truth; a halted member takes nothing until it is resolved.
        members = self.members(stream)
        reading = [r for r in members if stream not in r.halted] or members
        start = min(r.positions.get(stream, 0) for r in reading)
        await jsapi.api(self.nc, f"CONSUMER.DELETE.{stream}.{self.consumer}")
        config: dict[str, Any] = {
            "name": self.consumer,
            "ack_policy": "none",
            "inactive_threshold": IDLE_CONSUMER_NS,
            "max_waiting": 16,
            "filter_subjects": stream_subjects(_context_of(stream)),
        }
        if start > 0:
            config.update(deliver_policy="by_start_sequence", opt_start_seq=start + 1)
        else:
            config.update(deliver_policy="all")
        reply = await jsapi.api(
            self.nc, f"CONSUMER.CREATE.{stream}.{self.consumer}", {"stream_name": stream, "config": config}
        )
        if reply.get("error"):
            raise RuntimeError(f"cannot create consumer {self.consumer} on {stream}: {reply['error']}")

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        if self._inflight:
            # Let a batch in flight commit; one that cannot finish in time is cut (it rolls back).
            _done, late = await asyncio.wait(set(self._inflight), timeout=min(r.stop_grace for r in self.runners))
            for f in late:
                f.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for r in self.runners:
            try:
                await asyncio.wait_for(r.save_position(), 5.0)
            except Exception:
                log.warning("projection.save_position_failed", projection=r.projection.name, exc_info=True)
        with contextlib.suppress(Exception):
            for stream in self.streams:
                await jsapi.api(self.nc, f"CONSUMER.DELETE.{stream}.{self.consumer}", timeout=1.0)

    async def _resolved(self, stream: str) -> bool:
        """Read the halted members' rows; resume those an operator resolved. True if any resumed."""
        halted = [r for r in self.members(stream) if stream in r.halted]
        if not halted:
            return False
        rows = await checkpoint_rows(self.engine, [r.projection.name for r in halted])
        by_name = {(row["projection"], row["stream"]): row for row in rows}
        resumed = False
        for r in halted:
            row = by_name.get((r.projection.name, stream))
            if row is not None and row["halted_seq"] is None:
                await r.resume(stream, int(row["position"]))
                resumed = True
        return resumed

    async def _follow(self, stream: str) -> None:
        source = PullSource(self.nc, stream, self.consumer, self.batch)
        await source.open()
        members = self.members(stream)
        failures = 0
        loop = asyncio.get_running_loop()
        next_poll = 0.0
        reposition = False
        try:
            while not self._stopping:
                try:
                    if reposition:
                        await self._position_consumer(stream)
                        source.reset()
                        reposition = False
                    if loop.time() >= next_poll and any(stream in r.halted for r in members):
                        next_poll = loop.time() + RESUME_POLL
                        if await self._resolved(stream):
                            await self._position_consumer(stream)
                            source.reset()
                    delivered = await source.next_batch(expires=RESUME_POLL)
                    if delivered and self.defer is not None:
                        await self.defer()
                    if delivered:
                        # Shielded: stopping never cuts a batch's transaction in half (a cancelled
                        # SQLite transaction can keep its lock until the engine is disposed).
                        applying = asyncio.ensure_future(apply_batch(self.engine, stream, delivered, members))
                        self._inflight.add(applying)
                        applying.add_done_callback(self._inflight.discard)
                        await asyncio.shield(applying)
                    if failures:
                        failures = 0
                        self.trouble.pop(stream, None)
                        log.info("projection.batch_recovered", consumer=self.name, stream=stream)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    failures += 1
                    delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** (failures - 1))
                    self.trouble[stream] = {
                        "error": f"{type(exc).__name__}: {exc}"[:500],
                        "attempts": failures,
                        "retry_in_s": delay,
                        "since": self.trouble.get(stream, {}).get("since", datetime.now(UTC).isoformat()),
                    }
                    PROJECTION_BATCH_FAILURES.labels(self.name, stream).inc()
                    log.exception(
                        "projection.batch_failed",
                        projections=[r.projection.name for r in members],
                        stream=stream,
                        attempts=failures,
                        retry_in_s=delay,
                    )
                    await asyncio.sleep(delay)
                    reposition = True
        finally:
            await source.close()

    def running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)
