"""Compliance facts per township: sessions, presidium meetings per quarter and gaps, group activities.

The figures are ``libs/figures/compliance.py`` (one definition, shared with the supervision view).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import prefix_for
from libs.auth.actor import Principal
from libs.figures import compliance as cp
from libs.reference import deputies as refdata
from libs.service.runtime import ServiceRuntime
from services.meetings.projections import from_text, meetings, ref


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
            starts_at=from_text(r["starts_at"]),
            ends_at=from_text(r["ends_at"]),
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
