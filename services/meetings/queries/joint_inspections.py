"""Reads of joint inspections: the county's progress view, township by township, and the list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import prefix_for
from libs.auth.actor import Principal
from libs.domain.times import local
from libs.web.errors import NotVisible
from libs.web.lists import decode_cursor
from services.meetings.commands import require_id
from services.meetings.domain import meeting as mt
from services.meetings.projections import (
    from_text,
    joint,
    joint_findings,
    joint_opinions,
    joint_suggestions,
    joint_townships,
    ref,
    utc_text,
)


def _at(text: str | None) -> datetime | None:
    """A stored time, in ``RENDA_TIMEZONE`` with its offset."""
    dt = from_text(text)
    return None if dt is None else local(dt)


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
        where = joint.c.joint_inspection_id == require_id(joint_id)
        head = (await conn.execute(select(joint).where(where))).mappings().first()
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
                "recorded_at": _at(f["recorded_at"]),
                "suggestion": None
                if f["suggestion_id"] is None
                else {
                    "suggestion_id": f["suggestion_id"],
                    "state": f["state"],
                    "lead_unit_id": f["lead_unit_id"],
                    "due_at": _at(f["due_at"]),
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
                "held_at": _at(r["held_at"]),
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
        "launched_at": _at(head["launched_at"]),
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
    return [{**dict(r), "steps": list(r["steps"]), "launched_at": _at(r["launched_at"])} for r in rows]


def joint_key(row: dict[str, Any]) -> list[str]:
    """The cursor: the stored (UTC text) launch time and the id."""
    return [utc_text(row["launched_at"]), row["joint_inspection_id"]]
