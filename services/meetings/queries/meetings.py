"""Reads of meetings: one meeting as its events stand, and the scoped list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import visible_where
from libs.auth.actor import Principal
from libs.domain.times import local
from libs.service.runtime import ServiceRuntime
from libs.web.lists import decode_cursor
from services.meetings import commands
from services.meetings.domain import meeting as mt
from services.meetings.domain.quorum import votes_needed_to_pass
from services.meetings.projections import from_text, invitees, meetings, utc_text


def _local(dt: Any) -> Any:
    return None if dt is None else local(dt)


async def meeting_detail(rt: ServiceRuntime, p: Principal, meeting_id: str) -> dict[str, Any]:
    """The meeting as its events stand now, with the live quorum and, once adjourned, the minutes."""
    m = (await rt.store.load(mt.MEETING, commands.require_id(meeting_id))).state
    commands.require_meeting_visible(p, m)
    members = None
    if m.status == "scheduled" and m.kind in mt.QUORUM_KINDS:
        async with rt.engine.connect() as conn:
            members = await commands.members_of(conn, m.kind, m.body, commands.meeting_date(m, rt.settings.tz))
    quorum = mt.quorum_of(m, members)
    return {
        "meeting_id": m.id,
        "kind": m.kind,
        "body": m.body,
        "group_id": m.group_id,
        "joint_inspection_id": m.joint_inspection_id,
        "title": m.title,
        "starts_at": _local(m.starts_at),
        "ends_at": _local(m.ends_at),
        "venue": m.venue,
        "agenda": [{"index": i, "title": a.title} for i, a in enumerate(m.agenda)],
        "invitee_ids": list(m.invitee_ids),
        "observers": list(m.observers),
        "status": m.status,
        "attendance": {s: list(m.with_status(s)) for s in ("present", "on_leave", "absent")},
        "quorum": {**quorum.as_dict(), "met": quorum.met if m.kind in mt.QUORUM_KINDS else None},
        "votes_needed_to_pass": votes_needed_to_pass(quorum.members) if m.kind in mt.VOTING_KINDS else None,
        "votes": [v.__dict__ for v in m.votes],
        "resolutions": [r.__dict__ for r in m.resolutions],
        "speeches": [s.__dict__ for s in m.speeches],
        "convened_at": _local(m.convened_at),
        "adjourned_at": _local(m.adjourned_at),
        "cancel_reason": m.cancel_reason or None,
        "minutes": dict(m.minutes) if m.minutes is not None else None,
        "minutes_sha256": m.minutes_sha256,
    }


def _deputy_invited(deputy_id: str) -> Any:
    return meetings.c.meeting_id.in_(select(invitees.c.meeting_id).where(invitees.c.person_id == deputy_id))


async def list_meetings(
    engine: AsyncEngine,
    p: Principal,
    *,
    body: str | None,
    year: int | None,
    kind: str | None,
    status: str | None,
    joint_inspection_id: str | None,
    limit: int,
    cursor: str | None,
) -> list[dict[str, Any]]:
    c = meetings.c
    q = select(meetings).where(visible_where(p, jurisdiction=c.body, under=body, deputy=_deputy_invited))
    if year is not None:
        q = q.where(c.year == year)
    if kind:
        q = q.where(c.kind == kind)
    if status:
        q = q.where(c.status == status)
    if joint_inspection_id:
        q = q.where(c.joint_inspection_id == joint_inspection_id)
    after = decode_cursor(cursor)
    if after is not None:
        starts, mid = after
        q = q.where(or_(c.starts_at > starts, and_(c.starts_at == starts, c.meeting_id > mid)))
    q = q.order_by(c.starts_at, c.meeting_id).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).mappings().all()
    return [_meeting_row(r) for r in rows]


def _meeting_row(r: Any) -> dict[str, Any]:
    out = dict(r)
    for k in ("starts_at", "ends_at", "convened_at", "adjourned_at"):
        out[k] = from_text(out[k])
    return out


def meeting_key(row: Any) -> list[str]:
    """The cursor: the stored (UTC text) start and the id."""
    starts = row.starts_at if isinstance(row.starts_at, str) else utc_text(row.starts_at)
    return [starts, row.meeting_id]
