"""libs/events/projection/rows.py: a batch's changes held in memory land as one statement per change would."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.events.projection.rows import Rows

metadata = MetaData()
rounds = Table(
    "rows_rounds",
    metadata,
    Column("sid", String(20), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("due", String(10), nullable=False),
)


async def _all(engine: AsyncEngine) -> list[tuple[str, int, str]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(select(rounds).order_by(rounds.c.sid, rounds.c.round))).all()]  # type: ignore[misc]


async def test_deleted_then_added_again_replaces_the_stored_row(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            rounds.insert(), [{"sid": "a", "round": 1, "due": "01-01"}, {"sid": "b", "round": 1, "due": "02-01"}]
        )
    async with writing(engine) as tx:
        held = Rows(rounds)
        await held.load(tx, "sid", {"a"})
        held.delete(held.get("a", 1))  # type: ignore[arg-type]  # a loaded row withdrawn…
        held.add(sid="a", round=1, due="03-01")  # …and assigned again in the same batch
        held.delete_by_key(("b", 1))  # a stored row never read, withdrawn…
        held.add(sid="b", round=1, due="04-01")  # …and assigned again
        held.set_by_key(("b", 1), due="04-02")  # then its deadline extended
        held.delete_by_key(("c", 9))  # a row that does not exist: nothing
        held.set_by_key(("c", 9), due="09-09")  # nor after
        await held.flush(tx)
    assert await _all(engine) == [("a", 1, "03-01"), ("b", 1, "04-02")]


async def test_a_blind_change_then_delete_deletes(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(
            rounds.insert(), [{"sid": "a", "round": 1, "due": "01-01"}, {"sid": "a", "round": 2, "due": "01-02"}]
        )
    async with writing(engine) as tx:
        held = Rows(rounds)
        held.set_by_key(("a", 1), due="05-05")
        held.delete_by_key(("a", 1))
        held.set_by_key(("a", 2), due="06-06")
        await held.flush(tx)
    assert await _all(engine) == [("a", 2, "06-06")]
