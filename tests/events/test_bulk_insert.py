"""libs/db/bulk.py: rows written by ``insert_rows`` read back as SQLAlchemy's own executemany writes them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Integer, MetaData, String, Table, Text, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.bulk import COPY_FROM, insert_rows
from libs.db.engine import writing
from libs.events.projection.buffered import BufferedTx
from services.deputies.projections.columns import Instant


def _table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("id", String(40), primary_key=True),
        Column("n", Integer, nullable=False, default=7),
        Column("on_date", Date, nullable=True),
        Column("at", DateTime, nullable=True),
        Column("instant", Instant(), nullable=True),
        Column("flag", Boolean, nullable=True),
        Column("doc", JSON, nullable=True),
        Column("note", Text, nullable=False, default=""),
    )


metadata = MetaData()
ours, theirs = _table("bulk_ours", metadata), _table("bulk_theirs", metadata)
stamped = Table(
    "bulk_stamped",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("made", DateTime, nullable=False, default=func.now()),  # an SQL default: SQLAlchemy's path
)

ROWS: list[dict[str, Any]] = [
    {
        "id": "a",
        "n": 1,
        "on_date": date(1949, 10, 1),
        "at": datetime(2026, 12, 6, 8, 30, 1, 250),
        "instant": datetime(2026, 12, 6, 16, 30, tzinfo=timezone(timedelta(hours=8))),
        "flag": True,
        "doc": {"名单": ["张三", "李四"], "n": 2},
        "note": "第一条",
    },
    {"id": "b", "n": 0, "on_date": None, "at": None, "instant": None, "flag": False, "doc": None, "note": ""},
    {
        "id": "c",
        "n": -5,
        "on_date": date(2076, 2, 29),
        "at": datetime(2000, 1, 1),
        "instant": datetime(2030, 1, 1, tzinfo=UTC),
        "flag": None,
        "doc": [1, "二"],
        "note": "x" * 300,
    },
]


async def _read(engine: AsyncEngine, table: Table) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in (await conn.execute(select(table).order_by(table.c.id))).all()]


async def test_rows_read_back_as_sqlalchemy_writes_them(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with writing(engine) as tx:
        await insert_rows(tx, ours, ROWS)
        await tx.execute(theirs.insert(), ROWS)
    got = await _read(engine, ours)
    assert got == await _read(engine, theirs)
    assert [r[0] for r in got] == ["a", "b", "c"]
    assert got[0][4] == datetime(2026, 12, 6, 8, 30, tzinfo=UTC)  # the instant, in UTC
    assert got[0][6] == {"名单": ["张三", "李四"], "n": 2}


async def test_plain_defaults_fill_the_columns_left_out(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with writing(engine) as tx:
        await insert_rows(tx, ours, [{"id": "d"}, {"id": "e"}])
        await insert_rows(tx, stamped, [{"id": "s"}])  # falls back to SQLAlchemy for func.now()
        await tx.execute(theirs.insert(), [{"id": "d"}, {"id": "e"}])
    assert await _read(engine, ours) == await _read(engine, theirs)
    assert [r[1] for r in await _read(engine, ours)] == [7, 7]
    [(_id, made)] = await _read(engine, stamped)
    assert made is not None


async def test_a_buffered_transaction_writes_its_held_inserts_alike(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with writing(engine) as tx:
        buffered = BufferedTx(tx)
        for row in ROWS:
            await buffered.execute(ours.insert().values(**row))
            await tx.execute(theirs.insert().values(**row))
        await buffered.flush()
    assert await _read(engine, ours) == await _read(engine, theirs)


async def test_rows_naming_other_columns_are_written_whole(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with writing(engine) as tx:
        await insert_rows(tx, ours, [{"id": "f", "note": "有"}, {"id": "g"}, {"id": "h", "note": "再"}])
    assert [(r[0], r[7]) for r in await _read(engine, ours)] == [("f", "有"), ("g", ""), ("h", "再")]


async def test_many_rows_read_back_alike_copied_or_inserted(engine: AsyncEngine) -> None:
    """On PostgreSQL, COPY_FROM rows or more go by COPY: every column type reads back as an INSERT's."""
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    many = [{**ROWS[i % len(ROWS)], "id": f"r{i:04d}"} for i in range(COPY_FROM + 5)]
    async with writing(engine) as tx:
        await insert_rows(tx, ours, many)
        await tx.execute(theirs.insert(), many)
    got = await _read(engine, ours)
    assert len(got) == COPY_FROM + 5
    assert got == await _read(engine, theirs)
