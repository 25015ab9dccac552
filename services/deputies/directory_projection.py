"""The user directory as a read model (``GET /api/auth/users``) and as a fold of the events
(``renda users list``, which must work without a running service)."""

from __future__ import annotations

from typing import Any, ClassVar

from nats.aio.client import Client as NATS
from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.auth.access import visible_where
from libs.auth.actor import Principal
from libs.events.envelope import Envelope, decode
from libs.events.projection import Projection, read_stream
from libs.web.lists import decode_cursor
from services.deputies.domain.directory import USER, User
from services.deputies.events import RoleGranted, UserCreated, UserDisabled

directory_metadata = MetaData()
users = Table(
    "deputies_users",
    directory_metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(100), nullable=False, default=""),
    Column("role", String(20), nullable=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("deputy_id", String(100), nullable=True),
    Column("unit_id", String(100), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("role_since", DateTime(timezone=True), nullable=True),
)


class Directory(Projection):
    name: ClassVar[str] = "deputies-directory"
    contexts: ClassVar[tuple[str, ...]] = ("deputies",)
    metadata: ClassVar[MetaData] = directory_metadata
    handles = (UserCreated, RoleGranted, UserDisabled)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        match env.data:
            case UserCreated() as e:
                await tx.execute(
                    users.insert().values(
                        username=e.username,
                        display_name=e.display_name,
                        jurisdiction=env.jurisdiction,
                        disabled=False,
                        created_at=env.occurred_at,
                    )
                )
            case RoleGranted() as e:
                await tx.execute(
                    users.update()
                    .where(users.c.username == e.username)
                    .values(
                        role=e.role,
                        jurisdiction=e.jurisdiction,
                        deputy_id=e.deputy_id,
                        unit_id=e.unit_id,
                        role_since=env.occurred_at,
                    )
                )
            case UserDisabled() as e:
                await tx.execute(users.update().where(users.c.username == e.username).values(disabled=True))


async def users_under(
    engine: AsyncEngine, principal: Principal, under: str | None, role: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    """Accounts in the caller's jurisdiction (at or below ``under``), by username; ``limit + 1`` rows."""
    q = select(users).where(visible_where(principal, jurisdiction=users.c.jurisdiction, under=under))
    if role:
        q = q.where(users.c.role == role)
    after = decode_cursor(cursor)
    if after is not None:
        q = q.where(users.c.username > str(after))
    q = q.order_by(users.c.username).limit(limit + 1)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings()]


async def all_users(nc: NATS) -> list[User]:
    """Every account as its events say now (for the operator's ``renda users list``)."""
    events: dict[str, list[Any]] = {}
    async for batch in read_stream(nc, "deputies", subject_filter="renda.deputies.*.*.*.user.*"):
        for d in batch:
            env = decode(d.data)
            events.setdefault(env.aggregate_id, []).append(env.data)
    return [USER.replay(name, evs) for name, evs in sorted(events.items())]
