"""``Idempotency-Key``: the same key and body answer the same, and nothing is recorded twice.

``Nats-Msg-Id`` de-duplicates only within a two-minute window, so keys have their own
durable record in the service's database (on SQLite in a file of its own beside the read
models', so a request never waits behind a projection's batch): the request's hash and the
answer. The command id handed to the handler derives from the key, so even a crash between the
append and the record leaves the retry harmless (the store sees the command already applied).
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
import weakref
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import structlog
from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table, bindparam, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.auth.tokens import SESSION_COOKIE, InvalidToken, verify
from libs.db.engine import reading, writing
from libs.db.wal import WalCopier
from libs.web.errors import error_body

log = structlog.get_logger("web.idempotency")
metadata = MetaData()
records = Table(
    "idempotency_keys",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True),  # null while the first attempt runs
    Column("content_type", String(100), nullable=True),
    Column("position", String(200), nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
FIND = select(records).where(records.c.key == bindparam("k"))
RECORD = records.insert()
_COLUMNS = ("key", "request_hash", "status", "content_type", "position", "body", "created_at")
_FIND_SQL = f"SELECT {', '.join(_COLUMNS)} FROM idempotency_keys WHERE key = ?"
_RECORD_SQL = f"INSERT INTO idempotency_keys ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
_DELETE_SQL = "DELETE FROM idempotency_keys WHERE key = ?"
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime stores an instant on SQLite
CHECKPOINT_EVERY = 200  # records (a page or two each) between two copies of the WAL into the file


class _Plain:
    """The records of a SQLite file through one plain ``sqlite3`` connection, in the event loop's thread.

    A look-up takes ~10 µs there and a record ~50 µs, against ~100 µs and ~200 µs through
    SQLAlchemy's pool and execution context: every command pays both. Same table, same stored
    forms; when the file is busy (another process writes) the caller takes the general path.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")  # as libs/db/engine.py: WAL never corrupts
        self.conn.execute("PRAGMA busy_timeout=0")  # never block the event loop
        # The WAL is copied into the file (two fsyncs) by a thread, not by the commit that fills it:
        # done in the event loop's thread it held every request up for up to tens of ms.
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        self.wal = WalCopier(path, CHECKPOINT_EVERY)

    def find(self, key: str) -> dict[str, Any] | None:
        got = self.conn.execute(_FIND_SQL, (key,)).fetchone()
        if got is None:
            return None
        row = dict(zip(_COLUMNS, got, strict=True))
        row["created_at"] = datetime.fromisoformat(row["created_at"])
        return row

    def record(self, values: dict[str, Any], replace: bool) -> bool:
        """Store ``values`` (after deleting a dead claim); False when the file is busy."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        try:
            if replace:
                self.conn.execute(_DELETE_SQL, (values["key"],))
            stored = {**values, "created_at": values["created_at"].astimezone(UTC).strftime(_SQLITE_TIME)}
            self.conn.execute(_RECORD_SQL, tuple(stored[c] for c in _COLUMNS))
        except sqlite3.IntegrityError:
            self.conn.execute("ROLLBACK")  # another instance answered the same key first
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
            self.wal.committed()
        return True

    def close(self) -> None:
        self.conn.close()


_PLAIN: weakref.WeakKeyDictionary[Engine, _Plain | None] = weakref.WeakKeyDictionary()


def _plain(engine: AsyncEngine) -> _Plain | None:
    """The plain connection of a SQLite file engine; None for PostgreSQL or an in-memory database."""
    sync = engine.sync_engine
    if sync in _PLAIN:
        return _PLAIN[sync]
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    plain = _Plain(database) if database and database != ":memory:" and "mode=memory" not in database else None
    _PLAIN[sync] = plain
    return plain


def release(engine: AsyncEngine) -> None:
    """Close the plain connection of ``engine``, if one was opened (the service stops)."""
    plain = _PLAIN.pop(engine.sync_engine, None)
    if plain is not None:
        plain.close()


COMMAND_NS = uuid.UUID("0d7f5f0a-64c7-4f51-9a55-3f6b8f7d2b11")
IN_PROGRESS_FOR = timedelta(seconds=60)
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
UNRECORDED = "/api/auth/"  # logins and sessions: their answers carry tokens


def _subject(scope: Scope, signing_key: str) -> str | None:
    """The verified caller (bearer token or session cookie); None when there is none.

    Verified, not merely decoded: a stored answer must never be replayed to someone who forged
    another user's subject.
    """
    token = ""
    for k, v in scope["headers"]:
        if k == b"authorization":
            token = v.decode("latin-1").removeprefix("Bearer ").strip()
            break
        if k == b"cookie" and not token:
            for part in v.decode("latin-1").split(";"):
                name, _, value = part.strip().partition("=")
                if name == SESSION_COOKIE:
                    token = value
    if not token:
        return None
    try:
        return verify(token, signing_key)[0].subject
    except InvalidToken:
        return None


async def _reply(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]]) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


REUSED = orjson.dumps(
    error_body(
        "idempotency_key_reused",
        "这个 Idempotency-Key 已用于另一份不同的请求内容；请为新的请求使用新的 Key。",
        {"field": "Idempotency-Key"},
    )
)
IN_PROGRESS = orjson.dumps(
    error_body("idempotency_in_progress", "同一请求正在处理中，请稍后再试。", {"field": "Idempotency-Key"})
)


def _unbounded(scope: Scope, body: bytes) -> bytes:
    """A multipart body with its boundary replaced by a fixed one: a client draws a new boundary for
    every request, so the same form (a file resent after a double click) must hash the same."""
    ctype = next((v for k, v in scope["headers"] if k == b"content-type"), b"")
    if not ctype.lower().startswith(b"multipart/"):
        return body
    boundary = next((p.strip()[9:].strip(b'"') for p in ctype.split(b";") if p.strip().startswith(b"boundary=")), b"")
    return body.replace(b"--" + boundary, b"--renda-boundary") if boundary else body


def _final(status: int, body: bytes) -> bool:
    """Answers worth replaying; a lost race, a lockout or a server fault is retried for real."""
    if status >= 500 or status in (401, 429):
        return False
    return not (status == 409 and b"concurrency_conflict" in body)


class Idempotency:
    def __init__(self, app: ASGIApp, runtime_of: object) -> None:
        self.app = app
        self._runtime_of = runtime_of  # callable returning the service's runtime once started
        self._running: set[str] = set()  # keys whose first attempt runs in this process now

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        key_header = next((v for k, v in scope["headers"] if k == b"idempotency-key"), None)
        if key_header is None:
            scope.setdefault("state", {})["command_id"] = str(uuid.uuid4())
            await self.app(scope, receive, send)
            return
        runtime = self._runtime_of()  # type: ignore[operator]
        engine: AsyncEngine = runtime.requests_engine or runtime.engine
        subject = _subject(scope, runtime.signing_key)
        if subject is None or scope["path"].startswith(UNRECORDED):
            # Nobody to scope the key to (the route answers 401), or a login: never store tokens.
            scope.setdefault("state", {})["command_id"] = str(uuid.uuid4())
            await self.app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        scope_key = f"{subject}\n{scope['method']}\n{scope['path']}\n{key_header.decode('latin-1')}"
        key = hashlib.sha256(scope_key.encode()).hexdigest()
        request_hash = hashlib.sha256(scope.get("query_string", b"") + b"\n" + _unbounded(scope, body)).hexdigest()
        now = datetime.now(UTC)

        # One read on the usual path; the record is written once, with the answer. Two attempts
        # with the same key at once: the one in this process is told to wait (409); one in
        # another instance runs with the same command id, which the event store applies once.
        plain = _plain(engine)
        if plain is not None:
            row = plain.find(key)
        else:
            async with reading(engine) as conn:
                found = (await conn.execute(FIND, {"k": key})).mappings().first()
            row = dict(found) if found is not None else None
        if row is not None:
            if row["request_hash"] != request_hash:
                await _reply(send, 422, REUSED, "application/json", [])
                return
            if row["status"] is not None:
                extra = [(b"idempotent-replayed", b"true")]
                if row["position"]:
                    extra.append((b"renda-position", row["position"].encode()))
                await _reply(send, row["status"], row["body"] or b"", row["content_type"] or "application/json", extra)
                return
            # A claim left by an earlier version that never answered: run again (its command id
            # makes whatever it stored harmless) once it is old enough to be dead.
            created = row["created_at"] if row["created_at"].tzinfo else row["created_at"].replace(tzinfo=UTC)
            if now - created < IN_PROGRESS_FOR:
                await _reply(send, 409, IN_PROGRESS, "application/json", [(b"retry-after", b"1")])
                return
        if key in self._running:
            await _reply(send, 409, IN_PROGRESS, "application/json", [(b"retry-after", b"1")])
            return
        self._running.add(key)

        scope.setdefault("state", {})["command_id"] = str(uuid.uuid5(COMMAND_NS, key))
        sent = False

        async def replay_receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        status = 500
        content_type = "application/json"
        position = None
        out: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type, position
            if message["type"] == "http.response.start":
                status = message["status"]
                for k, v in message.get("headers", []):
                    if k == b"content-type":
                        content_type = v.decode("latin-1")
                    elif k == b"renda-position":
                        position = v.decode("latin-1")
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))
                if not message.get("more_body", False):
                    # Record before the client sees the answer, so an immediate retry replays it.
                    await settle()
            await send(message)

        settled = False

        async def settle() -> None:
            nonlocal settled
            settled = True
            self._running.discard(key)
            body_out = b"".join(out)
            if not _final(status, body_out):
                return  # nothing recorded: a retry runs for real
            record = {
                "key": key,
                "request_hash": request_hash,
                "status": status,
                "content_type": content_type,
                "position": position,
                "body": body_out,
                "created_at": now,
            }
            if plain is not None and plain.record(record, replace=row is not None):
                return
            try:
                async with writing(engine) as tx:
                    if row is not None:  # the old version's dead claim
                        await tx.execute(delete(records).where(records.c.key == key))
                    await tx.execute(RECORD, record)
            except IntegrityError:
                pass  # another instance answered the same key first, from the same command id

        try:
            await self.app(scope, replay_receive, capture)
        finally:
            if not settled:
                self._running.discard(key)  # the app failed before answering: a retry runs for real
