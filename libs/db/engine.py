"""Async SQLAlchemy engines for read models: SQLite (WAL, the default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from libs.db.wal import WalCopier

T = TypeVar("T")


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def companion_url(url: str, name: str) -> str:
    """A second SQLite file beside ``url``'s (``x.sqlite3`` → ``x-<name>.sqlite3``); other URLs unchanged.

    SQLite has one writer per file: data written on the request path (idempotency records) goes
    to its own file, so a request never queues behind a read-model batch.
    """
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return url
    path = Path(u.database)
    return u.set(database=str(path.with_name(f"{path.stem}-{name}{path.suffix}"))).render_as_string(hide_password=False)


PRIVATE_FILE = 0o600  # read models hold phone numbers and names: the service's user only
PRIVATE_DIR = 0o700


def keep_private(path: Path) -> None:
    """``path`` and SQLite's companions (-wal, -shm, -journal) readable by the owner only."""
    for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(FileNotFoundError):
            if p.stat().st_mode & 0o077:
                p.chmod(PRIVATE_FILE)


def make_engine(url: str, **kw: Any) -> AsyncEngine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        file = Path(u.database) if u.database and u.database != ":memory:" else None
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
            file.parent.chmod(PRIVATE_DIR)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            if file is not None:
                file.touch(mode=PRIVATE_FILE, exist_ok=True)
                keep_private(file)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode never corrupts; a power cut may lose the last commits,
            # which replay from JetStream restores (the checkpoint is in the same commit).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
            if file is not None:
                keep_private(file)  # the -wal and -shm files exist from here on

        return engine
    kw.setdefault("pool_size", 10)
    kw.setdefault("max_overflow", 20)
    kw.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kw)


class InlineTx:
    """What a write transaction uses of ``AsyncConnection`` (``execute``, ``run_sync``), done at once.

    On SQLite every statement through aiosqlite is a hand-off to its thread and back, ~1-2 ms
    under load; the statements of a read-model batch or an idempotency record take microseconds
    in SQLite itself. So writes run on a plain sqlite3 connection in the event loop's thread.
    """

    def __init__(self, conn: Connection) -> None:
        self.connection = conn

    async def execute(self, statement: Any, parameters: Any = None, **kw: Any) -> Any:
        return self.connection.execute(statement, parameters, **kw)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        return fn(self.connection, *args, **kw)


@dataclass
class _Inline:
    lock: asyncio.Lock  # this process's writers, one at a time
    writer: Engine  # BEGIN IMMEDIATE on every transaction
    reader: Engine  # autocommit: each statement sees the latest commit (WAL: never waits for writers)
    wal: WalCopier | None = None  # a file's log copied by a thread (libs/db/wal.py)


CHECKPOINT_EVERY = 100  # write transactions between two copies of the WAL into the file
# The writer's page cache (SQLite's default is 2 MiB). Read models are keyed by random ids: with
# 2 MiB, inserting a county's duty activities missed the cache on nearly every row, and its replay
# spent 38 s of 44 s of SQL in two INSERTs; with 32 MiB, 10 s. Rebuilds now build such tables'
# secondary indexes last (Projection.deferred_indexes), and 8, 16 or 32 MiB replay a county alike;
# 16 MiB leaves room for the primary keys of a city. Pages are taken as used: a small database
# never holds more than its size. (bench.replay_scale)
WRITER_CACHE_KIB = 16 * 1024


_INLINE: weakref.WeakKeyDictionary[Any, _Inline] = weakref.WeakKeyDictionary()


def _inline_engine(engine: AsyncEngine, *, immediate: bool) -> Engine:
    inline = create_engine(
        engine.url.set(drivername="sqlite+pysqlite"), connect_args={"timeout": 0, "check_same_thread": False}
    )

    database = engine.url.database
    file = Path(database) if database and database != ":memory:" else None

    @event.listens_for(inline, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        if file is not None:
            keep_private(file)
        dbapi_conn.isolation_level = None  # the driver's own BEGIN handling off
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Never block the event loop: a writer falls back to the async driver instead; a reader
        # (WAL readers wait only while a crashed writer's log is recovered) waits a moment.
        cur.execute(f"PRAGMA busy_timeout={0 if immediate else 200}")
        cur.execute("PRAGMA foreign_keys=ON")
        if immediate:
            cur.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")
        if immediate and file is not None:
            # The WAL is copied into the file by a thread (``_copy_wal``), not by the commit that
            # fills it: its fsyncs held the event loop, and every request, for up to tens of ms.
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    if immediate:

        @event.listens_for(inline, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, or "locked" at once

    return inline


def _inline_of(engine: AsyncEngine) -> _Inline:
    held = _INLINE.get(engine.sync_engine)
    if held is None:
        file = engine.url.database
        wal = WalCopier(file, CHECKPOINT_EVERY) if file and file != ":memory:" else None
        held = _INLINE[engine.sync_engine] = _Inline(
            asyncio.Lock(), _inline_engine(engine, immediate=True), _inline_engine(engine, immediate=False), wal
        )
    return held


@contextlib.asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for a few quick reads on the request path; on SQLite, done in this thread.

    For point look-ups (an idempotency key, a reference row): on SQLite they take microseconds,
    the hand-off to aiosqlite's thread and back a millisecond or more. Long queries (lists,
    reports) keep ``engine.connect()``, off the event loop.
    """
    if engine.dialect.name != "sqlite":
        async with engine.connect() as conn:
            yield conn
        return
    plain = _inline_of(engine).reader.connect()
    try:
        yield cast(AsyncConnection, InlineTx(plain))  # the part of AsyncConnection a reader uses
    finally:
        plain.close()


@contextlib.asynccontextmanager
async def writing(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A write transaction; on SQLite, one at a time per process, in the event loop's thread.

    SQLite takes one writer at a time; a second one waits in SQLite's busy handler, which sleeps
    in steps of up to 100 ms. The writers of this process queue on an asyncio lock instead, and
    each takes the write lock up front (``BEGIN IMMEDIATE``) on a plain connection (``InlineTx``).
    When another process holds the file, it falls back to the async driver, which waits in its
    own thread. Never nest: the lock is not re-entrant. PostgreSQL takes row locks and needs
    neither.
    """
    if engine.dialect.name != "sqlite":
        async with engine.begin() as tx:
            yield tx
        return
    inline = _inline_of(engine)
    async with inline.lock:
        conn = inline.writer.connect()
        try:
            conn.begin()
        except OperationalError:
            conn.close()  # another process writes: wait for it off the event loop
            async with engine.begin() as tx:
                yield tx
            return
        try:
            yield InlineTx(conn)  # type: ignore[misc]
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
            if inline.wal is not None:
                inline.wal.committed()
        finally:
            conn.close()
