"""Reads of the deputies registry, always scoped to the caller's jurisdiction.

Lists are filtered in SQL before ``limit`` and the cursor (``libs.auth.access``), so neither
rows nor cursors say anything about other jurisdictions. One record outside the caller's
scope is answered like a missing one (``NotVisible`` → 404). Duty records: ``queries/dossier.py``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.auth.access import Access, Scope
from libs.auth.actor import Principal
from libs.web.errors import NotVisible
from libs.web.lists import decode_cursor
from services.deputies.domain.station import SIX_HAVES_ZH, missing_six_haves
from services.deputies.events import SixHaves
from services.deputies.projections.registry import deputies, groups, jurisdictions, presidiums, stations


async def jurisdictions_under(
    engine: AsyncEngine, principal: Principal, under: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    """The tree at or below ``under``, never outside the caller's prefix; ``limit + 1`` rows."""
    scope = Access(principal).prefix(under)
    if scope is None:
        return []  # a foreign prefix: nothing, not even a hint that it exists
    after = decode_cursor(cursor)
    q = select(jurisdictions).where(jurisdictions.c.code.startswith(scope, autoescape=True))
    if after is not None:
        q = q.where(jurisdictions.c.code > str(after))
    q = q.order_by(jurisdictions.c.code).limit(limit + 1)
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(q)).mappings()]


async def jurisdiction_names(engine: AsyncEngine, codes: list[str]) -> dict[str, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(jurisdictions.c.code, jurisdictions.c.name).where(jurisdictions.c.code.in_(codes))
        )
        return {r.code: r.name for r in rows}


# -- deputies -------------------------------------------------------------------------------------
def deputy_view(row: dict[str, Any], principal: Principal, today: date) -> dict[str, Any]:
    """A deputy's record as the caller may see it: the phone only for staff of its jurisdiction."""
    out = dict(row)
    terminated = row["terminated_on"] is not None and row["terminated_on"] <= today
    out["status"] = "terminated" if terminated else "active"
    if not (principal.is_staff and principal.sees(row["jurisdiction"])):
        out["phone"] = None
    return out


async def deputy(engine: AsyncEngine, principal: Principal, deputy_id: str, today: date) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (await conn.execute(select(deputies).where(deputies.c.deputy_id == deputy_id))).mappings().first()
    scope = Scope(jurisdiction=row["jurisdiction"], deputy_ids=(deputy_id,)) if row else None
    Access(principal).require_visible(scope)
    assert row is not None
    return deputy_view(dict(row), principal, today)


async def deputies_list(
    engine: AsyncEngine,
    principal: Principal,
    *,
    today: date,
    township: str | None,
    status: str | None,
    level: str | None,
    congress: str | None,
    limit: int,
    cursor: str | None,
) -> list[dict[str, Any]]:
    """Deputies grouped in ``township`` (or all the caller sees), by name; ``limit + 1`` rows."""
    d = deputies.c
    access = Access(principal)
    q = select(deputies).where(access.where(jurisdiction=d.jurisdiction, deputy=d.deputy_id))
    if township:
        q = q.where(or_(d.township == township, d.congress == township))
    if level:
        q = q.where(d.level == level)
    if congress:
        q = q.where(d.congress == congress)
    if status == "active":
        q = q.where(or_(d.terminated_on.is_(None), d.terminated_on > today))
    elif status == "terminated":
        q = q.where(d.terminated_on <= today)
    after = decode_cursor(cursor)
    if after is not None:
        if not (isinstance(after, list) and len(after) == 2):
            return []
        q = q.where(tuple_(d.name, d.deputy_id) > tuple_(*after))
    q = q.order_by(d.name, d.deputy_id).limit(limit + 1)
    async with engine.connect() as conn:
        return [deputy_view(dict(r), principal, today) for r in (await conn.execute(q)).mappings()]


async def deputy_names(engine: AsyncEngine, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    async with engine.connect() as conn:
        rows = await conn.execute(select(deputies.c.deputy_id, deputies.c.name).where(deputies.c.deputy_id.in_(ids)))
        return {r.deputy_id: r.name for r in rows}


# -- groups ---------------------------------------------------------------------------------------
async def central_group(engine: AsyncEngine, township: str) -> str | None:
    """The township's central group, as far as the read model knows."""
    async with engine.connect() as conn:
        q = select(groups.c.group_id).where(groups.c.township == township, groups.c.central.is_(True)).limit(1)
        return (await conn.execute(q)).scalar_one_or_none()


def _staff_where(principal: Principal, column: Any, under: str | None = None) -> Any:
    """Registry bodies (groups, stations, presidium) are staff matters; a deputy sees its township's."""
    return (
        Access(principal).where(jurisdiction=column, under=under, deputy=None)
        if principal.is_staff
        else (
            column.startswith(principal.jurisdiction, autoescape=True)
            if principal.role == "deputy"
            else column.is_(None)
        )
    )


async def groups_list(
    engine: AsyncEngine, principal: Principal, township: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    g = groups.c
    q = select(groups).where(_staff_where(principal, g.township, township))
    if township:
        q = q.where(g.township == township)
    after = decode_cursor(cursor)
    if after is not None:
        if not (isinstance(after, list) and len(after) == 3):
            return []
        q = q.where(tuple_(g.township, g.name, g.group_id) > tuple_(*after))
    q = q.order_by(g.township, g.name, g.group_id).limit(limit + 1)
    async with engine.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(q)).mappings()]
    return await _with_names(engine, rows, ("leader_ids", "member_ids"))


async def group(engine: AsyncEngine, principal: Principal, group_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        q = select(groups).where(groups.c.group_id == group_id, _staff_where(principal, groups.c.township))
        row = (await conn.execute(q)).mappings().first()
    if row is None:
        raise NotVisible()
    return (await _with_names(engine, [dict(row)], ("leader_ids", "member_ids")))[0]


async def _with_names(engine: AsyncEngine, rows: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    ids = sorted({i for r in rows for f in fields for i in r[f]})
    names = await deputy_names(engine, ids)
    for r in rows:
        r["names"] = {i: names.get(i, "") for f in fields for i in r[f]}
    return rows


# -- presidium ------------------------------------------------------------------------------------
async def presidium(engine: AsyncEngine, principal: Principal, township: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        q = select(presidiums).where(presidiums.c.township == township, _staff_where(principal, presidiums.c.township))
        row = (await conn.execute(q)).mappings().first()
    if row is None:
        raise NotVisible()
    return (await _with_names(engine, [dict(row)], ("member_ids",)))[0]


async def presidium_member_ids(engine: AsyncEngine, township: str) -> list[str]:
    async with engine.connect() as conn:
        q = select(presidiums.c.member_ids).where(presidiums.c.township == township)
        return list((await conn.execute(q)).scalar_one_or_none() or [])


# -- liaison stations -----------------------------------------------------------------------------
def station_view(row: dict[str, Any]) -> dict[str, Any]:
    missing = missing_six_haves(SixHaves(**row["six_haves"]))
    return {
        **row,
        "six_haves_met": not missing,
        "missing": list(missing),
        "missing_zh": [SIX_HAVES_ZH[m] for m in missing],
    }


async def stations_list(
    engine: AsyncEngine, principal: Principal, township: str | None, limit: int, cursor: str | None
) -> list[dict[str, Any]]:
    s = stations.c
    q = select(stations).where(_staff_where(principal, s.township, township))
    if township:
        q = q.where(s.township == township)
    after = decode_cursor(cursor)
    if after is not None:
        if not (isinstance(after, list) and len(after) == 3):
            return []
        q = q.where(tuple_(s.township, s.name, s.station_id) > tuple_(*after))
    q = q.order_by(s.township, s.name, s.station_id).limit(limit + 1)
    async with engine.connect() as conn:
        return [station_view(dict(r)) for r in (await conn.execute(q)).mappings()]


async def station(engine: AsyncEngine, principal: Principal, station_id: str) -> dict[str, Any]:
    async with engine.connect() as conn:
        q = select(stations).where(stations.c.station_id == station_id, _staff_where(principal, stations.c.township))
        row = (await conn.execute(q)).mappings().first()
    if row is None:
        raise NotVisible()
    return station_view(dict(row))
