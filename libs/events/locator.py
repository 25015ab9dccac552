"""Where each aggregate lives: aggregate id → jurisdiction, so loads read one exact subject.

Built by a projection of the service's own stream; the store also remembers what it wrote
and falls back to a (slow) wildcard read when this table lags, so it is an index, never
the truth.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.db.bulk import insert_rows
from libs.db.engine import reading
from libs.events.envelope import Envelope
from libs.events.projection import Projection


def locator_projection(context: str) -> Projection:
    metadata = MetaData()
    table = Table(
        f"{context}_locator",
        metadata,
        Column("aggregate_type", String(60), primary_key=True),
        Column("aggregate_id", String(100), primary_key=True),
        Column("jurisdiction", String(12), nullable=False),
    )

    class Locator(Projection):
        name: ClassVar[str] = f"{context}-locator"
        contexts: ClassVar[tuple[str, ...]] = (context,)
        raw: ClassVar[bool] = True  # every event of the context, whatever its type: no event class needed

        async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
            await self.apply_many([env], tx)

        async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
            """An aggregate's first event places it; the others (most of a stream) change nothing."""
            born = [
                {"aggregate_type": e.aggregate_type, "aggregate_id": e.aggregate_id, "jurisdiction": e.jurisdiction}
                for e in envs
                if e.sequence == 1
            ]
            await insert_rows(tx, table, born)

    Locator.metadata = metadata
    Locator.table = table  # type: ignore[attr-defined]
    return Locator()


def locate_with(engine: AsyncEngine, projection: Projection) -> object:
    table = projection.table  # type: ignore[attr-defined]

    async def locate(context: str, aggregate_type: str, aggregate_id: str) -> str | None:
        async with reading(engine) as conn:
            row = await conn.execute(
                select(table.c.jurisdiction).where(
                    table.c.aggregate_type == aggregate_type, table.c.aggregate_id == aggregate_id
                )
            )
            return row.scalar_one_or_none()

    return locate
