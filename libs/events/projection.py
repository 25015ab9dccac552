"""Projections: read models built from events, each batch committed with its checkpoint.

A projection declares its tables (its own ``MetaData``), the contexts it reads and ``apply``.
The runner keeps one durable pull consumer per (projection, stream), drives the pulls by hand
(nats-py's ``fetch()`` costs ~2.5x here), applies a batch and writes the checkpoint (the
stream sequence) in the same SQL transaction, then acknowledges. A redelivered message at or
below the checkpoint is skipped, so a crash anywhere leaves a state that replay reproduces.

The tables are created from the definition; a changed definition (its DDL or ``version``)
drops and rebuilds them from zero, logged as ``projection.rebuild``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateTable

from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope, from_body
from libs.events.errors import ProjectionAhead
from libs.events.event import Event, registry
from libs.events.subjects import stream_name, stream_subjects
from libs.observability.metrics import PROJECTION_APPLIED, PROJECTION_LAG

log = structlog.get_logger("events.projection")

state_metadata = MetaData()
checkpoints = Table(
    "projection_checkpoints",
    state_metadata,
    Column("projection", String(100), primary_key=True),
    Column("stream", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
    Column("definition", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class Projection:
    """Subclass with ``name``, ``contexts``, ``metadata``, ``handles`` and ``apply``."""

    name: ClassVar[str]
    contexts: ClassVar[tuple[str, ...]]
    metadata: ClassVar[MetaData]
    handles: ClassVar[tuple[type[Event], ...]] = ()  # empty: every event
    version: ClassVar[int] = 1  # bump when apply changes meaning, to rebuild

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        raise NotImplementedError

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """One batch's events, in stream order, in the batch's transaction.

        Override to write them in bulk (an executemany): one statement per event costs a driver
        round trip and SQLAlchemy's per-statement work each (bench/: replay). The result must be
        the same as ``apply`` one by one.
        """
        for env in envs:
            await self.apply(env, tx)

    def definition(self, dialect: Any) -> str:
        ddl = "\n".join(str(CreateTable(t).compile(dialect=dialect)) for t in self.metadata.sorted_tables)
        return hashlib.sha256(f"{self.name}/v{self.version}\n{ddl}".encode()).hexdigest()

    def wants(self) -> frozenset[str] | None:
        return frozenset(e.type_name for e in self.handles) if self.handles else None


@dataclass
class _Delivered:
    seq: int
    timestamp_ns: int
    pending: int
    data: bytes
    subject: str
    reply: str


def parse_ack_subject(reply: str) -> tuple[int, int, int]:
    """(stream sequence, timestamp ns, pending) from a JetStream ack subject (v1 or v2 form)."""
    t = reply.split(".")
    if len(t) == 9:  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
        return int(t[5]), int(t[7]), int(t[8])
    # $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>]
    return int(t[7]), int(t[9]), int(t[10])


def decode_delivered(d: _Delivered, wanted: frozenset[str] | None) -> Envelope | None:
    b = orjson.loads(d.data)
    if (wanted is not None and b["type"] not in wanted) or not registry.known(b["type"]):
        return None
    return from_body(b, stream_seq=d.seq, subject=d.subject)


class PullSource:
    """A hand-driven pull consumer: ask for a batch, hand over what has arrived so far."""

    def __init__(self, nc: NATS, stream: str, consumer: str, batch: int) -> None:
        self.nc = nc
        self.stream = stream
        self.consumer = consumer
        self.batch = batch
        self._queue: asyncio.Queue[Msg] = asyncio.Queue()
        self._sub: Any = None
        self._inbox = ""
        self._outstanding = 0

    async def open(self) -> None:
        self._inbox = self.nc.new_inbox()

        async def cb(m: Msg) -> None:
            self._queue.put_nowait(m)

        self._sub = await self.nc.subscribe(self._inbox, cb=cb)

    async def close(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def next_batch(self, expires: float = 2.0) -> list[_Delivered]:
        """Up to ``batch`` messages: waits for the first (up to ``expires``), then takes what is queued."""
        if self._outstanding <= 0:
            req = {"batch": self.batch, "expires": int(expires * 1e9)}
            await self.nc.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.consumer}", orjson.dumps(req), reply=self._inbox
            )
            self._outstanding = self.batch
        out: list[_Delivered] = []
        try:
            m = await asyncio.wait_for(self._queue.get(), expires + 1.0)
        except TimeoutError:
            self._outstanding = 0
            return out
        while True:
            if m.headers and m.headers.get("Status") and not m.data:
                self._outstanding = 0  # 404/408/409: this request is over
                if m.headers.get("Status") == "409":
                    log.warning(
                        "projection.pull_409",
                        stream=self.stream,
                        consumer=self.consumer,
                        description=m.headers.get("Description"),
                    )
                break
            seq, ts, pending = parse_ack_subject(m.reply)
            out.append(_Delivered(seq, ts, pending, m.data, m.subject, m.reply))
            self._outstanding -= 1
            if self._outstanding <= 0 or self._queue.empty() or len(out) >= self.batch:
                break
            m = self._queue.get_nowait()
        return out


class ProjectionRunner:
    """Keeps one projection's read model up to date with its streams."""

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
        self._changed = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self._unsaved: dict[str, int] = {}
        self._inflight: set[asyncio.Future[None]] = set()
        self.stop_grace = 5.0  # seconds a batch in flight may take to commit when stopping
        self.rebuilt = False

    @property
    def streams(self) -> list[str]:
        return [stream_name(c) for c in self.projection.contexts]

    def consumer_name(self) -> str:
        return f"proj_{self.projection.name}".replace(".", "_").replace("-", "_")

    # -- preparing ------------------------------------------------------------------------------
    async def prepare(self) -> None:
        """Create or rebuild the tables, refuse a checkpoint ahead of its stream, position consumers."""
        definition = self.projection.definition(self.engine.dialect)
        async with self.engine.begin() as tx:
            await tx.run_sync(state_metadata.create_all)
            rows = (
                (await tx.execute(select(checkpoints).where(checkpoints.c.projection == self.projection.name)))
                .mappings()
                .all()
            )
            stale = any(r["definition"] != definition for r in rows)
            if stale or not rows:
                if stale:
                    log.warning("projection.rebuild", projection=self.projection.name, reason="definition changed")
                    self.rebuilt = True
                await tx.run_sync(self.projection.metadata.drop_all)
                await tx.execute(checkpoints.delete().where(checkpoints.c.projection == self.projection.name))
                rows = []
            await tx.run_sync(self.projection.metadata.create_all)
            have = {r["stream"]: int(r["position"]) for r in rows}
            now = datetime.now(UTC)
            for stream in self.streams:
                if stream not in have:
                    await tx.execute(
                        checkpoints.insert().values(
                            projection=self.projection.name,
                            stream=stream,
                            position=0,
                            definition=definition,
                            updated_at=now,
                        )
                    )
                    have[stream] = 0
        for stream in self.streams:
            head = await jsapi.last_seq(self.nc, stream)
            if have[stream] > head:
                raise ProjectionAhead(
                    f"{self.projection.name}: checkpoint {have[stream]} is ahead of {stream} (last {head})"
                )
            self.positions[stream] = have[stream]
            self.heads[stream] = head
            await self._position_consumer(stream, have[stream])
            PROJECTION_LAG.labels(self.projection.name, stream).set(head - have[stream])

    async def _position_consumer(self, stream: str, checkpoint: int) -> None:
        # Start exactly after the checkpoint: the SQL checkpoint is the truth, not the consumer's
        # ack floor (they differ after a crash between commit and ack, or a restored database).
        name = self.consumer_name()
        await jsapi.api(self.nc, f"CONSUMER.DELETE.{stream}.{name}")
        config: dict[str, Any] = {
            "durable_name": name,
            "ack_policy": "all",
            "ack_wait": 30_000_000_000,
            "max_ack_pending": 20_000,
            "max_waiting": 16,
            "filter_subjects": stream_subjects(_context_of(stream)),
        }
        if checkpoint > 0:
            config.update(deliver_policy="by_start_sequence", opt_start_seq=checkpoint + 1)
        else:
            config.update(deliver_policy="all")
        reply = await jsapi.api(self.nc, f"CONSUMER.CREATE.{stream}.{name}", {"stream_name": stream, "config": config})
        if reply.get("error"):
            raise RuntimeError(f"cannot create consumer {name} on {stream}: {reply['error']}")

    # -- running ---------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.prepare()
        self._tasks = [asyncio.create_task(self._follow(s), name=f"{self.projection.name}:{s}") for s in self.streams]

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks = []
        if self._inflight:
            # Let a batch in flight commit; one that cannot finish in time is cut (it rolls back).
            _done, late = await asyncio.wait(set(self._inflight), timeout=self.stop_grace)
            for f in late:
                f.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            await asyncio.wait_for(self.save_position(), 5.0)
        except Exception:
            log.warning("projection.save_position_failed", projection=self.projection.name, exc_info=True)

    async def _follow(self, stream: str) -> None:
        source = PullSource(self.nc, stream, self.consumer_name(), self.batch)
        await source.open()
        wanted = self.projection.wants()
        try:
            while not self._stopping:
                try:
                    delivered = await source.next_batch()
                    if delivered:
                        # Shielded: stopping never cuts a batch's transaction in half (a cancelled
                        # SQLite transaction can keep its lock until the engine is disposed).
                        applying = asyncio.ensure_future(self._apply_batch(stream, delivered, wanted))
                        self._inflight.add(applying)
                        applying.add_done_callback(self._inflight.discard)
                        await asyncio.shield(applying)
                        # AckAll: acknowledging the last acknowledges the batch.
                        await self.nc.publish(delivered[-1].reply, b"+ACK")
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("projection.batch_failed", projection=self.projection.name, stream=stream)
                    await asyncio.sleep(1.0)
                    await self._position_consumer(stream, self.positions[stream])
                    source._outstanding = 0
        finally:
            await source.close()

    async def _apply_batch(self, stream: str, delivered: list[_Delivered], wanted: frozenset[str] | None) -> None:
        started = time.perf_counter()
        name = self.projection.name
        known = self.positions.get(stream, 0)
        envs = [env for d in delivered if d.seq > known and (env := self._decode(d, wanted)) is not None]
        position = max(known, delivered[-1].seq)
        if not envs:
            # Nothing this projection reads: advance in memory only. The stored checkpoint moves
            # with the next batch that writes (or at shutdown); after a crash the skipped events
            # are read again and skipped again, so nothing is lost and nothing doubled.
            self._unsaved[stream] = position
        else:
            async with self.engine.begin() as tx:
                # Write first: it takes the row lock on PostgreSQL (a second instance waits, then
                # skips what this one applied) and the write lock on SQLite up front, where a read
                # that later upgrades to a write can fail with SQLITE_BUSY instead of waiting.
                where = (checkpoints.c.projection == name) & (checkpoints.c.stream == stream)
                locked = update(checkpoints).where(where).values(updated_at=datetime.now(UTC))
                stored = int((await tx.execute(locked.returning(checkpoints.c.position))).scalar_one())
                envs = [e for e in envs if e.stream_seq > stored]  # another instance may have applied some
                if envs:
                    await self.projection.apply_many(envs, tx)
                position = max(position, stored)
                await tx.execute(update(checkpoints).where(where).values(position=position))
            self._unsaved.pop(stream, None)
        applied = len(envs)
        last = delivered[-1]
        self.heads[stream] = max(self.heads.get(stream, 0), last.seq + last.pending)
        async with self._changed:
            self.positions[stream] = position
            self._changed.notify_all()
        PROJECTION_APPLIED.labels(name, stream).inc(len(delivered))
        PROJECTION_LAG.labels(name, stream).set(self.heads[stream] - position)
        log.debug(
            "projection.batch",
            projection=name,
            stream=stream,
            n=len(delivered),
            applied=applied,
            ms=round((time.perf_counter() - started) * 1e3, 2),
        )

    def _decode(self, d: _Delivered, wanted: frozenset[str] | None) -> Envelope | None:
        try:
            return decode_delivered(d, wanted)
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError):
            # Not an envelope (something published into the stream by hand): it carries no
            # event, so there is nothing to apply; say so loudly and go on.
            log.error("projection.undecodable_message", projection=self.projection.name, subject=d.subject, seq=d.seq)
            return None

    async def save_position(self) -> None:
        """Store the in-memory checkpoint of batches that wrote nothing (called at shutdown)."""
        for stream, position in list(self._unsaved.items()):
            where = (checkpoints.c.projection == self.projection.name) & (checkpoints.c.stream == stream)
            async with self.engine.begin() as tx:
                await tx.execute(
                    update(checkpoints).where(where & (checkpoints.c.position < position)).values(position=position)
                )
            self._unsaved.pop(stream, None)

    # -- reading its progress ------------------------------------------------------------------
    async def wait_for(self, stream: str, seq: int, timeout: float) -> bool:
        """Wait until the read model includes ``stream`` up to ``seq`` (read-your-writes)."""
        if stream not in self.positions:
            return True
        try:
            async with asyncio.timeout(timeout):
                async with self._changed:
                    await self._changed.wait_for(lambda: self.positions.get(stream, 0) >= seq)
            return True
        except TimeoutError:
            return False

    async def lag(self) -> dict[str, int]:
        out = {}
        for stream in self.streams:
            head = await jsapi.last_seq(self.nc, stream)
            self.heads[stream] = head
            out[stream] = max(0, head - self.positions.get(stream, 0))
            PROJECTION_LAG.labels(self.projection.name, stream).set(out[stream])
        return out

    def running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)


def _context_of(stream: str) -> str:
    return stream.removeprefix("RENDA_").lower()


async def read_stream(
    nc: NATS, context: str, *, batch: int = 1000, subject_filter: str | None = None
) -> AsyncIterator[list[_Delivered]]:
    """Every message of a context's stream as it stands now, in batches, via an ephemeral consumer."""
    stream = stream_name(context)
    head = await jsapi.last_seq(nc, stream)
    if head == 0:
        return
    name = f"read_{uuid.uuid4().hex}"
    config = {
        "name": name,
        "ack_policy": "none",
        "deliver_policy": "all",
        "inactive_threshold": 60_000_000_000,
        "filter_subjects": [subject_filter] if subject_filter else stream_subjects(context),
        "mem_storage": True,
    }
    reply = await jsapi.api(nc, f"CONSUMER.CREATE.{stream}.{name}", {"stream_name": stream, "config": config})
    if reply.get("error"):
        raise RuntimeError(f"cannot create consumer on {stream}: {reply['error']}")
    source = PullSource(nc, stream, name, batch)
    await source.open()
    try:
        while True:
            delivered = await source.next_batch(expires=1.0)
            if not delivered:
                return
            yield delivered
            if delivered[-1].seq >= head or delivered[-1].pending == 0:
                return
    finally:
        await source.close()
        await jsapi.api(nc, f"CONSUMER.DELETE.{stream}.{name}")


async def rebuild(
    nc: NATS,
    engine: AsyncEngine,
    projection: Projection,
    *,
    as_of: datetime | None = None,
    batch: int = 1000,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Rebuild ``projection`` from zero into ``engine``, optionally only with events stored up to ``as_of``.

    Reads with an ephemeral consumer, so the live runner's durable is left alone; the target's
    checkpoints say how far it got. Returns the events read per stream.
    """
    limit_ns = int(as_of.timestamp() * 1e9) if as_of is not None else None
    definition = projection.definition(engine.dialect)
    streams = [stream_name(c) for c in projection.contexts]
    async with engine.begin() as tx:
        await tx.run_sync(state_metadata.create_all)
        await tx.run_sync(projection.metadata.drop_all)
        await tx.run_sync(projection.metadata.create_all)
        await tx.execute(checkpoints.delete().where(checkpoints.c.projection == projection.name))
        for stream in streams:
            await tx.execute(
                checkpoints.insert().values(
                    projection=projection.name,
                    stream=stream,
                    position=0,
                    definition=definition,
                    updated_at=datetime.now(UTC),
                )
            )
    runner = ProjectionRunner(nc, engine, projection, batch=batch)
    wanted = projection.wants()
    counts: dict[str, int] = {}
    for context, stream in zip(projection.contexts, streams, strict=True):
        counts[stream] = 0
        runner.positions[stream] = 0
        head = await jsapi.last_seq(nc, stream)
        async for delivered in read_stream(nc, context, batch=batch):
            if limit_ns is not None:
                kept = [d for d in delivered if d.timestamp_ns <= limit_ns]
                if kept:
                    await runner._apply_batch(stream, kept, wanted)
                    counts[stream] += len(kept)
                if len(kept) < len(delivered):
                    break
            else:
                await runner._apply_batch(stream, delivered, wanted)
                counts[stream] += len(delivered)
            if progress is not None:
                progress(stream, delivered[-1].seq, head)
    return counts
