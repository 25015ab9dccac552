"""Reads of the meetings context, always scoped to the caller (foreign records: 404, never listed)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import prefix_for, visible_where
from libs.auth.actor import Principal
from libs.figures import compliance as cp
from libs.reference import deputies as refdata
from libs.service.runtime import ServiceRuntime
from libs.web.errors import NotVisible
from libs.web.lists import decode_cursor
from services.meetings import commands
from services.meetings.domain import meeting as mt
from services.meetings.domain.quorum import votes_needed_to_pass
from services.meetings.projections import (
    from_text,
    invitees,
    joint,
    joint_findings,
    joint_opinions,
    joint_suggestions,
    joint_townships,
    meetings,
    opinions,
    ref,
)


# -- one meeting -----------------------------------------------------------------------------------
async def meeting_detail(rt: ServiceRuntime, p: Principal, meeting_id: str) -> dict[str, Any]:
    """The meeting as its events stand now, with the live quorum and, once adjourned, the minutes."""
    m = (await rt.store.load(mt.MEETING, meeting_id)).state
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
        "starts_at": m.starts_at,
        "ends_at": m.ends_at,
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
        "convened_at": m.convened_at,
        "adjourned_at": m.adjourned_at,
        "cancel_reason": m.cancel_reason or None,
        "minutes": dict(m.minutes) if m.minutes is not None else None,
        "minutes_sha256": m.minutes_sha256,
    }


# -- lists -------------------------------------------------------------------------------------------
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
    starts = row.starts_at if isinstance(row.starts_at, str) else row.starts_at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return [starts, row.meeting_id]


# -- review opinions ---------------------------------------------------------------------------------
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
        o.review_opinion_id == opinion_id, visible_where(p, jurisdiction=o.body, lead_unit=o.to_unit_id)
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


# -- joint inspections -------------------------------------------------------------------------------
def _joint_scope(p: Principal, county: str, townships: list[str]) -> list[str] | None:
    """The townships of a joint inspection the caller may see (None: not the inspection at all)."""
    if not p.is_staff:
        return None
    if p.sees(county):
        return townships
    mine = [t for t in townships if p.sees(t)]
    return mine or None


async def joint_progress(engine: AsyncEngine, p: Principal, joint_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        head = (await conn.execute(select(joint).where(joint.c.joint_inspection_id == joint_id))).mappings().first()
        if head is None:
            raise NotVisible()
        rows = (
            (
                await conn.execute(
                    select(joint_townships)
                    .where(joint_townships.c.joint_inspection_id == joint_id)
                    .order_by(joint_townships.c.position)
                )
            )
            .mappings()
            .all()
        )
        shown = _joint_scope(p, head["county"], [r["township"] for r in rows])
        if shown is None:
            raise NotVisible()
        names = {
            r.code: (r.name, r.kind)
            for r in await conn.execute(select(ref.jurisdictions).where(ref.jurisdictions.c.code.in_(shown)))
        }
        findings = (
            (
                await conn.execute(
                    select(joint_findings, joint_suggestions)
                    .outerjoin(joint_suggestions, joint_suggestions.c.finding_id == joint_findings.c.finding_id)
                    .where(joint_findings.c.joint_inspection_id == joint_id)
                    .order_by(joint_findings.c.recorded_at, joint_findings.c.finding_id)
                )
            )
            .mappings()
            .all()
        )
        ops = (
            (await conn.execute(select(joint_opinions).where(joint_opinions.c.joint_inspection_id == joint_id)))
            .mappings()
            .all()
        )
    townships = []
    for r in rows:
        if r["township"] not in shown:
            continue
        mine = [f for f in findings if f["township"] == r["township"]]
        items = [
            {
                "finding_id": f["finding_id"],
                "description": f["description"],
                "unit_id": f["unit_id"],
                "recorded_at": from_text(f["recorded_at"]),
                "suggestion": None
                if f["suggestion_id"] is None
                else {
                    "suggestion_id": f["suggestion_id"],
                    "state": f["state"],
                    "lead_unit_id": f["lead_unit_id"],
                    "due_at": from_text(f["due_at"]),
                    "result": f["result"],
                    "satisfaction": f["satisfaction"],
                    "overdue": bool(f["overdue"]),
                },
            }
            for f in mine
        ]
        raised = [i["suggestion"] for i in items if i["suggestion"] is not None]
        by_state: dict[str, int] = {}
        for s in raised:
            by_state[s["state"]] = by_state.get(s["state"], 0) + 1
        my_ops = [o for o in ops if o["township"] == r["township"]]
        name, kind = names.get(r["township"], (None, None))
        townships.append(
            {
                "township": r["township"],
                "name": name,
                "kind": kind,
                "meeting_id": r["meeting_id"],
                "meeting_status": r["status"],
                "scheduled": r["status"] != "cancelled",
                "held": r["status"] in mt.HELD,
                "held_at": from_text(r["held_at"]),
                "present": r["present"],
                "findings": len(items),
                "findings_with_unit": sum(1 for i in items if i["unit_id"]),
                "suggestions": {
                    "raised": len(raised),
                    "by_state": by_state,
                    "replied": sum(1 for s in raised if s["result"] is not None),
                    "closed": by_state.get("closed", 0),
                    "overdue": sum(1 for s in raised if s["overdue"]),
                },
                "review_opinions": {
                    "sent": len(my_ops),
                    "answered": sum(1 for o in my_ops if o["status"] == "answered"),
                    "answered_on_time": sum(1 for o in my_ops if o["on_time"]),
                    "overdue": sum(1 for o in my_ops if o["overdue"]),
                },
                "finding_items": items,
            }
        )
    totals = {
        "townships": len(townships),
        "held": sum(1 for t in townships if t["held"]),
        "findings": sum(t["findings"] for t in townships),
        "suggestions_raised": sum(t["suggestions"]["raised"] for t in townships),
        "suggestions_replied": sum(t["suggestions"]["replied"] for t in townships),
        "review_opinions_sent": sum(t["review_opinions"]["sent"] for t in townships),
        "review_opinions_answered": sum(t["review_opinions"]["answered"] for t in townships),
    }
    return {
        "joint_inspection_id": head["joint_inspection_id"],
        "county": head["county"],
        "theme": head["theme"],
        "law": head["law"],
        "window_start": head["window_start"],
        "window_end": head["window_end"],
        "requirements": head["requirements"],
        "steps": list(head["steps"]),
        "launched_at": from_text(head["launched_at"]),
        "townships": townships,
        "totals": totals,
    }


async def list_joint_inspections(
    engine: AsyncEngine, p: Principal, *, county: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    j = joint.c
    # Like one inspection (``_joint_scope``): staff over the county, or of a participating township.
    prefix = prefix_for(p, county) if p.is_staff else None
    if prefix is None:
        return []
    taking_part = select(joint_townships.c.joint_inspection_id).where(
        joint_townships.c.township.startswith(prefix, autoescape=True)
    )
    q = select(joint).where(or_(j.county.startswith(prefix, autoescape=True), j.joint_inspection_id.in_(taking_part)))
    after = decode_cursor(cursor)
    if after is not None:
        launched, jid = after
        q = q.where(or_(j.launched_at > launched, and_(j.launched_at == launched, j.joint_inspection_id > jid)))
    q = q.order_by(j.launched_at, j.joint_inspection_id).limit(limit + 1)
    async with engine.connect() as conn:
        rows = (await conn.execute(q)).mappings().all()
    return [{**dict(r), "steps": list(r["steps"])} for r in rows]


# -- compliance facts --------------------------------------------------------------------------------
async def compliance(
    rt: ServiceRuntime, p: Principal, *, under: str, year: int, as_of: date | None
) -> list[dict[str, Any]]:
    """Per township (and street) under ``under``: sessions, presidium meetings, group activities."""
    prefix = commands_prefix(p, under)
    if prefix is None:
        return []
    settings = rt.settings
    tz = settings.tz
    j = ref.jurisdictions.c
    async with rt.engine.connect() as conn:
        places = (
            (
                await conn.execute(
                    select(ref.jurisdictions)
                    .where(j.code.startswith(prefix, autoescape=True), j.kind.in_(("township", "street")))
                    .order_by(j.code)
                )
            )
            .mappings()
            .all()
        )
        codes = [r["code"] for r in places]
        rows = (
            (
                await conn.execute(
                    select(meetings).where(
                        meetings.c.body.in_(codes),
                        meetings.c.kind.in_(("congress_session", "presidium_meeting", "group_activity")),
                        meetings.c.year <= year,
                    )
                )
            )
            .mappings()
            .all()
        )
        groups = (
            (await conn.execute(select(ref.groups).where(ref.groups.c.township.in_(codes)).order_by(ref.groups.c.name)))
            .mappings()
            .all()
        )
    records = [
        cp.MeetingRecord(
            meeting_id=r["meeting_id"],
            kind=r["kind"],
            body=r["body"],
            starts_at=from_text(r["starts_at"]),  # type: ignore[arg-type]
            ends_at=from_text(r["ends_at"]),  # type: ignore[arg-type]
            status=r["status"],
            group_id=r["group_id"],
        )
        for r in rows
    ]
    out = []
    for place in places:
        code = place["code"]
        mine = [r for r in records if r.body == code]
        street = place["kind"] == "street"
        sessions: dict[str, Any] | None = None
        presidium: dict[str, Any] | None = None
        if not street:
            s = cp.sessions_compliance(
                mine, township=code, year=year, tz=tz, min_days=settings.session_min_days, as_of=as_of
            )
            sessions = {
                "held": s.held,
                "long_enough": s.long_enough,
                "required": s.required,
                "min_days": settings.session_min_days,
                "short_session_ids": list(s.short_session_ids),
                "period_complete": s.period_complete,
                "flags": list(s.flags),
            }
            pc = cp.presidium_compliance(mine, township=code, year=year, tz=tz, as_of=as_of)
            presidium = {
                "per_quarter": list(pc.per_quarter),
                "quarters_missing": list(pc.quarters_missing),
                "longest_gap": _gap(pc.longest_gap),
                "gaps_over_limit": [_gap(g) for g in pc.gaps_over_limit],
                "flags": list(pc.flags),
            }
        group_facts = []
        for g in groups:
            if g["township"] != code:
                continue
            ga = cp.group_activity_compliance(
                mine, group_id=g["group_id"], township=code, year=year, tz=tz, as_of=as_of
            )
            group_facts.append(
                {
                    "group_id": g["group_id"],
                    "name": g["name"],
                    "held": ga.held,
                    "required": ga.required,
                    "period_complete": ga.period_complete,
                    "flags": list(ga.flags),
                }
            )
        flags: list[str] = []
        for facts in (sessions, presidium):
            flags += list(facts["flags"]) if facts else []
        flags += [f for g in group_facts for f in g["flags"]]
        out.append(
            {
                "township": code,
                "name": place["name"],
                "kind": place["kind"],
                "year": year,
                "sessions": sessions,
                "presidium_meetings": presidium,
                "group_activities": group_facts,
                "flags": sorted(set(flags)),
            }
        )
    return out


def _gap(g: cp.Gap | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"start": g.start, "end": g.end, "days": g.days, "open": g.open, "over_limit": g.over_limit}


def commands_prefix(p: Principal, under: str | None) -> str | None:
    return prefix_for(p, under) if p.is_staff else None


async def deputy_names(engine: AsyncEngine, ids: list[str]) -> dict[str, str]:
    async with engine.connect() as conn:
        return {k: v["name"] for k, v in (await refdata.deputies(conn, ref, ids)).items()}
