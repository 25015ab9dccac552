"""Times through this context's read models: what goes in with an offset comes out the same
moment, aware, and is answered with the zone's offset — years 1949…2076, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import make_engine
from libs.domain.times import local_iso
from services.deputies.projections.columns import Instant

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the contract's default RENDA_TIMEZONE
ENGINES: dict[str, tuple[AsyncEngine, Table]] = {}
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(min_value=datetime(1949, 1, 2), max_value=datetime(2076, 12, 30), timezones=offsets)


async def table_on(url: str) -> tuple[AsyncEngine, Table]:
    if url not in ENGINES:
        table = Table(
            f"deputies_test_instants_{uuid.uuid4().hex[:8]}",
            MetaData(),
            Column("n", Integer, primary_key=True),
            Column("at", Instant()),
        )
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
        ENGINES[url] = (engine, table)
    return ENGINES[url]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moment=moments)
async def test_a_moment_comes_back_the_same_and_is_answered_in_the_zone(moment: datetime, database_url: str) -> None:
    engine, table = await table_on(database_url)
    async with engine.begin() as conn:
        n = (await conn.execute(table.insert().values(at=moment))).inserted_primary_key[0]
    async with engine.connect() as conn:
        back = (await conn.execute(select(table.c.at).where(table.c.n == n))).scalar_one()
    assert back.tzinfo is not None and back == moment
    answered = local_iso(back)
    assert answered is not None
    # the zone's offset at that moment: +08:00 (China kept summer time 1986–1991: +09:00 then)
    assert datetime.fromisoformat(answered).utcoffset() == moment.astimezone(SHANGHAI).utcoffset()
    assert datetime.fromisoformat(answered) == moment.astimezone(UTC)
