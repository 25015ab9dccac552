"""Reads of the deputies context, always scoped to the caller's jurisdiction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.actor import Principal
from libs.web.lists import decode_cursor
from services.deputies.projections import jurisdictions


async def jurisdictions_under(
    engine: AsyncEngine, principal: Principal, under: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    """The tree at or below ``under``, never outside the caller's prefix; ``limit + 1`` rows."""
    scope = principal.jurisdiction
    if under and under.startswith(scope):
        scope = under
    elif under and not scope.startswith(under):
        return []  # a foreign prefix: nothing, not even a hint that it exists
    after = decode_cursor(cursor)
    q = select(jurisdictions).where(jurisdictions.c.code.startswith(scope, autoescape=True))
    if after is not None:
        q = q.where(jurisdictions.c.code > str(after))
    q = q.order_by(jurisdictions.c.code).limit(limit + 1)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings()]
