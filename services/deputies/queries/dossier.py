"""Reads of the duty records: activities, the dossier per deputy and year, inactive deputies,
reports-to-voters coverage and fixed contacts per township.

Read models hold facts; the figures come from the pure functions of ``libs/figures/duty.py`` and
``libs/figures/township_duty.py``. A deputy reads only their own dossier; staff read those inside
their jurisdiction; township figures are staff matters.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.auth.access import Access, Scope
from libs.auth.actor import Principal
from libs.figures import duty
from libs.figures import township_duty as duty_township
from libs.figures.duty import (
    SIX_ONES_ZH,
    ActivityRecord,
    AttendanceRecord,
    ContactRecord,
    DeputyRecord,
    SuggestionRecord,
)
from libs.web.lists import decode_cursor
from services.deputies.projections.dossier import activities, attendance, opinions, submitters, suggestions
from services.deputies.projections.registry import contacts, deputies, presidiums
from services.deputies.queries.registry import deputy_names

KIND_ZH = {
    "constituent_visit": "走访选民",
    "reception": "接待选民",
    "report_to_voters": "向选民述职",
    "mediation": "调解矛盾纠纷",
    "training": "参加培训",
    "good_deed": "办好事实事",
    "household_help": "帮扶困难户",
    "constituent_meeting": "召开选民座谈会",
}
MEETING_KINDS = ("congress_session", "presidium_meeting", "group_activity", "inspection", "special_report_hearing")


def _year(column: Any, year: int) -> Any:
    return and_(column >= date(year, 1, 1), column <= date(year, 12, 31))


def _record(row: Any) -> DeputyRecord:
    return DeputyRecord(
        deputy_id=row["deputy_id"],
        level=row["level"],
        congress=row["congress"],
        township=row["township"],
        elected_on=row["elected_on"],
        terminated_on=row["terminated_on"],
    )


async def _deputy_row(conn: AsyncConnection, principal: Principal, deputy_id: str) -> dict[str, Any]:
    row = (await conn.execute(select(deputies).where(deputies.c.deputy_id == deputy_id))).mappings().first()
    Access(principal).require_visible(Scope(jurisdiction=row["jurisdiction"], deputy_ids=(deputy_id,)) if row else None)
    assert row is not None
    return dict(row)


def _counted() -> Any:
    """Suggestions that count for their submitters: not merged away (the target counts), not an
    escalation's county copy (the original counts)."""
    s = suggestions.c
    return and_(or_(s.closed_because.is_(None), s.closed_because != "merged"), s.source != "escalation")


# -- one deputy -----------------------------------------------------------------------------------
async def activities_of(
    engine: AsyncEngine,
    principal: Principal,
    deputy_id: str,
    *,
    year: int | None,
    kind: str | None,
    limit: int,
    cursor: str | None,
) -> list[dict[str, Any]]:
    a = activities.c
    async with engine.connect() as conn:
        await _deputy_row(conn, principal, deputy_id)
        q = select(activities).where(a.deputy_id == deputy_id)
        if year is not None:
            q = q.where(_year(a.on_date, year))
        if kind:
            q = q.where(a.kind == kind)
        after = decode_cursor(cursor)
        if after is not None:
            if not (isinstance(after, list) and len(after) == 2):
                return []
            q = q.where(tuple_(a.on_date, a.activity_id) < tuple_(date.fromisoformat(after[0]), after[1]))
        q = q.order_by(a.on_date.desc(), a.activity_id.desc()).limit(limit + 1)
        return [dict(r) for r in (await conn.execute(q)).mappings()]


async def dossier(engine: AsyncEngine, principal: Principal, deputy_id: str, year: int) -> dict[str, Any]:
    """The 履职档案 of one deputy for one year, as the dossier endpoint answers it."""
    a, t, s, sub = activities.c, attendance.c, suggestions.c, submitters.c
    async with engine.connect() as conn:
        row = await _deputy_row(conn, principal, deputy_id)
        acts = [
            ActivityRecord(r.deputy_id, r.kind, r.on_date, r.people_count, r.report_mode)
            for r in await conn.execute(select(activities).where(a.deputy_id == deputy_id, _year(a.on_date, year)))
        ]
        meetings = list(await conn.execute(select(attendance).where(t.deputy_id == deputy_id, _year(t.on_date, year))))
        q = (
            select(suggestions)
            .join(submitters, sub.suggestion_id == s.suggestion_id)
            .where(sub.deputy_id == deputy_id, _year(sub.submitted_on, year), _counted())
        )
        sugs = [
            SuggestionRecord(
                r.suggestion_id, r.submitted_on, tuple(r.deputy_ids), r.assigned, r.result, r.promise_carried_out
            )
            for r in await conn.execute(q)
        ]
        opinion_rows = list(
            await conn.execute(
                select(func.count(), func.coalesce(func.sum(opinions.c.people_count), 0)).where(
                    opinions.c.deputy_id == deputy_id, _year(opinions.c.on_date, year)
                )
            )
        )
    records = [AttendanceRecord(r.deputy_id, r.meeting_id, r.on_date, r.status, r.speeches) for r in meetings]
    d = duty.dossier(deputy_id, year, acts, records, sugs)
    m, sg = d.meetings, d.suggestions
    by_kind = {k: {"invited": 0, "present": 0} for k in MEETING_KINDS}
    for r in meetings:
        by_kind.setdefault(r.kind, {"invited": 0, "present": 0})
        by_kind[r.kind]["invited"] += 1
        by_kind[r.kind]["present"] += r.status == "present"
    reports = [x for x in acts if x.kind == "report_to_voters"]
    opinion_count, opinion_people = opinion_rows[0] if opinion_rows else (0, 0)
    return {
        "deputy_id": deputy_id,
        "name": row["name"],
        "level": row["level"],
        "congress": row["congress"],
        "township": row["township"],
        "year": year,
        "activity_counts": d.activity_counts,
        "people_visited": d.people_visited,
        "reports_to_voters": {
            "written": sum(1 for x in reports if x.report_mode == "written"),
            "meeting": sum(1 for x in reports if x.report_mode == "meeting"),
        },
        "meetings": {
            "invited": m.invited,
            "attended": m.present,
            "on_leave": m.on_leave,
            "absent": m.absent,
            "unrecorded": m.pending,
            "speeches": m.speeches,
            "attendance_rate": m.attendance_rate.as_dict(),
            "by_kind": by_kind,
        },
        "suggestions": {
            "submitted": sg.submitted,
            "as_lead": sg.as_lead,
            "as_co": sg.as_co,
            "assigned": sg.assigned,
            "replied": sg.replied,
            "resolved": sg.resolved,
            "resolution_rate": sg.resolution_rate.as_dict(),
        },
        "constituent_opinions": {"recorded": int(opinion_count), "people": int(opinion_people or 0)},
        "six_ones": {
            "met": list(d.six_ones.met),
            "missing": list(d.six_ones.missing),
            "items": [
                {"item": k, "label": SIX_ONES_ZH[k], "done": done, "target": target, "met": done >= target}
                for k, (done, target) in d.six_ones.progress.items()
            ],
        },
    }


# -- one township ---------------------------------------------------------------------------------
async def _township_deputies(conn: AsyncConnection, township: str) -> list[dict[str, Any]]:
    d = deputies.c
    q = select(deputies).where(or_(d.township == township, and_(d.level == "township", d.congress == township)))
    return [dict(r) for r in (await conn.execute(q)).mappings()]


async def inactive(
    engine: AsyncEngine, principal: Principal, township: str, *, on: date, months: int
) -> dict[str, Any]:
    """Current deputies of ``township`` with no activity of any kind in the ``months`` up to ``on``."""
    report: dict[str, Any] = {
        "township": township,
        "period_months": months,
        "until": on.isoformat(),
        "since": (on - relativedelta(months=months)).isoformat(),
    }
    if not principal.sees(township):
        return {**report, "items": [], "other_levels": []}  # nothing, not even a hint
    async with engine.connect() as conn:
        rows = await _township_deputies(conn, township)
        ids = [r["deputy_id"] for r in rows]
        # The latest activity of each kind per deputy up to ``on`` is all inactivity needs.
        last_act = await conn.execute(
            select(activities.c.deputy_id, func.max(activities.c.on_date))
            .where(activities.c.deputy_id.in_(ids), activities.c.on_date <= on)
            .group_by(activities.c.deputy_id)
        )
        last_meeting = await conn.execute(
            select(attendance.c.deputy_id, func.max(attendance.c.on_date))
            .where(attendance.c.deputy_id.in_(ids), attendance.c.status == "present", attendance.c.on_date <= on)
            .group_by(attendance.c.deputy_id)
        )
        last_sug = await conn.execute(
            select(submitters.c.deputy_id, func.max(submitters.c.submitted_on))
            .where(submitters.c.deputy_id.in_(ids), submitters.c.submitted_on <= on)
            .group_by(submitters.c.deputy_id)
        )
        acts = [ActivityRecord(i, "reception", day) for i, day in last_act]
        meets = [AttendanceRecord(i, "latest", day, "present") for i, day in last_meeting]
        sugs = [SuggestionRecord(f"latest-{i}", day, (i,)) for i, day in last_sug]
    r = duty_township.inactive_deputies(
        [_record(x) for x in rows], acts, meets, sugs, township=township, on=on, period_months=months
    )
    by_id = {x["deputy_id"]: x for x in rows}

    def item(i: duty_township.InactiveDeputy) -> dict[str, Any]:
        x = by_id[i.deputy_id]
        return {
            "deputy_id": i.deputy_id,
            "name": x["name"],
            "level": x["level"],
            "congress": x["congress"],
            "last_active_on": i.last_active_on.isoformat() if i.last_active_on else None,
        }

    return {
        **report,
        "since": r.since.isoformat(),
        "items": [item(i) for i in r.congress],
        "other_levels": [item(i) for i in r.other_levels],
    }


def _figures(f: duty_township.ReportFigures, names: dict[str, str]) -> dict[str, Any]:
    return {
        "deputies": f.deputies,
        "reported": f.reported.as_dict(),
        "at_meeting": f.at_meeting.as_dict(),
        "at_meeting_in_term": f.at_meeting_in_term.as_dict(),
        "not_reported": [{"deputy_id": i, "name": names.get(i, "")} for i in f.not_reported],
        "not_yet_at_meeting_in_term": [{"deputy_id": i, "name": names.get(i, "")} for i in f.not_yet_in_term],
    }


async def report_coverage(
    engine: AsyncEngine, principal: Principal, township: str, *, year: int, term_start: date | None, as_of: date | None
) -> dict[str, Any] | None:
    """Reports to voters (述职) of a township's deputies: yearly coverage, meeting share, term coverage."""
    if not principal.sees(township):
        return None
    async with engine.connect() as conn:
        rows = await _township_deputies(conn, township)
        own = [
            r["elected_on"] for r in rows if r["level"] == "township" and r["congress"] == township and r["elected_on"]
        ]
        start = term_start or (min(own) if own else date(year, 1, 1))
        end = start + relativedelta(years=5) - relativedelta(days=1)
        ids = [r["deputy_id"] for r in rows]
        reports = [
            ActivityRecord(r.deputy_id, "report_to_voters", r.on_date, r.people_count, r.report_mode)
            for r in await conn.execute(
                select(activities).where(
                    activities.c.deputy_id.in_(ids),
                    activities.c.kind == "report_to_voters",
                    activities.c.on_date >= start,
                    activities.c.on_date <= date(year, 12, 31),
                )
            )
        ]
    c = duty_township.report_coverage(
        [_record(x) for x in rows], reports, township=township, year=year, term_start=start, term_end=end, as_of=as_of
    )
    names = {r["deputy_id"]: r["name"] for r in rows}
    return {
        "township": township,
        "year": year,
        "term_start": start.isoformat(),
        "term_end": end.isoformat(),
        "congress": _figures(c.congress, names),
        "other_levels": _figures(c.other_levels, names),
        "flags": list(c.flags),
    }


async def contact_check(engine: AsyncEngine, principal: Principal, township: str, *, on: date) -> dict[str, Any] | None:
    """Presidium members ↔ ≥10 deputies; deputies ↔ ≥3 constituents (distinct contacts)."""
    if not principal.sees(township):
        return None
    async with engine.connect() as conn:
        rows = await _township_deputies(conn, township)
        ids = [r["deputy_id"] for r in rows]
        members = (
            await conn.execute(select(presidiums.c.member_ids).where(presidiums.c.township == township))
        ).scalar_one_or_none() or []
        found = await conn.execute(
            select(contacts).where(contacts.c.deputy_id.in_(list({*ids, *members})), contacts.c.contacted_on <= on)
        )
        records = [
            ContactRecord(
                r.deputy_id,
                r.kind,
                r.contact_deputy_id if r.kind == "presidium_member" else f"{r.constituent_name}|{r.village}",
            )
            for r in found
        ]
    c = duty_township.contact_checks(
        [_record(x) for x in rows], records, township=township, presidium_member_ids=members, on=on
    )
    names = await deputy_names(engine, sorted({*ids, *members}))

    def counts(items: tuple[duty_township.ContactCount, ...]) -> list[dict[str, Any]]:
        return [{**asdict(i), "name": names.get(i.deputy_id, ""), "met": i.met} for i in items]

    return {
        "township": township,
        "on": on.isoformat(),
        "presidium": counts(c.presidium),
        "congress": counts(c.congress),
        "other_levels": counts(c.other_levels),
        "presidium_short": list(c.presidium_short),
        "deputies_short": list(c.deputies_short),
    }
