"""Reads of the user directory: the accounts a member of staff may list, and every account as its
events say now (``renda users list``, which must work without a running service)."""

from __future__ import annotations

from typing import Any

from nats.aio.client import Client as NATS
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import visible_where
from libs.auth.actor import Principal
from libs.events import jetstream as jsapi
from libs.events.envelope import decode
from libs.events.subjects import any_jurisdiction_subject, stream_name
from libs.web.lists import decode_cursor
from services.deputies.domain.directory import USER, User
from services.deputies.projections.directory import users


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
    one = any_jurisdiction_subject("deputies", USER.name, "any")
    stream, subject = stream_name("deputies"), one.rsplit(".", 1)[0] + ".*"  # every user aggregate
    seq = 1
    while (m := await jsapi.direct_get_next(nc, stream, subject, seq)) is not None:
        env = decode(m.data, stream_seq=m.seq, subject=m.subject)
        events.setdefault(env.aggregate_id, []).append(env.data)
        seq = m.seq + 1
    return [USER.replay(name, evs) for name, evs in sorted(events.items())]
