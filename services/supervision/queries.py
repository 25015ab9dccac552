"""Reads of the view, scoped by the caller, with a cache that is exact.

An answer depends on the read models and on the clock. The cache keys each answer on the read
models' checkpoints (one small query, right across replicas sharing a database) and keeps a live
answer only until the next moment the clock alone could change it: the end of the local day or
the next deadline of an open round or review opinion, whichever comes first. A historical answer
changes only with the read models.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.auth.access import prefix_for
from libs.auth.actor import Principal
from libs.events.projection import checkpoints
from libs.service.runtime import ServiceRuntime
from services.supervision import clock, details, view
from services.supervision import records as rc
from services.supervision import tables as t
from services.supervision.records import Moment
from services.supervision.settings import SupervisionSettings
from services.supervision.trend import overdue_trend
from services.supervision.view import Rules

PROJECTIONS = ("supervision-suggestions", "supervision-meetings", "supervision-duty", "supervision-reference")
CACHE_SIZE = 256


@dataclass
class Entry:
    version: int
    valid_until: datetime | None
    value: Any


class ViewCache:
    def __init__(self) -> None:
        self.entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()

    async def get(
        self,
        conn: AsyncConnection,
        key: tuple[Any, ...],
        m: Moment,
        compute: Callable[[], Awaitable[Any]],
        until: Callable[[Any], Awaitable[datetime | None]],
    ) -> Any:
        version = await read_version(conn)
        e = self.entries.get(key)
        if e is not None and e.version == version and (e.valid_until is None or m.at < e.valid_until):
            self.entries.move_to_end(key)
            return e.value
        value = await compute()
        self.entries[key] = Entry(version, None if m.past else await until(value), value)
        while len(self.entries) > CACHE_SIZE:
            self.entries.popitem(last=False)
        return value


def cached(rt: ServiceRuntime, key: tuple[Any, ...]) -> Entry | None:
    """The cache entry of ``key`` (its version and how long it holds), if any."""
    return cache_of(rt).entries.get(key)


async def read_version(conn: AsyncConnection) -> int:
    c = checkpoints.c
    q = select(func.coalesce(func.sum(c.position), 0), func.count()).where(c.projection.in_(PROJECTIONS))
    total, n = (await conn.execute(q)).one()
    return int(total) * 8 + int(n)


def rules_of(rt: ServiceRuntime) -> Rules:
    rules: Rules | None = rt.extras.get("supervision_rules")
    if rules is None:
        s = rt.settings
        rules = rt.extras["supervision_rules"] = Rules(
            tz=s.tz,
            unsatisfied_limit=s.unsatisfied_limit,
            session_min_days=s.session_min_days,
            inactive_months=SupervisionSettings().inactive_months,
        )
    return rules


def cache_of(rt: ServiceRuntime) -> ViewCache:
    cache: ViewCache | None = rt.extras.get("supervision_cache")
    if cache is None:
        cache = rt.extras["supervision_cache"] = ViewCache()
    return cache


def scope(p: Principal, under: str | None) -> str | None:
    """The prefix the caller sees: ``under`` narrowed to its own jurisdiction (None: nothing)."""
    return prefix_for(p, under)


async def _next_change(
    conn: AsyncConnection, prefix: str, m: Moment, rules: Rules, late: Iterable[datetime] = (), fine: bool = False
) -> datetime:
    """The next moment the clock alone changes a live answer: the end of the local day, the next open
    deadline, or the next change of a lateness shown (of items due at ``late``; see ``lateness_tick``)."""
    tomorrow = view.end_of(m.day, rules.tz) + timedelta(microseconds=1)
    r = t.rounds.c
    q1 = select(func.min(r.due_at)).where(
        rc.under(r.jurisdiction, prefix), r.due_at > m.text, r.replied_at.is_(None), r.withdrawn_at.is_(None)
    )
    ro = t.review_opinions.c
    q2 = select(func.min(ro.due_at)).where(rc.under(ro.body, prefix), ro.due_at > m.text, ro.answered_at.is_(None))
    found = [x for x in ((await conn.execute(q1)).scalar(), (await conn.execute(q2)).scalar()) if x]
    ticks = [lateness_tick(due, m.at, fine) for due in late]
    return min([tomorrow, *(datetime.fromisoformat(x) for x in found), *ticks])


def lateness_tick(due: datetime, at: datetime, fine: bool) -> datetime:
    """When the lateness of an item due at ``due`` next shows differently: its whole days
    (``overdue_days``), or with ``fine`` its ``overdue_for`` (hours; minutes in its first hour)."""
    late = at - due
    step = timedelta(days=1) if not fine else timedelta(minutes=1) if late < timedelta(hours=1) else timedelta(hours=1)
    return due + (late // step + 1) * step


def late_of(value: Any) -> tuple[list[datetime], bool]:
    """The due times whose lateness an answer shows, and whether it shows it to the minute."""
    if isinstance(value, dict) and "overdue_due" in value:
        return list(value["overdue_due"]), False
    rows = value.get("rows", []) if isinstance(value, dict) else value if isinstance(value, list) else []
    return [i["due_at"] for i in rows if isinstance(i, dict) and "overdue_for" in i], True


async def next_change(conn: AsyncConnection, prefix: str, m: Moment, rt: ServiceRuntime, value: Any) -> datetime:
    """The next moment the clock alone could change the live answer ``value`` under ``prefix``."""
    late, fine = late_of(value)
    return await _next_change(conn, prefix, m, rules_of(rt), late, fine)


async def compute_townships(
    conn: AsyncConnection, rt: ServiceRuntime, ref: Any, prefix: str, year: int, m: Moment
) -> dict[str, Any]:
    """Every township and street under ``prefix``, the counties (for a city) and the total, counted now."""
    rules = rules_of(rt)
    f = await view.load_facts(conn, ref, prefix, year, m, rules.tz)
    items = [view.township_item(f, p, year, rules) for p in f.places]
    counties = [view.rollup(f, c["code"], c["name"], "county", items, year, rules) for c in f.counties]
    top = await ref_row(conn, ref, prefix)
    total = view.rollup(f, prefix, top["name"] if top else prefix, top["kind"] if top else "", items, year, rules)
    units_over = f.units_over if f.units_over is not None else view.unsatisfied_units(f, None, year, rules)
    oldest: dict[str, datetime] = {}  # what overdue_days shows per township: the oldest reply overdue
    for i in f.overdue:
        if i["kind"] == "reply" and (i["township"] not in oldest or i["due_at"] < oldest[i["township"]]):
            oldest[i["township"]] = i["due_at"]
    late = list(oldest.values())
    return {"items": items, "counties": counties, "total": total, "units_over_limit": units_over, "overdue_due": late}


async def compute_overdue(
    conn: AsyncConnection, rt: ServiceRuntime, ref: Any, prefix: str, m: Moment
) -> list[dict[str, Any]]:
    items = await view.overdue(conn, prefix, m, rules_of(rt).tz)
    names = await names_of(conn, ref, {i["township"] for i in items})
    for i in items:
        i["township_name"] = names.get(i["township"], i["township"])
    return items


async def townships(rt: ServiceRuntime, prefix: str, year: int, m: Moment, ref: Any) -> dict[str, Any]:
    """Every township and street under ``prefix``, the counties (for a city) and the total."""
    async with rt.engine.connect() as conn:
        found = await cache_of(rt).get(
            conn,
            ("townships", prefix, year, m.as_of),
            m,
            lambda: compute_townships(conn, rt, ref, prefix, year, m),
            lambda v: next_change(conn, prefix, m, rt, v),
        )
        return cast("dict[str, Any]", found)


async def overdue(rt: ServiceRuntime, prefix: str, m: Moment, ref: Any) -> list[dict[str, Any]]:
    async with rt.engine.connect() as conn:
        found = await cache_of(rt).get(
            conn,
            ("overdue", prefix, m.as_of),
            m,
            lambda: compute_overdue(conn, rt, ref, prefix, m),
            lambda v: next_change(conn, prefix, m, rt, v),
        )
        return cast("list[dict[str, Any]]", found)


async def overdue_answer(rt: ServiceRuntime, prefix: str, m: Moment, ref: Any) -> dict[str, Any]:
    """The overdue board as a cached dict (``rows``), so its encoded answer can be kept beside it."""
    async with rt.engine.connect() as conn:

        async def compute() -> dict[str, Any]:
            return {"rows": await overdue(rt, prefix, m, ref)}

        found = await cache_of(rt).get(
            conn, ("overdue-answer", prefix, m.as_of), m, compute, lambda v: next_change(conn, prefix, m, rt, v)
        )

        return cast("dict[str, Any]", found)


async def units(rt: ServiceRuntime, prefix: str, year: int, m: Moment, ref: Any) -> list[dict[str, Any]]:
    rules = rules_of(rt)
    async with rt.engine.connect() as conn:

        async def compute() -> list[dict[str, Any]]:
            items = await view.unit_items(conn, prefix, year, m, rules)
            names = await names_of(conn, ref, {i["jurisdiction"] for i in items if i["jurisdiction"]})
            for i in items:
                i["jurisdiction_name"] = names.get(i["jurisdiction"] or "", i["jurisdiction"])
            return items

        found = await cache_of(rt).get(
            conn, ("units", prefix, year, m.as_of), m, compute, lambda v: next_change(conn, prefix, m, rt, v)
        )

        return cast("list[dict[str, Any]]", found)


async def trend(rt: ServiceRuntime, prefix: str, m: Moment) -> list[dict[str, Any]]:
    """Overdue items open at each of the last twelve month ends."""
    rules = rules_of(rt)
    async with rt.engine.connect() as conn:
        found = await cache_of(rt).get(
            conn,
            ("trend", prefix, m.as_of),
            m,
            lambda: overdue_trend(conn, prefix, m, rules.tz),
            lambda v: next_change(conn, prefix, m, rt, v),
        )
        return cast("list[dict[str, Any]]", found)


async def suggestion(rt: ServiceRuntime, p: Principal, sid: str, m: Moment, ref: Any) -> dict[str, Any] | None:
    async with rt.engine.connect() as conn:
        found = await details.suggestion(conn, ref, sid, m)
        if found is None or not p.sees(found["township"]):
            return None
        found["township_name"] = (await names_of(conn, ref, {found["township"]})).get(found["township"])
        return found


async def joint_inspection(rt: ServiceRuntime, p: Principal, jid: str, m: Moment, ref: Any) -> dict[str, Any] | None:
    async with rt.engine.connect() as conn:
        found = await details.joint_inspection(conn, jid, m, p.jurisdiction)
        if found is None:
            return None
        names = await names_of(conn, ref, {i["township"] for i in found["items"]} | {found["county"]})
        for i in found["items"]:
            i["township_name"] = names.get(i["township"], i["township"])
        found["county_name"] = names.get(found["county"], found["county"])
        return found


async def joint_inspections(rt: ServiceRuntime, prefix: str, m: Moment) -> list[dict[str, Any]]:
    async with rt.engine.connect() as conn:
        return await details.joint_inspections_under(conn, prefix, m)


async def suggestions_list(
    rt: ServiceRuntime, prefix: str, m: Moment, ref: Any, *, status: str | None = None, unit_id: str | None = None
) -> list[dict[str, Any]]:
    """The suggestions behind a count (a township's, a unit's), as of ``m``: the five-open facts."""
    async with rt.engine.connect() as conn:
        st = await rc.statuses_at(conn, prefix, m)
        s = t.suggestions.c
        q = select(t.suggestions).where(rc.under(s.jurisdiction, prefix), s.submitted_at <= m.text)
        if unit_id:
            q = q.where(s.lead_unit_id == unit_id)
        rows = [dict(r) for r in (await conn.execute(q.order_by(s.submitted_at.desc()))).mappings()]
        rounds = {(r["suggestion_id"]): r for r in await rc.rounds_at(conn, prefix, m)}
        unit_names = await rc.unit_rows(conn)
        names = await names_of(conn, ref, {r["jurisdiction"] for r in rows})
        deputy_rows = {
            r["deputy_id"]: r["name"]
            for r in (
                await conn.execute(
                    select(ref.deputies.c.deputy_id, ref.deputies.c.name).where(
                        ref.deputies.c.deputy_id.in_({d for r in rows for d in r["deputy_ids"]})
                    )
                )
            ).mappings()
        }
        ev = t.evaluations.c
        sat = {
            sid: v
            for sid, v, _ in await conn.execute(
                select(ev.suggestion_id, ev.satisfaction, ev.evaluated_at)
                .where(rc.under(ev.jurisdiction, prefix), ev.evaluated_at <= m.text)
                .order_by(ev.evaluated_at)
            )
        }
        rp = t.replies.c
        res = {
            sid: v
            for sid, v, _ in await conn.execute(
                select(rp.suggestion_id, rp.result, rp.replied_at)
                .where(rc.under(rp.jurisdiction, prefix), rp.replied_at <= m.text)
                .order_by(rp.replied_at)
            )
        }
    out = []
    for r in rows:
        sid = r["suggestion_id"]
        now_status = st.get(sid, "submitted")
        if status == "overdue":
            rd = rounds.get(sid)
            if not (now_status in rc.OPEN and rd and rd["replied_at"] is None and rd["due_at"] < m.text):
                continue
        elif status and now_status != status:
            continue
        rd = rounds.get(sid)
        out.append(
            {
                "suggestion_id": sid,
                "title": r["title"],
                "township": r["jurisdiction"],
                "township_name": names.get(r["jurisdiction"], r["jurisdiction"]),
                "status": now_status,
                "unit": unit_names.get(rd["lead_unit_id"], {}).get("name") if rd else None,
                "due_at": datetime.fromisoformat(rd["due_at"]) if rd else None,
                "result": res.get(sid),
                "result_zh": details.RESULT_ZH.get(res.get(sid) or "", ""),
                "satisfaction_zh": details.SATISFACTION_ZH.get(sat.get(sid) or "", ""),
                "deputies": [deputy_rows.get(d, d) for d in r["deputy_ids"]],
                "submitted_at": datetime.fromisoformat(r["submitted_at"]),
            }
        )
    return out


async def names_of(conn: AsyncConnection, ref: Any, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    j = ref.jurisdictions.c
    return {c: n for c, n in await conn.execute(select(j.code, j.name).where(j.code.in_(list(codes))))}


async def ref_row(conn: AsyncConnection, ref: Any, code: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(ref.jurisdictions).where(ref.jurisdictions.c.code == code))).mappings().first()
    return dict(row) if row else None


def now_utc() -> datetime:
    return clock.now()


def year_of(year: int | None, m: Moment) -> int:
    return year or m.day.year


def parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
