"""Reads of review opinions: staff over the body, or the unit they are sent to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import visible_where
from libs.auth.actor import Principal
from libs.web.errors import NotVisible
from libs.web.lists import decode_cursor
from services.meetings.commands import require_id
from services.meetings.projections import from_text, opinions, utc_text


def _opinion_row(r: Any, now: datetime) -> dict[str, Any]:
    out = dict(r)
    for k in ("sent_at", "due_at", "answered_at"):
        out[k] = from_text(out[k])
    out["reminded"] = list(out["reminded"] or [])
    out["overdue_for"] = (
        (now - out["due_at"]) if out["status"] == "sent" and out["due_at"] is not None and now > out["due_at"] else None
    )
    return out


async def review_opinion(engine: AsyncEngine, p: Principal, opinion_id: str, now: datetime) -> dict[str, Any]:
    o = opinions.c
    q = select(opinions).where(
        o.review_opinion_id == require_id(opinion_id), visible_where(p, jurisdiction=o.body, lead_unit=o.to_unit_id)
    )
    async with engine.connect() as conn:
        row = (await conn.execute(q)).mappings().first()
    if row is None:
        raise NotVisible()
    return _opinion_row(row, now)


async def list_review_opinions(
    engine: AsyncEngine,
    p: Principal,
    *,
    body: str | None,
    meeting_id: str | None,
    status: str | None,
    overdue: bool | None,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> list[dict[str, Any]]:
    o = opinions.c
    q = select(opinions).where(visible_where(p, jurisdiction=o.body, under=body, lead_unit=o.to_unit_id))
    if meeting_id:
        q = q.where(o.meeting_id == meeting_id)
    if status:
        q = q.where(o.status == status)
    if overdue is not None:
        q = q.where(o.overdue.is_(overdue))
    after = decode_cursor(cursor)
    if after is not None:
        due, rid = after
        q = q.where(or_(o.due_at > due, and_(o.due_at == due, o.review_opinion_id > rid)))
    q = q.order_by(o.due_at, o.review_opinion_id).limit(limit + 1)
    async with engine.connect() as conn:
        return [_opinion_row(r, now) for r in (await conn.execute(q)).mappings().all()]


def opinion_key(row: Any) -> list[str]:
    """The cursor: the stored (UTC text) due time and the id."""
    return [utc_text(row.due_at), row.review_opinion_id]
