"""Checkpoints: how far each projection got in each stream, and where it halted.

One row per (projection, stream), written in the same SQL transaction as the read model. A
projection that cannot decode or apply a message halts there: the row keeps the stream sequence
and the error (``halted_seq``, ``halted_error``) until an operator resolves it with
``renda projections skip NAME SEQ`` (move past that one message) or ``renda projections retry NAME``
(try it again, e.g. after a fix); a running service sees the cleared row on its next poll, a
restarted one when it starts. ``resolution`` keeps the operator's last decision for the record.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.db.engine import reading, writing

DDL_LOCK = 0x52454E4441  # "RENDA": one process at a time creates or rebuilds read-model tables
ERROR_CHARS = 2_000

state_metadata = MetaData()
checkpoints = Table(
    "projection_checkpoints",
    state_metadata,
    Column("projection", String(100), primary_key=True),
    Column("stream", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False, default=0),
    Column("definition", String(64), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("halted_seq", BigInteger, nullable=True),
    Column("halted_error", Text, nullable=True),
    Column("halted_at", DateTime(timezone=True), nullable=True),
    Column("resolution", Text, nullable=True),
)
_ADDED = {  # columns added after the first release: ALTERed into an older table
    "halted_seq": "BIGINT",
    "halted_error": "TEXT",
    "halted_at": "TIMESTAMP WITH TIME ZONE",
    "resolution": "TEXT",
}


@dataclass(frozen=True)
class Halt:
    """A projection stopped at ``seq`` of ``stream``: it could not decode or apply that message."""

    stream: str
    seq: int
    error: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"stream": self.stream, "seq": self.seq, "error": self.error, "since": self.at.isoformat()}


async def ensure_state_tables(tx: AsyncConnection) -> None:
    """Create the checkpoint table, or add the halt columns to one made by an earlier version."""
    await tx.run_sync(state_metadata.create_all)
    have = await tx.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns(checkpoints.name)})
    for name, sql_type in _ADDED.items():
        if name not in have:
            dialect = await tx.run_sync(lambda c: c.dialect.name)
            kind = "DATETIME" if dialect == "sqlite" and sql_type.startswith("TIMESTAMP") else sql_type
            await tx.execute(text(f"ALTER TABLE {checkpoints.name} ADD COLUMN {name} {kind}"))


async def lock_ddl(tx: AsyncConnection) -> None:
    if await tx.run_sync(lambda c: c.dialect.name) == "postgresql":
        # Replicas starting together would race on CREATE TABLE (pg_type's unique index).
        await tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK})


def _where(projection: str, stream: str) -> Any:
    return (checkpoints.c.projection == projection) & (checkpoints.c.stream == stream)


@functools.lru_cache(maxsize=64)
def move_statement(members: int) -> Any:
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


async def locked_position(tx: AsyncConnection, projection: str, stream: str) -> int:
    """The stored checkpoint, read under the row's lock (another instance may have moved it)."""
    locked = update(checkpoints).where(_where(projection, stream)).values(updated_at=datetime.now(UTC))
    return int((await tx.execute(locked.returning(checkpoints.c.position))).scalar_one())


async def set_position(tx: AsyncConnection, projection: str, stream: str, position: int) -> None:
    await tx.execute(
        update(checkpoints)
        .where(_where(projection, stream) & (checkpoints.c.position < position))
        .values(position=position)
    )


async def record_halt(tx: AsyncConnection, projection: str, halt: Halt) -> None:
    await tx.execute(
        update(checkpoints)
        .where(_where(projection, halt.stream))
        .values(halted_seq=halt.seq, halted_error=halt.error[:ERROR_CHARS], halted_at=halt.at)
    )


def halt_of(row: Any) -> Halt | None:
    if row["halted_seq"] is None:
        return None
    at = row["halted_at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return Halt(str(row["stream"]), int(row["halted_seq"]), str(row["halted_error"] or ""), at or datetime.now(UTC))


async def rows(engine: AsyncEngine, projections: list[str] | None = None) -> list[dict[str, Any]]:
    q = select(checkpoints)
    if projections is not None:
        q = q.where(checkpoints.c.projection.in_(projections))
    async with reading(engine) as conn:
        return [dict(r) for r in (await conn.execute(q.order_by(checkpoints.c.projection))).mappings().all()]


class NotHalted(LookupError):
    pass


async def skip(engine: AsyncEngine, projection: str, seq: int, who: str = "operator") -> str:
    """Resolve a halt by moving the checkpoint past message ``seq``; returns the stream. Refuses any other seq."""
    async with writing(engine) as tx:
        found = (
            (
                await tx.execute(
                    select(checkpoints.c.stream).where(
                        checkpoints.c.projection == projection, checkpoints.c.halted_seq == seq
                    )
                )
            )
            .scalars()
            .all()
        )
        if not found:
            raise NotHalted(f"{projection} is not halted at stream sequence {seq}")
        stream = str(found[0])
        now = datetime.now(UTC)
        await set_position(tx, projection, stream, seq)
        await tx.execute(
            update(checkpoints)
            .where(_where(projection, stream))
            .values(
                halted_seq=None,
                halted_error=None,
                halted_at=None,
                updated_at=now,
                resolution=f"{now.isoformat()} {who}: skipped {stream} #{seq}",
            )
        )
    return stream


async def retry(engine: AsyncEngine, projection: str, who: str = "operator") -> list[str]:
    """Resolve every halt of ``projection`` by trying the message again; returns the streams."""
    async with writing(engine) as tx:
        streams = [
            str(s)
            for s in (
                await tx.execute(
                    select(checkpoints.c.stream).where(
                        checkpoints.c.projection == projection, checkpoints.c.halted_seq.is_not(None)
                    )
                )
            ).scalars()
        ]
        if not streams:
            raise NotHalted(f"{projection} is not halted")
        now = datetime.now(UTC)
        for stream in streams:
            await tx.execute(
                update(checkpoints)
                .where(_where(projection, stream))
                .values(
                    halted_seq=None,
                    halted_error=None,
                    halted_at=None,
                    updated_at=now,
                    resolution=f"{now.isoformat()} {who}: retry {stream}",
                )
            )
    return streams
