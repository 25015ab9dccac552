"""Login lockout (等保 2.0 level 2): 5 failed logins within 15 minutes lock the account name.

While locked, a login is refused with 429, ``retry_after`` seconds and a zh-CN message, before
the password is even checked; a success clears the count.

Where the failures live — a table in the deputies service's database, not events. Reasons:
a failed login is not a fact of the directory (nothing about the account changed) and must
count for unknown user names too (else locking would reveal which names exist); an attacker
hammering the login must not grow the permanent, hash-chained, replicated event log; and the
database survives a restart (SQLite file embedded, PostgreSQL shared by every deputies
replica in production, so all replicas count together). Each failure and success is also
logged (structlog, with subject and source address) for the audit.

The decision is a pure function of the failure times and an injected clock.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.db.engine import writing
from libs.domain.errors import DomainError

LIMIT = 5
WINDOW = timedelta(minutes=15)
Clock = Callable[[], datetime]

metadata = MetaData()
failures = Table(
    "auth_login_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("source", String(64), nullable=False, default=""),
)


class LoginLocked(DomainError):
    code = "too_many_attempts"
    status = 429
    message = "登录失败次数过多，账号已临时锁定，请稍后再试。"

    def __init__(self, retry_after: timedelta) -> None:
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        minutes = math.ceil(seconds / 60)
        super().__init__(
            f"15 分钟内连续 {LIMIT} 次登录失败，账号已临时锁定，请 {minutes} 分钟后再试；"
            "如忘记密码，请联系管理员重置。",
            retry_after=seconds,
        )
        self.retry_after = seconds


def utcnow() -> datetime:
    return datetime.now(UTC)


def locked_for(
    failed_at: Sequence[datetime], now: datetime, *, limit: int = LIMIT, window: timedelta = WINDOW
) -> timedelta | None:
    """How long the account stays locked at ``now`` (None: not locked).

    Locked while at least ``limit`` failures lie within the last ``window``; it opens when the
    ``limit``-th most recent of them ages out of the window.
    """
    recent = sorted(t for t in failed_at if now - window < t <= now)
    if len(recent) < limit:
        return None
    return recent[-limit] + window - now


def key(username: str) -> str:
    return username.strip().lower()[:100]


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class LoginGuard:
    """Counts failed logins per account name in the service's database."""

    def __init__(
        self, engine: AsyncEngine, *, clock: Clock = utcnow, limit: int = LIMIT, window: timedelta = WINDOW
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.limit = limit
        self.window = window
        self._ready = False
        self._lock = asyncio.Lock()

    async def ensure(self) -> None:
        """Create the table once; concurrent first logins (or replicas) may race, and that is fine."""
        if self._ready:
            return
        async with self._lock:
            if self._ready:
                return
            try:
                async with self.engine.begin() as tx:
                    await tx.run_sync(metadata.create_all)
            except DBAPIError:
                async with self.engine.connect() as conn:  # another process created it meanwhile
                    await conn.execute(select(func.count()).select_from(failures))
            self._ready = True

    async def _recent(self, name: str, now: datetime) -> list[datetime]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(failures.c.at).where(failures.c.username == name, failures.c.at > now - self.window)
            )
            return [_aware(r[0]) for r in rows]

    async def locked_for(self, username: str) -> timedelta | None:
        await self.ensure()
        now = self.clock()
        return locked_for(await self._recent(key(username), now), now, limit=self.limit, window=self.window)

    async def check(self, username: str) -> None:
        """Raise ``LoginLocked`` while the account name is locked."""
        wait = await self.locked_for(username)
        if wait is not None:
            raise LoginLocked(wait)

    async def failed(self, username: str, source: str = "") -> timedelta | None:
        """Record a failure; returns the lock it causes (None when not locked yet)."""
        await self.ensure()
        now = self.clock()
        name = key(username)
        async with writing(self.engine) as tx:
            await tx.execute(delete(failures).where(failures.c.username == name, failures.c.at <= now - self.window))
            await tx.execute(failures.insert().values(username=name, at=now, source=source[:64]))
        return locked_for(await self._recent(name, now), now, limit=self.limit, window=self.window)

    async def succeeded(self, username: str) -> None:
        await self.ensure()
        async with writing(self.engine) as tx:
            await tx.execute(delete(failures).where(failures.c.username == key(username)))

    async def count(self, username: str) -> int:
        await self.ensure()
        now = self.clock()
        async with self.engine.connect() as conn:
            n = await conn.execute(
                select(func.count()).where(failures.c.username == key(username), failures.c.at > now - self.window)
            )
            return int(n.scalar_one())
