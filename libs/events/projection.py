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
import contextlib
import functools
import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, and_, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateTable

from libs.db.engine import writing
from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope, from_body
from libs.events.errors import ProjectionAhead
from libs.events.event import Event, registry
from libs.events.subjects import stream_name, stream_subjects
from libs.observability.metrics import PROJECTION_APPLIED, PROJECTION_LAG

log = structlog.get_logger("events.projection")
DDL_LOCK = 0x52454E4441  # "RENDA": one process at a time creates or rebuilds read-model tables
FILL_WAIT = 0.05  # seconds to wait for the rest of a batch the server says is on its way
IDLE_CONSUMER_NS = 600 * 1_000_000_000  # a process's consumer outlives a network cut of ten minutes

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
    # empty: every event. By class, or by contract type name where the class is another context's
    handles: ClassVar[tuple[type[Event] | str, ...]] = ()
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
        return frozenset(e if isinstance(e, str) else e.type_name for e in self.handles) if self.handles else None


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


class ConsumerGone(RuntimeError):
    """The server no longer has the consumer (deleted, or expired while disconnected)."""


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

    def reset(self) -> None:
        """Forget the pull request in flight (the consumer was re-created)."""
        self._outstanding = 0
        while not self._queue.empty():
            self._queue.get_nowait()

    async def next_batch(self, expires: float = 2.0) -> list[_Delivered]:
        """Up to ``batch`` messages: waits for the first (up to ``expires``), then takes what is queued.

        While the server says more are pending for this request, it waits a moment for them
        rather than handing over a handful: catching up then commits big batches, not one
        transaction per few messages. At the head (nothing pending) it hands over at once.
        """
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
                status = m.headers.get("Status")
                description = m.headers.get("Description", "")
                if status == "503" or (status == "409" and "Deleted" in description):
                    raise ConsumerGone(f"{self.stream}/{self.consumer}: {status} {description}")
                if status == "409":
                    log.warning(
                        "projection.pull_409", stream=self.stream, consumer=self.consumer, description=description
                    )
                break
            seq, ts, pending = parse_ack_subject(m.reply)
            out.append(_Delivered(seq, ts, pending, m.data, m.subject, m.reply))
            self._outstanding -= 1
            if self._outstanding <= 0 or len(out) >= self.batch:
                break
            if self._queue.empty():
                if pending == 0:
                    break
                try:
                    m = await asyncio.wait_for(self._queue.get(), FILL_WAIT)
                except TimeoutError:
                    break
                continue
            m = self._queue.get_nowait()
        return out


class ProjectionRunner:
    """One projection's progress: its tables, checkpoints and waiters.

    The messages come from a ``ProjectionGroup``: ``start()`` runs this projection in a group of
    its own; a service runs all its read models in one group (one consumer and one transaction
    per batch for all of them).
    """

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
        """Create or rebuild the tables and refuse a checkpoint ahead of its stream."""
        definition = self.projection.definition(self.engine.dialect)
        async with writing(self.engine) as tx:
            if self.engine.dialect.name == "postgresql":
                # Replicas starting together would race on CREATE TABLE (pg_type's unique index).
                await tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK})
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
            PROJECTION_LAG.labels(self.projection.name, stream).set(head - have[stream])
        # The per-projection durable consumer of earlier versions: nobody reads it any more.
        for stream in self.streams:
            await jsapi.api(self.nc, f"CONSUMER.DELETE.{stream}.{self.consumer_name()}")

    # -- running (in a group of its own) -------------------------------------------------------
    async def start(self) -> None:
        group = ProjectionGroup(self.nc, self.engine, [self], name=self.consumer_name(), batch=self.batch)
        self._own_group = True
        await group.start()

    async def stop(self) -> None:
        if self.group is not None and self._own_group:
            await self.group.stop()

    async def _apply_batch(self, stream: str, delivered: list[_Delivered]) -> None:
        """Apply one batch to this projection alone (rebuilds; a group applies to all its members)."""
        await apply_batch(self.engine, stream, delivered, [self])

    # -- progress --------------------------------------------------------------------------------
    def _mine(self, stream: str, envs: list[Envelope]) -> list[Envelope]:
        known = self.positions.get(stream, 0)
        wanted = self._wanted
        return [e for e in envs if e.stream_seq > known and (wanted is None or e.type in wanted)]

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

    async def save_position(self) -> None:
        """Store the in-memory checkpoint of batches that wrote nothing (called at shutdown)."""
        for stream, position in list(self._unsaved.items()):
            where = (checkpoints.c.projection == self.projection.name) & (checkpoints.c.stream == stream)
            async with writing(self.engine) as tx:
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


async def apply_batch(
    engine: AsyncEngine, stream: str, delivered: list[_Delivered], members: list[ProjectionRunner]
) -> None:
    """Apply one delivered batch to every member that reads it, in one transaction with their checkpoints.

    Each message is parsed once for all members. Only members with events of their own in the
    batch write (their checkpoint row first: it takes the row lock on PostgreSQL, so a second
    instance waits and then skips what this one applied, and the write lock on SQLite up front);
    the others advance in memory.
    """
    started = time.perf_counter()
    envs = _decode_batch(stream, delivered, members)
    last = delivered[-1]
    position = last.seq
    writes = {r: mine for r in members if (mine := r._mine(stream, envs))}
    if writes:
        async with writing(engine) as tx:
            # One statement moves the checkpoint of every member that holds nothing of this batch
            # yet (the usual case), writing first: it takes the row locks on PostgreSQL and the
            # write lock on SQLite up front. A member it did not move was advanced meanwhile by
            # another instance on the same database: read its checkpoint under lock and skip
            # what that instance applied.
            names = tuple(r.projection.name for r in writes)
            params: dict[str, Any] = {"s": stream, "to": position, "at": datetime.now(UTC)}
            for k, mine in enumerate(writes.values()):
                params[f"p{k}"], params[f"f{k}"] = names[k], mine[0].stream_seq
            moved = set((await tx.execute(_move_statement(len(names)), params)).scalars())
            for r, mine in writes.items():
                if r.projection.name not in moved:
                    mine = await _overlapped(tx, r.projection.name, stream, mine, position)
                if mine:
                    await r.projection.apply_many(mine, tx)
    for r in members:
        await r._advance(stream, position, saved=r in writes, head=last.seq + last.pending, delivered=len(delivered))
    log.debug(
        "projection.batch",
        projections=[r.projection.name for r in writes],
        stream=stream,
        n=len(delivered),
        applied=sum(len(m) for m in writes.values()),
        ms=round((time.perf_counter() - started) * 1e3, 2),
    )


@functools.lru_cache(maxsize=64)
def _move_statement(members: int) -> Any:
    """Move the checkpoints of ``members`` projections that hold nothing of the batch yet (built once per size)."""
    clear = or_(
        *(
            and_(checkpoints.c.projection == bindparam(f"p{k}"), checkpoints.c.position < bindparam(f"f{k}"))
            for k in range(members)
        )
    )
    return (
        update(checkpoints)
        .where(checkpoints.c.stream == bindparam("s"), clear)
        .values(position=bindparam("to"), updated_at=bindparam("at"))
        .returning(checkpoints.c.projection)
    )


async def _overlapped(
    tx: AsyncConnection, name: str, stream: str, mine: list[Envelope], position: int
) -> list[Envelope]:
    where = (checkpoints.c.projection == name) & (checkpoints.c.stream == stream)
    locked = update(checkpoints).where(where).values(updated_at=datetime.now(UTC))
    stored = int((await tx.execute(locked.returning(checkpoints.c.position))).scalar_one())
    await tx.execute(update(checkpoints).where(where).values(position=max(position, stored)))
    return [e for e in mine if e.stream_seq > stored]


def _decode_batch(stream: str, delivered: list[_Delivered], members: list[ProjectionRunner]) -> list[Envelope]:
    wanted: frozenset[str] | None = frozenset()
    for r in members:
        wanted = None if r._wanted is None or wanted is None else wanted | r._wanted
    floor = min(r.positions.get(stream, 0) for r in members)
    out = []
    for d in delivered:
        if d.seq <= floor:
            continue
        try:
            env = decode_delivered(d, wanted)
        except (KeyError, TypeError, ValueError, orjson.JSONDecodeError):
            # Not an envelope (something published into the stream by hand): it carries no
            # event, so there is nothing to apply; say so loudly and go on.
            log.error("projection.undecodable_message", stream=stream, subject=d.subject, seq=d.seq)
            continue
        if env is not None:
            out.append(env)
    return out


class ProjectionGroup:
    """Projections of one process that read the same streams, fed by one consumer per stream.

    Every event reaches all members in one delivery and one SQL transaction, instead of one
    consumer, one pull and one commit per projection (bench/: the command path of a service
    with six read models). The consumer belongs to this process only (its name carries an
    instance id; no acknowledgements, removed by the server when idle): it starts right after
    the lowest member checkpoint, and members skip what they already hold. The SQL checkpoints
    stay the truth, so a second instance on the same database or a restart resumes exactly.
    """

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
        self.consumer = f"{name}_{uuid.uuid4().hex[:8]}".replace(".", "_").replace("-", "_")
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Future[None]] = set()
        self._stopping = False

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
        # Start right after the lowest checkpoint: the SQL checkpoints are the truth.
        start = min(r.positions.get(stream, 0) for r in self.members(stream))
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
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
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

    async def _follow(self, stream: str) -> None:
        source = PullSource(self.nc, stream, self.consumer, self.batch)
        await source.open()
        members = self.members(stream)
        try:
            while not self._stopping:
                try:
                    delivered = await source.next_batch()
                    if delivered and self.defer is not None:
                        await self.defer()
                    if delivered:
                        # Shielded: stopping never cuts a batch's transaction in half (a cancelled
                        # SQLite transaction can keep its lock until the engine is disposed).
                        applying = asyncio.ensure_future(apply_batch(self.engine, stream, delivered, members))
                        self._inflight.add(applying)
                        applying.add_done_callback(self._inflight.discard)
                        await asyncio.shield(applying)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception(
                        "projection.batch_failed", projections=[r.projection.name for r in members], stream=stream
                    )
                    await asyncio.sleep(1.0)
                    await self._position_consumer(stream)
                    source.reset()
        finally:
            await source.close()

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
    async with writing(engine) as tx:
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
    counts: dict[str, int] = {}
    for context, stream in zip(projection.contexts, streams, strict=True):
        counts[stream] = 0
        runner.positions[stream] = 0
        head = await jsapi.last_seq(nc, stream)
        async for delivered in read_stream(nc, context, batch=batch):
            if limit_ns is not None:
                kept = [d for d in delivered if d.timestamp_ns <= limit_ns]
                if kept:
                    await runner._apply_batch(stream, kept)
                    counts[stream] += len(kept)
                if len(kept) < len(delivered):
                    break
            else:
                await runner._apply_batch(stream, delivered)
                counts[stream] += len(delivered)
            if progress is not None:
                progress(stream, delivered[-1].seq, head)
    return counts
