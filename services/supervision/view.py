"""The joint-supervision figures per township, county and unit, and the overdue board.

Facts come from ``records.py``; every figure is counted by ``libs/figures`` (one definition,
shared with the owning contexts' own endpoints), as of the view's moment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.figures import compliance as cp
from libs.figures import rates
from libs.figures import township_duty as td
from libs.figures.rates import SuggestionRecords
from services.supervision import flags as fl
from services.supervision import records as rc
from services.supervision import tables as t
from services.supervision.place_duty import duty_of
from services.supervision.records import OPEN, Facts, Moment

STATUSES = ("submitted", "assigned", "replied", "rehandling", "closed")


@dataclass(frozen=True)
class Rules:
    tz: ZoneInfo
    unsatisfied_limit: int = 2
    session_min_days: int = 1
    inactive_months: int = 6


def iso_duration(d: timedelta) -> str:
    """``P12DT3H``: days and hours (minutes when under an hour)."""
    total = max(0, int(d.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    out = f"P{days}D" if days else "P"
    if hours or (not days and not minutes):
        out += f"T{hours}H"
    elif minutes and not days:
        out += f"T{minutes}M"
    return out if out != "P" else "PT0H"


def end_of(day: date, tz: ZoneInfo) -> datetime:
    return (datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz) - timedelta(microseconds=1)).astimezone(UTC)


# -- the overdue board ------------------------------------------------------------------------------
async def overdue(conn: AsyncConnection, prefix: str, m: Moment, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every overdue item under ``prefix`` at ``m``, oldest first: replies, B promises, review opinions."""
    rounds = await rc.rounds_at(conn, prefix, m, open_due_before=None if m.historical else m.text)
    p = t.promises.c
    q = select(t.promises).where(
        rc.under(p.jurisdiction, prefix), rc.began(p.made_at, m), rc.not_ended(p.superseded_at, m)
    )
    promises = [dict(r) for r in (await conn.execute(q)).mappings()]
    candidates = {r["suggestion_id"] for r in rounds} | {r["suggestion_id"] for r in promises}
    status = await rc.statuses_at(conn, prefix, m, ids=candidates)
    items: list[tuple[datetime, str, str, int, str]] = []  # due, kind, id, round, unit
    for r in rounds:
        if r["replied_at"] is None and r["due_at"] < m.text and status.get(r["suggestion_id"]) in OPEN:
            items.append((rc.from_text(r["due_at"]), "reply", r["suggestion_id"], r["round"], r["lead_unit_id"]))
    for r in promises:
        kept = r["carried_out_at"] is not None and r["carried_out_at"] <= m.text
        due = end_of(date.fromisoformat(r["promised_by"]), tz)
        if not kept and due < m.at and status.get(r["suggestion_id"]) not in (None,):
            items.append((due, "promise", r["suggestion_id"], r["round"], r["lead_unit_id"]))
    ids = list({i[2] for i in items})
    rows: dict[str, dict[str, Any]] = {}
    if ids:
        s = t.suggestions.c
        q2 = select(s.suggestion_id, s.title, s.jurisdiction, s.closed_because).where(s.suggestion_id.in_(ids))
        rows = {r["suggestion_id"]: dict(r) for r in (await conn.execute(q2)).mappings()}
    units = await rc.unit_rows(conn)
    out = []
    for due, kind, sid, rnd, unit in items:
        row = rows.get(sid)
        if row is None or (kind == "promise" and row["closed_because"] in ("merged", "escalated")):
            continue
        out.append(_overdue_item(sid, row["title"], row["jurisdiction"], unit, units, due, kind, m, round_=rnd))
    ro = t.review_opinions.c
    q3 = select(t.review_opinions, t.meetings.c.title.label("meeting_title")).join(
        t.meetings, t.meetings.c.meeting_id == ro.meeting_id, isouter=True
    )
    q3 = q3.where(
        rc.under(ro.body, prefix), rc.began(ro.sent_at, m), rc.not_ended(ro.answered_at, m), ro.due_at < m.text
    )
    for ro_row in (await conn.execute(q3)).mappings():
        r = dict(ro_row)
        title = f"审议意见：{r['meeting_title'] or r['content'][:40]}"
        item = _overdue_item(
            r["review_opinion_id"],
            title,
            r["body"],
            r["to_unit_id"],
            units,
            rc.from_text(r["due_at"]),
            "review_opinion",
            m,
        )
        item["suggestion_id"] = None
        item["review_opinion_id"] = r["review_opinion_id"]
        out.append(item)
    out.sort(key=lambda i: (i["due_at"], i["kind"], i["suggestion_id"] or i.get("review_opinion_id") or ""))
    return out


def _overdue_item(
    sid: str,
    title: str,
    township: str,
    unit: str,
    units: dict[str, dict[str, Any]],
    due: datetime,
    kind: str,
    m: Moment,
    round_: int | None = None,
) -> dict[str, Any]:
    late = m.at - due
    return {
        "suggestion_id": sid,
        "title": title,
        "township": township,
        "unit_id": unit,
        "unit": units.get(unit, {}).get("name"),
        "due_at": due,
        "overdue_for": iso_duration(late),
        "overdue_days": late.days,
        "kind": kind,
        "round": round_,
    }


# -- per township -------------------------------------------------------------------------------------
async def load_facts(conn: AsyncConnection, ref: Any, prefix: str, year: int, m: Moment, tz: ZoneInfo) -> Facts:
    f = Facts(moment=m)
    f.places, f.counties = await rc.places_under(conn, ref, prefix, m)
    codes = [p["code"] for p in f.places]
    f.status_counts = await rc.status_counts(conn, prefix, year, m)
    await rc.suggestion_records(conn, prefix, m, f, "jurisdiction")
    f.overdue = await overdue(conn, prefix, m, tz)
    for r in await rc.meeting_records(conn, codes, year, m):
        f.meetings[r.body].append(r)
    g = ref.groups.c
    later = await rc.unknown_at(conn, "group", m)
    for row in (await conn.execute(select(ref.groups).where(g.township.in_(codes)).order_by(g.name))).mappings():
        if row["group_id"] not in later:
            f.groups[row["township"]].append(dict(row))
    await rc.duty_records(conn, ref, codes, m, f)
    f.units = await rc.unit_rows(conn)
    return f


def records_of(f: Facts, code: str) -> SuggestionRecords:
    return SuggestionRecords(
        rounds=tuple(f.rounds.get(code, ())),
        replies=tuple(f.replies.get(code, ())),
        evaluations=tuple(f.evaluations.get(code, ())),
        promises=tuple(f.promises.get(code, ())),
    )


def unsatisfied_units(f: Facts, codes: set[str] | None, year: int, rules: Rules) -> list[dict[str, Any]]:
    """Units over the limit among the evaluations of ``codes`` (None: all loaded)."""
    evaluations = [e for code, es in f.evaluations.items() if codes is None or code in codes for e in es]
    counts = rates.unsatisfied_by_unit(evaluations, f.justified, year=year, as_of=f.moment.at, tz=rules.tz)
    out = []
    for unit_id, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if rates.over_unsatisfied_limit(n, rules.unsatisfied_limit):
            u = f.units.get(unit_id, {})
            out.append(
                fl.unit_flag(
                    u.get("name", unit_id),
                    n,
                    rules.unsatisfied_limit,
                    u.get("head", ""),
                    u.get("deputy_head", ""),
                    unit_id,
                )
            )
    return out


def _term_start(deputies: list[Any], code: str, year: int) -> date:
    own = [d.elected_on for d in deputies if d.of_congress(code) and d.elected_on]
    return min(own) if own else date(year, 1, 1)


def township_item(f: Facts, place: dict[str, Any], year: int, rules: Rules) -> dict[str, Any]:
    code, m, tz = place["code"], f.moment, rules.tz
    street = place["kind"] == "street"
    counts = f.status_counts.get(code, {})
    overdue_items = [i for i in f.overdue if i["township"] == code and i["kind"] == "reply"]
    period_as_of = m.day if m.day.year == year else None
    meetings = f.meetings.get(code, [])
    flags: list[dict[str, Any]] = []
    sessions_held = None
    quarters: dict[str, int | None] = {"Q1": None, "Q2": None, "Q3": None, "Q4": None}
    sessions: dict[str, Any] | None = None
    presidium: dict[str, Any] | None = None
    if not street:
        s = cp.sessions_compliance(
            meetings, township=code, year=year, tz=tz, min_days=rules.session_min_days, as_of=period_as_of
        )
        sessions_held = s.held
        sessions = {
            "held": s.held,
            "long_enough": s.long_enough,
            "required": s.required,
            "lengths": _lengths(meetings, year, tz),
        }
        flags += fl.session_flags(s, rules.session_min_days)
        p = cp.presidium_compliance(meetings, township=code, year=year, tz=tz, as_of=period_as_of)
        quarters = {f"Q{i + 1}": n for i, n in enumerate(p.per_quarter)}
        g = p.longest_gap
        presidium = {
            "quarters_missing": list(p.quarters_missing),
            "longest_gap": None
            if g is None
            else {"start": g.start, "end": g.end, "days": g.days, "open": g.open, "months": fl.gap_months(g)},
        }
        flags += fl.presidium_flags(p)
    groups = []
    for grp in f.groups.get(code, []):
        ga = cp.group_activity_compliance(
            meetings, group_id=grp["group_id"], township=code, year=year, tz=tz, as_of=period_as_of
        )
        groups.append({"group_id": grp["group_id"], "name": grp["name"], "held": ga.held, "required": ga.required})
        flags += fl.group_flags(ga, grp["name"])
    d = duty_of(f, code)
    inactive = td.inactive_deputies(
        d.deputies, d.activities, d.attended, d.submitted, township=code, on=m.day, period_months=rules.inactive_months
    )
    current = [x for x in d.deputies if x.of_congress(code) and x.current_on(m.day)]
    start = _term_start(d.deputies, code, year)
    cov = td.report_coverage(
        d.deputies,
        d.reports,
        township=code,
        year=year,
        term_start=start,
        term_end=start + relativedelta(years=5) - relativedelta(days=1),
        as_of=period_as_of,
    )
    if "meeting_share_below" in cov.flags:
        flags.append(fl.report_flag(cov.congress.at_meeting.numerator, cov.congress.at_meeting.denominator))
    if overdue_items:
        flags.append(fl.overdue_flag(len(overdue_items), max(i["overdue_days"] for i in overdue_items)))
    unit_codes = {u for u, row in f.units.items() if row["jurisdiction"] == code}
    if f.units_over is None:
        f.units_over = unsatisfied_units(f, None, year, rules)  # the same for every township: once
    flags += [x for x in f.units_over if x["details"]["unit_id"] in unit_codes]
    return {
        "code": code,
        "name": place["name"],
        "kind": place["kind"],
        "suggestions": {**{s: counts.get(s, 0) for s in STATUSES}, "overdue": len(overdue_items)},
        "overdue_oldest_days": max((i["overdue_days"] for i in overdue_items), default=0),
        "rates": rates.suggestion_rates(records_of(f, code), as_of=m.at, tz=tz, year=year),
        "sessions_held": sessions_held,
        "sessions": sessions,
        "presidium_meetings": quarters,
        "presidium": presidium,
        "group_activities": groups,
        "deputies": {
            "active": len(current) - len(inactive.congress),
            "inactive": len(inactive.congress),
            "other_levels_inactive": len(inactive.other_levels),
        },
        "reports_to_voters": {
            "deputies": cov.congress.deputies,
            "reported": cov.congress.reported.as_dict(),
            "at_meeting": cov.congress.at_meeting.as_dict(),
        },
        "flags": flags,
    }


def _lengths(meetings: list[cp.MeetingRecord], year: int, tz: ZoneInfo) -> list[dict[str, Any]]:
    out = []
    for r in sorted(meetings, key=lambda r: r.starts_at):
        if r.kind == "congress_session" and r.held and r.starts_at.astimezone(tz).year == year:
            out.append(
                {
                    "meeting_id": r.meeting_id,
                    "starts_at": r.starts_at,
                    "days": cp.session_days(r.starts_at, r.ends_at, tz),
                    "hours": round((r.ends_at - r.starts_at).total_seconds() / 3600, 1),
                }
            )
    return out


def rollup(
    f: Facts, code: str, name: str, kind: str, items: list[dict[str, Any]], year: int, rules: Rules
) -> dict[str, Any]:
    """A county (or the whole prefix): counts summed, rates from the combined records, flags counted."""
    mine = [i for i in items if i["code"].startswith(code)]
    records = SuggestionRecords.combine(records_of(f, i["code"]) for i in mine)
    # records filed on the county itself (escalated suggestions) belong to the county figure too
    records = SuggestionRecords.combine([records, records_of(f, code)])
    counts: dict[str, int] = defaultdict(int)
    for i in mine:
        for k, v in i["suggestions"].items():
            counts[k] += v
    for k, v in f.status_counts.get(code, {}).items():
        counts[k] += v
    flag_counts: dict[str, int] = defaultdict(int)
    for i in mine:
        for x in i["flags"]:
            flag_counts[x["code"]] += 1
    return {
        "code": code,
        "name": name,
        "kind": kind,
        "townships": len(mine),
        "suggestions": {k: counts.get(k, 0) for k in (*STATUSES, "overdue")},
        "rates": rates.suggestion_rates(records, as_of=f.moment.at, tz=rules.tz, year=year),
        "sessions_held": sum(i["sessions_held"] or 0 for i in mine),
        "deputies": {
            "active": sum(i["deputies"]["active"] for i in mine),
            "inactive": sum(i["deputies"]["inactive"] for i in mine),
        },
        "flags": [
            {"code": c, "message": f"{fl.FLAG_ZH.get(c, c)}：{n} 个乡镇（街道）", "townships": n}
            for c, n in sorted(flag_counts.items())
        ],
    }


# -- per unit ----------------------------------------------------------------------------------------------
async def unit_items(conn: AsyncConnection, prefix: str, year: int, m: Moment, rules: Rules) -> list[dict[str, Any]]:
    f = Facts(moment=m)
    await rc.suggestion_records(conn, prefix, m, f, "lead_unit_id")
    units = await rc.unit_rows(conn)
    evaluations = [e for es in f.evaluations.values() for e in es]
    unsatisfied = rates.unsatisfied_by_unit(evaluations, f.justified, year=year, as_of=m.at, tz=rules.tz)
    ids = {
        u
        for u, row in units.items()
        if row["jurisdiction"].startswith(prefix) and (row["known_at"] is None or row["known_at"] <= m.text)
    }
    ids |= set(f.rounds) | set(f.replies) | set(f.evaluations) | set(f.promises)
    out = []
    for unit_id in sorted(
        ids, key=lambda u: (units.get(u, {}).get("jurisdiction", ""), units.get(u, {}).get("name", u))
    ):
        u = units.get(unit_id, {})
        n = unsatisfied.get(unit_id, 0)
        over = rates.over_unsatisfied_limit(n, rules.unsatisfied_limit)
        out.append(
            {
                "unit_id": unit_id,
                "name": u.get("name", unit_id),
                "jurisdiction": u.get("jurisdiction"),
                "kind": u.get("kind"),
                "rates": rates.suggestion_rates(records_of(f, unit_id), as_of=m.at, tz=rules.tz, year=year),
                "unsatisfied": n,
                "limit": rules.unsatisfied_limit,
                "over_limit": over,
                "head": u.get("head") if over else None,
                "deputy_head": u.get("deputy_head") if over else None,
            }
        )
    return out
