"""Reads of suggestions, always scoped to the caller (lists filtered in SQL, never padded).

One suggestion and its history are read from its own events (one subject: always current); the
lists and the five-open list from the read models. Units in ``units.py``, opinions in
``opinions.py``, the rates in ``rates.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import Access
from libs.auth.actor import Principal
from libs.events.envelope import Envelope
from libs.reference import deputies as refdata
from libs.service.runtime import ServiceRuntime
from libs.web.errors import NotVisible
from libs.web.lists import decode_cursor
from services.suggestions.commands.context import is_street, scope_of
from services.suggestions.domain.state import OPEN, SUGGESTION, Suggestion
from services.suggestions.events import AttachmentAdded
from services.suggestions.projections import ref
from services.suggestions.projections.tables import (
    suggestion_deputies,
    suggestion_units,
    suggestions,
    utc_text,
)


async def suggestion_events(
    rt: ServiceRuntime, principal: Principal, suggestion_id: str
) -> tuple[Suggestion, list[Envelope]]:
    """The suggestion's events and state, if the caller may see it (else 404, like a missing one)."""
    envelopes = await rt.store.read(SUGGESTION, suggestion_id)
    state = SUGGESTION.replay(suggestion_id, [e.data for e in envelopes])
    if not envelopes:
        raise NotVisible()
    Access(principal).require_visible(scope_of(state, await is_street(rt, state.jurisdiction)))
    return state, envelopes


async def deputy_names(engine: AsyncEngine, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    async with engine.connect() as conn:
        return {k: v["name"] for k, v in (await refdata.deputies(conn, ref, ids)).items()}


async def jurisdiction_names(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(ref.jurisdictions.c.code, ref.jurisdictions.c.name))
        return {r.code: r.name for r in rows}


async def attachment(
    rt: ServiceRuntime, principal: Principal, suggestion_id: str, attachment_id: str
) -> AttachmentAdded:
    _, envelopes = await suggestion_events(rt, principal, suggestion_id)
    for env in envelopes:
        if isinstance(env.data, AttachmentAdded) and env.data.attachment_id == attachment_id:
            return env.data
    raise NotVisible()


# -- lists --------------------------------------------------------------------------------------
def _visible(access: Access, under: str | None) -> Any:
    s = suggestions.c
    return access.where(
        jurisdiction=s.jurisdiction,
        under=under,
        deputy=lambda d: exists().where(
            suggestion_deputies.c.suggestion_id == s.suggestion_id, suggestion_deputies.c.deputy_id == d
        ),
        lead_unit=lambda u: exists().where(
            suggestion_units.c.suggestion_id == s.suggestion_id, suggestion_units.c.unit_id == u
        ),
    )


def _after(cursor: str | None) -> Any:
    after = decode_cursor(cursor)
    if after is None:
        return None
    if not isinstance(after, list) or len(after) != 2:
        return false()
    s = suggestions.c
    return or_(s.submitted_at > after[0], and_(s.submitted_at == after[0], s.suggestion_id > after[1]))


async def list_suggestions(
    engine: AsyncEngine,
    principal: Principal,
    *,
    township: str | None,
    status: str | None,
    overdue: bool | None,
    unit_id: str | None,
    now: datetime,
    limit: int,
    cursor: str | None,
    revision: bool | None = None,
) -> list[dict[str, Any]]:
    """``limit + 1`` rows, oldest submission first; ``revision``: sent back (退回修改) and not revised, or not."""
    s = suggestions.c
    q = select(suggestions).where(_visible(Access(principal), township))
    if status:
        q = q.where(s.status == status)
    if overdue is not None:
        late = and_(s.status.in_(OPEN), s.due_at < utc_text(now))
        q = q.where(late if overdue else ~late)
    if revision is not None:
        q = q.where(s.revision_requested_at.is_not(None) if revision else s.revision_requested_at.is_(None))
    if unit_id:
        q = q.where(
            exists().where(suggestion_units.c.suggestion_id == s.suggestion_id, suggestion_units.c.unit_id == unit_id)
        )
    after = _after(cursor)
    if after is not None:
        q = q.where(after)
    q = q.order_by(s.submitted_at, s.suggestion_id).limit(limit + 1)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings()]


async def public_list(engine: AsyncEngine, under: str, limit: int, cursor: str | None) -> list[dict[str, Any]]:
    """五公开: suggestions from assignment on (never merely submitted); ``limit + 1`` rows."""
    s = suggestions.c
    q = select(suggestions).where(
        s.jurisdiction.startswith(under, autoescape=True),
        s.ever_assigned.is_(True),
        s.status != "submitted",
        s.lead_unit_id.is_not(None),
    )
    after = _after(cursor)
    if after is not None:
        q = q.where(after)
    q = q.order_by(s.submitted_at, s.suggestion_id).limit(limit + 1)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings()]
