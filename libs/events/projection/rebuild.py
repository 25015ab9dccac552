"""Rebuilding a read model from zero, or as it stood at a past time, with an ephemeral consumer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.events import jetstream as jsapi
from libs.events.errors import EventStoreError
from libs.events.projection.base import Projection
from libs.events.projection.checkpoints import Halt, checkpoints, ensure_state_tables, lock_ddl
from libs.events.projection.consumer import read_stream
from libs.events.projection.runner import ProjectionRunner
from libs.events.subjects import stream_name


class ProjectionHalted(EventStoreError):
    code = "projection_halted"
    message = "读模型在某条消息处停止：无法解码或应用该消息，请查看错误后用 renda projections skip/retry 处理。"

    def __init__(self, projection: str, halt: Halt) -> None:
        super().__init__(f"{projection} halted at {halt.stream} #{halt.seq}: {halt.error}")
        self.projection = projection
        self.halt = halt


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
    checkpoints say how far it got. Returns the events read per stream. A message it cannot
    decode or apply stops it there (``ProjectionHalted``, the halt stored in its checkpoint row).
    """
    limit_ns = int(as_of.timestamp() * 1e9) if as_of is not None else None
    definition = projection.definition(engine.dialect)
    streams = [stream_name(c) for c in projection.contexts]
    async with writing(engine) as tx:
        await lock_ddl(tx)
        await ensure_state_tables(tx)
        if projection.kept is not None:
            await tx.run_sync(projection.kept.create_all)
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
            if stream in runner.halted:
                raise ProjectionHalted(projection.name, runner.halted[stream])
            if progress is not None:
                progress(stream, delivered[-1].seq, head)
    return counts
