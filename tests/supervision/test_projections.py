"""The supervision projections write a batch in bulk (``apply_many``) with the same result as
applying its events one by one, on SQLite and PostgreSQL, over the real events of the fixture
county (plus an extension, a hand-back (退办) with re-assignment, a kept promise and a merge)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import make_engine
from libs.events.envelope import Envelope, from_body
from libs.events.projection import Projection
from libs.events.projection.consumer import read_stream
from libs.runtime.nats_server import EmbeddedNats
from services.supervision.app import projections
from tests.suggestions.conftest import TODAY, submit
from tests.supervision.fixture import build, post
from tests.support.postgres import Postgres
from tests.support.system import running_system


async def envelopes(nc: Any, context: str, city: str, county: str) -> list[Envelope]:
    out = []
    async for batch in read_stream(nc, context, subject_filter=f"renda.{context}.{city}.{county}.>"):
        for d in batch:
            out.append(from_body(orjson.loads(d.data), stream_seq=d.seq, subject=d.subject))
    return out


async def dump(engine: AsyncEngine, ps: list[Projection]) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    async with engine.connect() as conn:
        for p in ps:
            for table in p.metadata.sorted_tables:
                rows = (await conn.execute(select(table))).all()
                out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


async def both_ways(
    settings: Any, events: dict[str, list[Envelope]], one_url: str, bulk_url: str, batch: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The supervision read models from ``events``: one by one into ``one_url``, in bulk into
    ``bulk_url`` (batches of ``batch``, 0: all at once); both dumped."""
    dumps = []
    for url, bulk in ((one_url, False), (bulk_url, True)):
        ps = [p for p in projections(settings) if p.name.startswith("supervision-")]
        engine = make_engine(url)
        try:
            async with engine.begin() as tx:
                for p in ps:
                    await tx.run_sync(p.metadata.create_all)
            for p in ps:
                mine = [e for ctx in p.contexts for e in events[ctx] if p.wants() is None or e.type in p.wants()]
                size = batch or max(1, len(mine))
                async with engine.begin() as tx:
                    if bulk:
                        for i in range(0, len(mine), size):
                            await p.apply_many(mine[i : i + size], tx)
                    else:
                        for e in mine:
                            await p.apply(e, tx)
            dumps.append(await dump(engine, ps))
        finally:
            await engine.dispose()
    return dumps[0], dumps[1]


@contextlib.asynccontextmanager
async def two_databases(database_url: str, tmp_path: Path, pg: Any) -> AsyncIterator[tuple[str, str]]:
    if database_url.startswith("sqlite"):
        yield database_url, f"sqlite+aiosqlite:///{tmp_path / 'bulk.sqlite3'}"
        return
    server: Postgres = pg()
    with server.database() as other:
        yield database_url, other


async def test_a_batch_in_bulk_equals_one_by_one(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str, tmp_path: Path, request
) -> None:
    settings = settings_for(
        nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'system.sqlite3'}", reply_deadline_complex="PT1S"
    )
    async with running_system(settings) as system:
        c = await build(system, nc)
        a, who, pos = c.a, c.who, c.positions
        due = (TODAY + timedelta(days=90)).isoformat() + "T17:00:00+08:00"
        await post(system, f"/api/suggestions/{c.s4}/extension", {"new_due_at": due, "reason": "复杂"}, who.staff, pos)
        s5 = await submit(system, a, who.staff, deputy_ids=[a.lead], title="退办再交办")
        assign = {"lead_unit_id": a.unit, "responsible_leader": "陈副镇长"}
        await post(system, f"/api/suggestions/{s5}/assign", assign, who.staff, pos)
        await post(system, f"/api/suggestions/{s5}/return", {"reason": "不属本单位职责"}, who.unit, pos)
        await post(system, f"/api/suggestions/{s5}/assign", {**assign, "lead_unit_id": a.co_unit}, who.staff, pos)
        await post(
            system,
            f"/api/suggestions/{c.s2}/implementation",
            {"carried_out_on": TODAY.isoformat(), "summary": "已施工"},
            who.unit,
            pos,
        )
        s6 = await submit(system, a, who.staff, deputy_ids=[a.co], title="同一件事")
        await post(system, f"/api/suggestions/{s6}/merge", {"into_id": c.s3, "reason": "同一事项"}, who.staff, pos)
    city, county = a.city, a.county
    events = {ctx: await envelopes(nc, ctx, city, county) for ctx in ("deputies", "suggestions", "meetings")}
    kinds = {e.type for e in events["suggestions"]}
    assert {"DeadlineExtended", "SuggestionReturned", "PromiseCarriedOut", "CoSubmittersAdded"} <= kinds, kinds

    async with two_databases(database_url, tmp_path, lambda: request.getfixturevalue("pg")) as (one_url, bulk_url):
        one, many = await both_ways(settings, events, one_url, bulk_url)
        assert one == many
        assert len(one["supervision_history"]) > 20 and one["supervision_known"]
        withdrawn = [r for r in one["supervision_rounds"] if r[0] == repr(s5)]
        assert len(withdrawn) == 2  # the handed-back round and the new one


async def test_the_seeded_history_in_bulk_equals_one_by_one(
    js, settings_for, fresh_nats: EmbeddedNats, database_url: str, tmp_path: Path, request
) -> None:
    """renda seed's tiny history (meetings with attendance, duty records, joint inspections, every
    suggestion path), in batches of 97 as a consumer would deliver them."""
    from renda.seed import seed

    settings = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}")
    await seed(js, settings, scale="tiny")
    events: dict[str, list[Envelope]] = {}
    for ctx in ("deputies", "suggestions", "meetings"):
        events[ctx] = []
        async for batch in read_stream(js, ctx):
            events[ctx] += [from_body(orjson.loads(d.data), stream_seq=d.seq, subject=d.subject) for d in batch]
    kinds = {e.type for es in events.values() for e in es}
    assert {"AttendanceRecorded", "MeetingAdjourned", "DutyActivityRecorded", "SuggestionReplied"} <= kinds, kinds
    async with two_databases(database_url, tmp_path, lambda: request.getfixturevalue("pg")) as (one_url, bulk_url):
        one, many = await both_ways(settings, events, one_url, bulk_url, batch=97)
        assert one == many
        assert one["supervision_presence"] and one["supervision_activities"] and one["supervision_meetings"]
