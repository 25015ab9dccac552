"""Rebuilding a read model from zero, or as it stood at a past time, with an ephemeral consumer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.events import jetstream as jsapi
from libs.events.errors import EventStoreError
from libs.events.projection.base import Projection
from libs.events.projection.batch import Decoder, apply_batch
from libs.events.projection.checkpoints import Halt, checkpoints, ensure_state_tables, lock_ddl
from libs.events.projection.consumer import read_stream
from libs.events.projection.runner import ProjectionRunner
from libs.events.subjects import stream_name
from libs.runtime.collector import quiet_collector

# Messages per pull and per transaction of a rebuild. A live runner takes what has arrived (up to
# 1000); a rebuild reads a whole stream, and with 4000 a county's replay of every read model took
# 48-57 s instead of 60-70 s (bench.replay_scale, a noisy 2-core machine): fewer commits, and a
# B-tree page changed by several batches is written to the log once. 10,000 was no faster and
# took 285 MB where 4000 takes 230 MB.
REBUILD_BATCH = 4000


class ProjectionHalted(EventStoreError):
    code = "projection_halted"
    message = "读模型在某条消息处停止：无法解码或应用该消息，请查看错误后用 renda projections skip/retry 处理。"

    def __init__(self, projection: str, halt: Halt) -> None:
        super().__init__(f"{projection} halted at {halt.stream} #{halt.seq}: {halt.error}")
        self.projection = projection
        self.halt = halt

    def __reduce__(self) -> tuple[type[ProjectionHalted], tuple[str, Halt]]:
        return type(self), (self.projection, self.halt)  # raised in a replay --all process, re-raised in its parent


async def _reset(engine: AsyncEngine, projection: Projection) -> None:
    """Drop and create ``projection``'s tables and set its checkpoints to zero, in one transaction."""
    definition = projection.definition(engine.dialect)
    async with writing(engine) as tx:
        await lock_ddl(tx)
        await ensure_state_tables(tx)
        if projection.kept is not None:
            await tx.run_sync(projection.kept.create_all)
        await tx.run_sync(projection.metadata.drop_all)
        await tx.run_sync(projection.metadata.create_all)
        for index in projection.deferred():
            await tx.run_sync(index.drop)
        await tx.execute(checkpoints.delete().where(checkpoints.c.projection == projection.name))
        for stream in (stream_name(c) for c in projection.contexts):
            await tx.execute(
                checkpoints.insert().values(
                    projection=projection.name,
                    stream=stream,
                    position=0,
                    definition=definition,
                    updated_at=datetime.now(UTC),
                )
            )


async def _index(engine: AsyncEngine, projection: Projection) -> None:
    """The indexes ``_reset`` left out, built once the events are in."""
    deferred = projection.deferred()
    if deferred:
        async with writing(engine) as tx:
            for index in deferred:
                await tx.run_sync(index.create)


async def rebuild(
    nc: NATS,
    engine: AsyncEngine,
    projection: Projection,
    *,
    as_of: datetime | None = None,
    batch: int = REBUILD_BATCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Rebuild ``projection`` from zero into ``engine``, optionally only with events stored up to ``as_of``.

    Reads with an ephemeral consumer, so the live runner's durable is left alone; the target's
    checkpoints say how far it got. Returns the events read per stream. A message it cannot
    decode or apply stops it there (``ProjectionHalted``, the halt stored in its checkpoint row).
    """
    return await rebuild_all(nc, engine, [projection], as_of=as_of, batch=batch, progress=progress)


async def rebuild_all(
    nc: NATS,
    engine: AsyncEngine,
    projections: Sequence[Projection],
    *,
    as_of: datetime | None = None,
    batch: int = REBUILD_BATCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Rebuild several projections of one database from zero, reading each stream once for all of them.

    As a service's ``ProjectionGroup`` catches up: each delivered batch goes to every projection
    that reads its stream, in one transaction with their checkpoints (``apply_batch``). A
    projection that halts on a message stops there (its halt stored) while the others go on;
    ``ProjectionHalted`` is raised for the first one when the streams are read (at once when
    every projection has halted).
    """
    return await rebuild_placed(nc, [(engine, p) for p in projections], as_of=as_of, batch=batch, progress=progress)


async def rebuild_placed(
    nc: NATS,
    placed: Sequence[tuple[AsyncEngine, Projection]],
    *,
    as_of: datetime | None = None,
    batch: int = REBUILD_BATCH,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """``rebuild_all`` of projections kept in several databases (each service's own): one read of each
    stream and one decoding of each message for all of them, one transaction per database and batch."""
    with quiet_collector(collect_first=True):  # a rebuild: the services' tables and classes frozen
        return await _rebuild_all(nc, placed, as_of=as_of, batch=batch, progress=progress)


async def _rebuild_all(
    nc: NATS,
    placed: Sequence[tuple[AsyncEngine, Projection]],
    *,
    as_of: datetime | None,
    batch: int,
    progress: Callable[[str, int, int], None] | None,
) -> dict[str, int]:
    names = [p.name for _, p in placed]
    if len(set(names)) != len(names):
        raise ValueError(f"a projection is named twice: {sorted(names)}")
    limit_ns = int(as_of.timestamp() * 1e9) if as_of is not None else None
    for engine, projection in placed:
        await _reset(engine, projection)
    runners = [ProjectionRunner(nc, engine, p, batch=batch) for engine, p in placed]
    contexts: dict[str, None] = {}
    for _, p in placed:
        contexts.update(dict.fromkeys(p.contexts))
    counts: dict[str, int] = {}
    for context in contexts:
        stream = stream_name(context)
        members = [r for r in runners if stream in r.streams]
        by_engine: dict[AsyncEngine, list[ProjectionRunner]] = {}
        for r in members:
            by_engine.setdefault(r.engine, []).append(r)
        counts[stream] = 0
        for r in members:
            r.positions[stream] = 0
        head = await jsapi.last_seq(nc, stream)
        async for delivered in read_stream(nc, context, batch=batch):
            kept = delivered if limit_ns is None else [d for d in delivered if d.timestamp_ns <= limit_ns]
            if kept:
                decoder = Decoder(kept)
                for engine, group in by_engine.items():
                    await apply_batch(engine, stream, kept, group, decoder)
                counts[stream] += len(kept)
            if len(kept) < len(delivered):
                break
            if all(r.halted for r in runners):
                for engine, p in placed:
                    await _index(engine, p)
                halted = runners[0]
                raise ProjectionHalted(halted.projection.name, next(iter(halted.halted.values())))
            if all(stream in r.halted for r in members):
                break
            if progress is not None:
                progress(stream, delivered[-1].seq, head)
        for r in members:
            await r.save_position()
    for engine, p in placed:
        await _index(engine, p)
    for r in runners:
        for halt in r.halted.values():
            raise ProjectionHalted(r.projection.name, halt)
    return counts
