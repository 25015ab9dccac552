"""The command path's plumbing: when the read models' batches give way to commands, and when not."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db import engine as db_engine
from libs.db.engine import make_engine, reading, writing
from libs.events.store import EventStore
from libs.runtime.nats_server import EmbeddedNats
from libs.web import idempotency
from libs.web.middleware import InFlight
from services.deputies.domain.deputy import DEPUTY
from services.deputies.events import DeputyTerminated
from tests.suggestions.conftest import TODAY, Actors, code, make_area, meta, submit
from tests.support.system import running_system
from tests.support.waiting import eventually

LONG = 3600.0  # a bound never reached in these tests: each returns because of what happened, not a clock


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_batch_goes_at_once_when_no_command_is_answered() -> None:
    await asyncio.wait_for(InFlight(gap=0).quiet(LONG), 10)


async def test_a_batch_waits_for_the_command_being_answered() -> None:
    inflight = InFlight(gap=0)
    inflight.enter()
    waiting = asyncio.create_task(inflight.quiet(LONG))
    await settle()
    assert not waiting.done()
    inflight.leave()
    await asyncio.wait_for(waiting, 10)


async def test_a_batch_waits_while_commands_keep_coming() -> None:
    """One answered a moment ago (within ``gap``): a client sending one after another."""
    inflight = InFlight(gap=LONG)
    inflight.enter()
    inflight.leave()
    waiting = asyncio.create_task(inflight.quiet(LONG))
    await settle()
    assert not waiting.done()
    waiting.cancel()


async def test_a_request_waiting_for_the_read_models_lets_the_batch_go() -> None:
    inflight = InFlight(gap=LONG)
    inflight.enter()
    waiting = asyncio.create_task(inflight.quiet(LONG))
    await settle()
    with inflight.reading():
        await asyncio.wait_for(waiting, 10)
    assert inflight.count == 1 and inflight.readers == 0
    # Already waiting when the batch arrives: it does not wait at all.
    with inflight.reading():
        await asyncio.wait_for(inflight.quiet(LONG), 10)


async def test_the_longest_wait_is_bounded() -> None:
    inflight = InFlight(gap=LONG)
    inflight.enter()
    await asyncio.wait_for(inflight.quiet(0), 10)


# -- idempotency records on SQLite: the plain connection and SQLAlchemy read each other's rows -------
def _values(key: str, status: int | None = 201) -> dict[str, Any]:
    return {
        "key": key,
        "request_hash": "h-" + key,
        "status": status,
        "content_type": "application/json",
        "position": "RENDA_SUGGESTIONS:7",
        "body": b'{"ok":true}',
        "created_at": datetime(2026, 12, 6, 9, 30, 1, 250_000, tzinfo=UTC),
    }


@pytest.fixture
async def requests_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'svc-requests.sqlite3'}")
    async with writing(engine) as tx:
        await tx.run_sync(idempotency.metadata.create_all)
    yield engine
    idempotency.release(engine)
    await engine.dispose()


async def _read(engine: AsyncEngine, key: str) -> dict[str, Any] | None:
    async with reading(engine) as conn:
        row = (await conn.execute(idempotency.FIND, {"k": key})).mappings().first()
    return dict(row) if row is not None else None


async def test_a_plain_record_reads_back_through_sqlalchemy_and_the_other_way(requests_engine: AsyncEngine) -> None:
    plain = idempotency._plain(requests_engine)
    assert plain is not None
    assert plain.record(_values("a"), replace=False)
    via_sqlalchemy = await _read(requests_engine, "a")
    assert via_sqlalchemy is not None
    assert via_sqlalchemy == {**_values("a"), "created_at": _values("a")["created_at"].replace(tzinfo=None)}
    async with writing(requests_engine) as tx:
        await tx.execute(idempotency.RECORD, _values("b"))
    assert plain.find("b") == via_sqlalchemy | {"key": "b", "request_hash": "h-b"}
    assert plain.find("nothing") is None


async def test_a_dead_claim_is_replaced_and_a_second_answer_is_not_stored(requests_engine: AsyncEngine) -> None:
    plain = idempotency._plain(requests_engine)
    assert plain is not None
    async with writing(requests_engine) as tx:
        await tx.execute(idempotency.RECORD, _values("k", status=None))
    assert plain.record(_values("k"), replace=True)
    assert (await _read(requests_engine, "k") or {})["status"] == 201
    # Another instance answered the same key first (same command id): the first answer stays.
    assert plain.record({**_values("k"), "status": 409}, replace=False)
    assert (await _read(requests_engine, "k") or {})["status"] == 201


async def test_a_busy_file_sends_the_record_to_the_general_path(requests_engine: AsyncEngine, tmp_path: Path) -> None:
    plain = idempotency._plain(requests_engine)
    assert plain is not None
    other = sqlite3.connect(tmp_path / "svc-requests.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writes
        assert not plain.record(_values("c"), replace=False)
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert plain.record(_values("c"), replace=False)
    assert plain.find("c") is not None


async def test_postgresql_and_memory_databases_take_the_general_path() -> None:
    memory = make_engine("sqlite+aiosqlite:///:memory:")
    postgres = make_engine("postgresql+asyncpg://renda@127.0.0.1:5432/nothing")
    try:
        assert idempotency._plain(memory) is None
        assert idempotency._plain(postgres) is None
    finally:
        await memory.dispose()
        await postgres.dispose()


async def test_the_wal_is_copied_into_the_file_by_a_thread_not_by_a_commit(
    requests_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "CHECKPOINT_EVERY", 40)
    plain = idempotency._plain(requests_engine)
    assert plain is not None
    file = tmp_path / "svc-requests.sqlite3"
    before = file.stat().st_size
    for i in range(39):
        assert plain.record({**_values(f"r{i}"), "body": b"x" * 2000}, replace=False)
    assert file.stat().st_size == before and plain.wal.copying is None  # all in the WAL still
    assert plain.record(_values("r39"), replace=False)
    copying = plain.wal.copying
    assert copying is not None
    await asyncio.wait_for(copying, 30)
    assert file.stat().st_size > before + 39 * 2000
    assert plain.wal.copying is None and plain.find("r0") is not None


# -- a submit's deputies: kept in memory until the reference data changes -----------------------------
async def test_a_deputy_ended_after_their_row_was_read_is_refused_on_the_next_submit(
    nats_server: EmbeddedNats, nc: NATS, settings_for: Any, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        a = await make_area(system, nc)
        who = Actors(system, a)
        await submit(system, a, who.lead)  # the lead's row is read (and kept)
        store = EventStore(nc)
        await store.execute(
            DEPUTY,
            a.lead,
            lambda _l: [
                DeputyTerminated(
                    deputy_id=a.lead,
                    reason="moved",
                    effective_on=TODAY - timedelta(days=1),
                    level="township",
                    congress=a.township,
                    township=a.township,
                )
            ],
            meta(),
        )

        async def refused() -> None:
            r = await system.client.post(
                "/api/suggestions",
                json={"title": "t", "content": "c", "township": a.township, "deputy_ids": [a.lead]},
                headers=who.staff,
            )
            assert r.status_code == 409, r.text  # 201 until this service's reference data has the event
            assert code(r) == "deputy_terminated", r.text

        await eventually(refused)


# -- the read models' writes: the WAL is copied into the file by a thread ------------------------------
async def test_read_model_commits_leave_the_wal_copy_to_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_engine, "CHECKPOINT_EVERY", 30)
    file = tmp_path / "svc.sqlite3"
    engine = make_engine(f"sqlite+aiosqlite:///{file}")
    table = Table("notes", MetaData(), Column("id", Integer, primary_key=True), Column("text", Text))
    try:
        async with writing(engine) as tx:
            await tx.run_sync(table.metadata.create_all)
        before = file.stat().st_size
        inline = db_engine._inline_of(engine)
        assert inline.wal is not None
        rows = 29 - inline.wal.commits
        for i in range(rows):
            async with writing(engine) as tx:
                await tx.execute(table.insert().values(id=i, text="x" * 200_000))  # > 1,000 WAL pages in all
        assert file.stat().st_size == before and inline.wal.copying is None  # all in the WAL still
        async with writing(engine) as tx:
            await tx.execute(table.insert().values(id=1000, text="y"))
        copying = inline.wal.copying
        assert copying is not None
        await asyncio.wait_for(copying, 30)
        assert file.stat().st_size > before + 20 * 200_000
        async with reading(engine) as conn:
            assert (await conn.execute(select(func.count()).select_from(table))).scalar() == rows + 1
    finally:
        await engine.dispose()
