"""SQLite writes of a process: in the event loop's thread, one at a time, and patient with other processes.

SQLite only (the in-thread path exists for it); PostgreSQL writes go through the async driver.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from libs.db.engine import InlineTx, make_engine, reading, writing


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "w.sqlite3"


async def test_writes_of_one_process_queue_and_all_land(db: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with writing(engine) as tx:
            await tx.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))

        async def write(k: int) -> None:
            async with writing(engine) as tx:
                assert isinstance(tx, InlineTx)
                await tx.execute(text("INSERT INTO t (k, v) VALUES (:k, 0)"), {"k": k})
                await asyncio.sleep(0)  # another writer gets the loop here, and must wait its turn
                await tx.execute(text("UPDATE t SET v = v + 1 WHERE k = :k"), {"k": k})

        await asyncio.gather(*(write(k) for k in range(50)))
        async with reading(engine) as conn:
            assert (await conn.execute(text("SELECT count(*), sum(v) FROM t"))).one() == (50, 50)
    finally:
        await engine.dispose()


async def test_a_failed_write_leaves_nothing(db: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with writing(engine) as tx:
            await tx.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        with pytest.raises(RuntimeError):
            async with writing(engine) as tx:
                await tx.execute(text("INSERT INTO t (k) VALUES (1)"))
                raise RuntimeError("the batch fails after its first statement")
        async with writing(engine) as tx:  # the lock and the file are free again
            await tx.execute(text("INSERT INTO t (k) VALUES (2)"))
        async with engine.connect() as conn:
            assert [r[0] for r in await conn.execute(text("SELECT k FROM t"))] == [2]
    finally:
        await engine.dispose()


async def test_another_process_holding_the_file_is_waited_for_off_the_event_loop(db: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with writing(engine) as tx:
            await tx.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY)"))
        other = sqlite3.connect(db, isolation_level=None)  # stands for another process
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (k) VALUES (1)")

        async def ours() -> str:
            async with writing(engine) as tx:
                kind = type(tx).__name__
                await tx.execute(text("INSERT INTO t (k) VALUES (2)"))
            return kind

        task = asyncio.create_task(ours())
        ticks = 0
        while not task.done() and ticks < 20:  # the loop keeps turning while ours waits
            await asyncio.sleep(0.01)
            ticks += 1
        assert not task.done() and ticks == 20
        other.execute("COMMIT")
        other.close()
        assert await asyncio.wait_for(task, 10) == "AsyncConnection"  # the async driver waited
        async with engine.connect() as conn:
            assert sorted(r[0] for r in await conn.execute(text("SELECT k FROM t"))) == [1, 2]
    finally:
        await engine.dispose()


async def test_a_log_past_its_limit_is_emptied_while_commits_keep_coming(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild commits without pause: a PASSIVE copy never lets the log start over (22 GB at a city's scale)."""
    from libs.db import engine as engine_module
    from libs.db import wal

    monkeypatch.setattr(wal, "LIMIT", 256 * 1024)
    monkeypatch.setattr(engine_module, "CHECKPOINT_EVERY", 10**9)  # only the limit starts a copy
    engine = make_engine(f"sqlite+aiosqlite:///{db}")
    try:
        async with writing(engine) as tx:
            await tx.execute(text("CREATE TABLE t (k INTEGER PRIMARY KEY, pad TEXT NOT NULL)"))
        largest = 0
        for _ in range(300):  # ~10 KB of rows a commit: 3 MB in all, 12 times the limit
            async with writing(engine) as tx:
                await tx.execute(text("INSERT INTO t (pad) VALUES (:p)"), [{"p": "页" * 160}] * 20)
            largest = max(largest, wal.log_size(str(db)))
            await asyncio.sleep(0.001)  # the copy's thread and its callback get their turn
        assert largest < 4 * wal.LIMIT, largest
        async with reading(engine) as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 6000
    finally:
        await engine.dispose()
