"""Async SQLAlchemy engines for read models: SQLite (WAL, the default) or PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

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


def make_engine(url: str, **kw: Any) -> AsyncEngine:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kw)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode never corrupts; a power cut may lose the last commits,
            # which replay from JetStream restores (the checkpoint is in the same commit).
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

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


_WRITERS: weakref.WeakKeyDictionary[Any, tuple[asyncio.Lock, Engine]] = weakref.WeakKeyDictionary()


def _writer_of(engine: AsyncEngine) -> tuple[asyncio.Lock, Engine]:
    held = _WRITERS.get(engine.sync_engine)
    if held is None:
        url = engine.url.set(drivername="sqlite+pysqlite")
        inline = create_engine(url, connect_args={"timeout": 0, "check_same_thread": False})

        @event.listens_for(inline, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # the driver's own BEGIN handling off: ours below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=0")  # never block the event loop: fall back instead
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(inline, "begin")
        def _begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, or "locked" at once

        held = _WRITERS[engine.sync_engine] = (asyncio.Lock(), inline)
    return held


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
    lock, inline = _writer_of(engine)
    async with lock:
        conn = inline.connect()
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
        finally:
            conn.close()
