"""The notify consumer queues its reference writes within a batch (a run of one statement goes as one
executemany) and sends them before any read: a seeded history in batches of 97 builds the same
reference tables, inbox and outbox as the same events one at a time, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import make_engine
from libs.events.envelope import Envelope, from_body
from libs.events.projection.consumer import read_stream
from services.deputies.events import RoleGranted, UserCreated
from services.notify.config import NotifySettings
from services.notify.consumer import NotifyConsumer
from tests.notify.support import Feeder
from tests.supervision.test_projections import two_databases

# What the consumer's clock makes of a row, not the events: left out of the comparison.
NOW_COLUMNS = {"created_at", "next_attempt_at"}


async def _dump(engine: AsyncEngine, c: NotifyConsumer) -> dict[str, list[tuple[str, ...]]]:
    out = {}
    async with engine.connect() as conn:
        for md in (c.metadata, c.kept):
            assert md is not None
            for table in md.sorted_tables:
                cols = [col for col in table.c if not (table.name == "notify_outbox" and col.name in NOW_COLUMNS)]
                rows = (await conn.execute(select(*cols))).all()
                out[table.name] = sorted(tuple(map(repr, r)) for r in rows)
    return out


async def _build(url: str, envs: list[Envelope], size: int) -> dict[str, list[tuple[str, ...]]]:
    # Every event plans its notices (no age limit), so the batch reads between its writes.
    ns = NotifySettings(notify_max_age_seconds=0)
    c = NotifyConsumer(ZoneInfo("Asia/Shanghai"), ns, smtp=True, sms=True)
    engine = make_engine(url)
    try:
        async with engine.begin() as tx:
            await tx.run_sync(c.metadata.create_all)
        mine = [e for e in envs if e.type in c.handles]
        async with engine.begin() as tx:
            for i in range(0, len(mine), size):
                await c.apply_many(mine[i : i + size], tx)
        return await _dump(engine, c)
    finally:
        await engine.dispose()


async def _events(js: Any) -> list[Envelope]:
    envs: list[Envelope] = []
    for ctx in NotifyConsumer.contexts:
        async for batch in read_stream(js, ctx):
            envs += [from_body(orjson.loads(d.data), stream_seq=d.seq, subject=d.subject) for d in batch]
    return envs


async def test_a_seeded_history_in_batches_equals_one_event_at_a_time(
    js: Any, settings_for: Any, fresh_nats: Any, database_url: str, tmp_path: Path, request: Any
) -> None:
    from renda.seed import seed

    settings = settings_for(fresh_nats.url, f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}")
    await seed(js, settings, scale="tiny")
    envs = await _events(js)
    # Users (the seed has none): a unit's organizer and its township's staff, known from the start.
    unit = next(e.data for e in envs if e.type == "OrganizerUnitRegistered")
    first = min(e.occurred_at for e in envs) - timedelta(days=1)
    feed = Feeder(js)
    for name, role, ids in (("organizer1", "organizer", {"unit_id": unit.unit_id}), ("staff1", "township_staff", {})):
        created = UserCreated(username=name, email=f"{name}@example.test")
        granted = RoleGranted(username=name, role=role, jurisdiction=unit.jurisdiction, **ids)
        await feed.append("deputies", "user", name, unit.jurisdiction, created, granted, at=first)
    envs = await _events(js)
    envs.sort(key=lambda e: e.occurred_at)  # the three streams interleaved, as a consumer may see them
    kinds = {e.type for e in envs}
    assert {"DeputyRegistered", "SuggestionAssigned", "CoSubmittersAdded", "SatisfactionEvaluated"} <= kinds, kinds
    assert {"OrganizerUnitRegistered", "MeetingScheduled", "UserCreated"} <= kinds, kinds

    async with two_databases(database_url, tmp_path, lambda: request.getfixturevalue("pg")) as (one_url, bulk_url):
        one = await _build(one_url, envs, 1)
        many = await _build(bulk_url, envs, 97)
    assert one == many
    assert one["notify_suggestions"] and one["notify_units"] and one["notify_users"]
    assert one["notify_inbox"] and one["notify_outbox"]
    # A co-submitter added later is on the row: the read before that update saw the queued insert.
    rows = {r[0]: r[3] for r in one["notify_suggestions"]}  # suggestion_id → deputy_ids
    added = [e.data for e in envs if e.type == "CoSubmittersAdded"]
    assert all(repr(i) in rows[repr(d.suggestion_id)] for d in added for i in d.deputy_ids), added
