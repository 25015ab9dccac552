"""Reads of organizer units (承办单位), scoped to the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import Access
from libs.auth.actor import Principal
from libs.web.lists import decode_cursor
from services.suggestions.projections.tables import units


async def unit_names(engine: AsyncEngine, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    async with engine.connect() as conn:
        rows = await conn.execute(select(units.c.unit_id, units.c.name).where(units.c.unit_id.in_(ids)))
        return {r.unit_id: r.name for r in rows}


async def units_under(
    engine: AsyncEngine, principal: Principal, under: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    prefix = Access(principal).prefix(under)
    if prefix is None:
        return []
    q = select(units).where(units.c.jurisdiction.startswith(prefix, autoescape=True))
    after = decode_cursor(cursor)
    if after is not None:
        q = q.where(units.c.unit_id > str(after))
    q = q.order_by(units.c.unit_id).limit(limit + 1)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings()]
