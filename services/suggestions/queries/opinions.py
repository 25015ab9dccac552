"""Reads of constituents' opinions (群众意见), scoped to the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import Access
from libs.auth.actor import Principal
from libs.web.lists import decode_cursor
from services.suggestions.projections.tables import opinions


async def opinions_under(
    engine: AsyncEngine, principal: Principal, township: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    o = opinions.c
    q = select(opinions).where(Access(principal).where(jurisdiction=o.jurisdiction, under=township, deputy=o.deputy_id))
    after = decode_cursor(cursor)
    if after is not None:
        q = q.where(o.opinion_id > str(after))
    q = q.order_by(o.opinion_id).limit(limit + 1)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings()]
