"""Reading the facts under a jurisdiction prefix as they stood at a moment.

``Moment``: the live view is ``now``; ``as_of=D`` is the end of day D in ``RENDA_TIMEZONE`` (today:
now, since the rest of today has not happened). Every fact row carries the time it became true and,
where it can end, the time it ended; a row counts when it began by the moment and had not ended.
The records handed to ``libs/figures`` are the same for the live view and any past day: the
figure functions filter by ``as_of`` themselves.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.figures.compliance import MeetingRecord
from libs.figures.duty import ActivityRecord, AttendanceRecord, DeputyRecord, SuggestionRecord
from libs.figures.rates import EvaluationRecord, PromiseRecord, ReplyRecord, RoundRecord
from services.supervision import clock
from services.supervision import tables as t
from services.supervision.tables import from_date, from_text, row_date, utc_text

__all__ = ["from_text"]  # also read by view.py

OPEN = ("assigned", "rehandling")


@dataclass(frozen=True)
class Moment:
    at: datetime  # UTC
    day: date  # the local day it falls on
    as_of: date | None  # the day asked for; None: live
    past: bool = False  # the end of a past day: the clock can no longer change what it shows

    @property
    def historical(self) -> bool:
        return self.as_of is not None

    @property
    def text(self) -> str:
        return utc_text(self.at)

    @classmethod
    def of(cls, as_of: date | None, tz: ZoneInfo, now: datetime | None = None) -> Moment:
        now = now or clock.now()
        today = now.astimezone(tz).date()
        if as_of is None or as_of >= today:
            return cls(now, today, as_of)
        end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=tz) - timedelta(microseconds=1)
        return cls(end.astimezone(UTC), as_of, as_of, past=True)


def under(column: Any, prefix: str) -> Any:
    return column.startswith(prefix, autoescape=True)


def began(column: Any, m: Moment) -> Any:
    return column <= m.text


def not_ended(column: Any, m: Moment) -> Any:
    return or_(column.is_(None), column > m.text)


@dataclass
class Facts:
    """Everything the township figures need for one prefix, at one moment."""

    moment: Moment
    places: list[dict[str, Any]] = field(default_factory=list)  # townships and streets, by code
    counties: list[dict[str, Any]] = field(default_factory=list)
    status_counts: dict[str, dict[str, int]] = field(default_factory=dict)  # township -> status -> n
    rounds: dict[str, list[RoundRecord]] = field(default_factory=lambda: defaultdict(list))
    replies: dict[str, list[ReplyRecord]] = field(default_factory=lambda: defaultdict(list))
    evaluations: dict[str, list[EvaluationRecord]] = field(default_factory=lambda: defaultdict(list))
    promises: dict[str, list[PromiseRecord]] = field(default_factory=lambda: defaultdict(list))
    justified: set[str] = field(default_factory=set)
    overdue: list[dict[str, Any]] = field(default_factory=list)  # the board's items
    meetings: dict[str, list[MeetingRecord]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    deputies: list[DeputyRecord] = field(default_factory=list)
    activities: list[ActivityRecord] = field(default_factory=list)
    reports: list[ActivityRecord] = field(default_factory=list)
    attended: list[AttendanceRecord] = field(default_factory=list)
    submitted: list[SuggestionRecord] = field(default_factory=list)
    units: dict[str, dict[str, Any]] = field(default_factory=dict)
    duty_index: dict[str, dict[str, list[Any]]] | None = None  # the duty records by deputy (view.duty_of)
    units_over: list[dict[str, Any]] | None = None  # units over the unsatisfied limit (view.township_item)


async def unknown_at(conn: AsyncConnection, kind: str, m: Moment, prefix: str | None = None) -> set[str]:
    """Ids of ``kind`` (jurisdiction, deputy, group) that became known only after ``m`` (none when live)."""
    if not m.historical:
        return set()
    k = t.known.c
    q = select(k.id).where(k.kind == kind, k.known_at > m.text)
    if prefix is not None:
        q = q.where(under(k.id, prefix))
    return {i for (i,) in await conn.execute(q)}


async def terminations_unknown_at(conn: AsyncConnection, m: Moment) -> set[str]:
    """Deputies whose termination was recorded only after ``m``: still seated in the view of ``m``."""
    if not m.historical:
        return set()
    k = t.known.c
    q = select(k.id).where(k.kind == "deputy", k.ended_at > m.text)
    return {i for (i,) in await conn.execute(q)}


async def places_under(
    conn: AsyncConnection, ref: Any, prefix: str, m: Moment | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The townships, streets and counties under ``prefix`` known at ``m`` (a past view shows only those)."""
    j = ref.jurisdictions.c
    rows = (
        (await conn.execute(select(ref.jurisdictions).where(under(j.code, prefix)).order_by(j.code))).mappings().all()
    )
    later = await unknown_at(conn, "jurisdiction", m, prefix) if m is not None else set()
    rows = [r for r in rows if r["code"] not in later]
    places = [dict(r) for r in rows if r["kind"] in ("township", "street")]
    counties = [dict(r) for r in rows if r["kind"] == "county"]
    return places, counties


async def status_counts(conn: AsyncConnection, prefix: str, year: int, m: Moment) -> dict[str, dict[str, int]]:
    s = t.statuses.c
    live = s.valid_to.is_(None)
    when = live if not m.historical else and_(began(s.valid_from, m), not_ended(s.valid_to, m))
    q = (
        select(s.jurisdiction, s.status, func.count())
        .where(under(s.jurisdiction, prefix), s.submitted_year == year, when)
        .group_by(s.jurisdiction, s.status)
    )
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for code, status, n in await conn.execute(q):
        out[code][status] = int(n)
    return out


async def _due_at(conn: AsyncConnection, prefix: str, m: Moment) -> dict[tuple[str, int], str]:
    """Each round's deadline as it stood at ``m`` (the latest extension by then), historical only."""
    x = t.extensions.c
    rows = await conn.execute(
        select(x.suggestion_id, x.round, x.new_due_at, x.extended_at)
        .where(under(x.jurisdiction, prefix), began(x.extended_at, m))
        .order_by(x.extended_at)
    )
    return {(sid, rnd): due for sid, rnd, due, _ in rows}


async def rounds_at(
    conn: AsyncConnection, prefix: str, m: Moment, open_due_before: str | None = None
) -> list[dict[str, Any]]:
    """The rounds as they stood at ``m``; ``open_due_before`` (live only): just the unanswered ones due by then."""
    r = t.rounds.c
    q = select(t.rounds).where(under(r.jurisdiction, prefix), began(r.opened_at, m), not_ended(r.withdrawn_at, m))
    if open_due_before is not None:
        assert not m.historical  # a past view's deadlines and replies are those of its day (below)
        q = q.where(r.replied_at.is_(None), r.due_at < open_due_before)
    rows = [dict(x) for x in (await conn.execute(q)).mappings()]
    if m.historical:
        extended = await _due_at(conn, prefix, m)
        for row in rows:
            row["due_at"] = extended.get((row["suggestion_id"], row["round"]), row["first_due_at"])
            if row["replied_at"] is not None and row["replied_at"] > m.text:
                row["replied_at"] = None
    return rows


async def suggestion_records(conn: AsyncConnection, prefix: str, m: Moment, facts: Facts, key: str) -> None:
    """The records of the rates, grouped by ``key`` ("jurisdiction" or "lead_unit_id")."""
    row: Any
    for row in await rounds_at(conn, prefix, m):
        facts.rounds[row[key]].append(
            RoundRecord(row["suggestion_id"], row["round"], from_text(row["due_at"]), from_text(row["replied_at"]))
        )
    rp = t.replies.c
    for row in (await conn.execute(select(t.replies).where(under(rp.jurisdiction, prefix)))).mappings():
        facts.replies[row[key]].append(
            ReplyRecord(
                row["suggestion_id"],
                row["round"],
                row["result"],
                from_text(row["replied_at"]),
                tuple(row["consultation_modes"]),
            )
        )
    ev = t.evaluations.c
    for row in (await conn.execute(select(t.evaluations).where(under(ev.jurisdiction, prefix)))).mappings():
        facts.evaluations[row[key]].append(
            EvaluationRecord(
                row["suggestion_id"], row["lead_unit_id"], row["satisfaction"], from_text(row["evaluated_at"])
            )
        )
    p = t.promises.c
    q = select(t.promises).where(under(p.jurisdiction, prefix), began(p.made_at, m), not_ended(p.superseded_at, m))
    for row in (await conn.execute(q)).mappings():
        kept = row["carried_out_on"] if row["carried_out_at"] is not None and row["carried_out_at"] <= m.text else None
        facts.promises[row[key]].append(
            PromiseRecord(row["suggestion_id"], row["round"], row_date(row["promised_by"]), from_date(kept))
        )
    j = t.justified.c
    q2 = select(j.suggestion_id).where(under(j.jurisdiction, prefix), began(j.justified_at, m))
    facts.justified = {sid for (sid,) in await conn.execute(q2)}


async def unit_rows(conn: AsyncConnection) -> dict[str, dict[str, Any]]:
    return {r["unit_id"]: dict(r) for r in (await conn.execute(select(t.units))).mappings()}


async def statuses_at(conn: AsyncConnection, prefix: str, m: Moment, ids: set[str] | None = None) -> dict[str, str]:
    """Each suggestion's status at ``m`` (only ``ids`` when given)."""
    s = t.statuses.c
    when = s.valid_to.is_(None) if not m.historical else and_(began(s.valid_from, m), not_ended(s.valid_to, m))
    if ids is not None and not ids:
        return {}
    out: dict[str, str] = {}
    for part in [None] if ids is None else [sorted(ids)[i : i + 500] for i in range(0, len(ids), 500)]:
        q = select(s.suggestion_id, s.status).where(under(s.jurisdiction, prefix), when)
        if part is not None:
            q = q.where(s.suggestion_id.in_(part))
        out.update({sid: status for sid, status in await conn.execute(q)})
    return out


async def meeting_records(conn: AsyncConnection, codes: list[str], year: int, m: Moment) -> list[MeetingRecord]:
    mt = t.meetings.c
    q = select(t.meetings).where(
        mt.body.in_(codes),
        mt.kind.in_(("congress_session", "presidium_meeting", "group_activity")),
        mt.starts_at < utc_text(datetime(year + 1, 1, 2, tzinfo=UTC)),
    )
    out = []
    for row in (await conn.execute(q)).mappings():
        out.append(
            MeetingRecord(
                meeting_id=row["meeting_id"],
                kind=row["kind"],
                body=row["body"],
                starts_at=from_text(row["starts_at"]),
                ends_at=from_text(row["ends_at"]),
                status=meeting_status(row, m),
                group_id=row["group_id"],
            )
        )
    return out


def meeting_status(row: Any, m: Moment) -> str:
    for column, status in (("cancelled_at", "cancelled"), ("adjourned_at", "adjourned"), ("convened_at", "convened")):
        if row[column] is not None and row[column] <= m.text:
            return status
    return "scheduled"


async def duty_records(conn: AsyncConnection, ref: Any, codes: list[str], m: Moment, facts: Facts) -> None:
    """Deputies grouped in (or elected to) the townships, and their latest activity of each kind."""
    d = ref.deputies.c
    q = select(ref.deputies).where(or_(d.township.in_(codes), and_(d.level == "township", d.congress.in_(codes))))
    later = await unknown_at(conn, "deputy", m)
    pending = await terminations_unknown_at(conn, m)
    rows = [dict(r) for r in (await conn.execute(q)).mappings() if r["deputy_id"] not in later]
    facts.deputies = [
        DeputyRecord(
            deputy_id=r["deputy_id"],
            level=r["level"],
            congress=r["congress"],
            township=r["township"],
            elected_on=r["elected_on"],
            terminated_on=None if r["deputy_id"] in pending else r["terminated_on"],
        )
        for r in rows
    ]
    ids = [r["deputy_id"] for r in rows]
    if not ids:
        return
    day = m.day.isoformat()
    a = t.activities.c
    latest = await conn.execute(
        select(a.deputy_id, func.max(a.on_date))
        .where(a.deputy_id.in_(ids), a.on_date <= day, began(a.known_at, m))
        .group_by(a.deputy_id)
    )
    facts.activities = [ActivityRecord(i, "reception", date.fromisoformat(on)) for i, on in latest]
    reports = await conn.execute(
        select(a.deputy_id, a.on_date, a.people_count, a.report_mode).where(
            a.deputy_id.in_(ids), a.kind == "report_to_voters", a.on_date <= day, began(a.known_at, m)
        )
    )
    facts.reports = [
        ActivityRecord(i, "report_to_voters", date.fromisoformat(on), n, mode) for i, on, n, mode in reports
    ]
    p = t.presence.c
    present = await conn.execute(
        select(p.deputy_id, func.max(p.on_date))
        .where(p.deputy_id.in_(ids), p.status == "present", p.on_date <= day, began(p.known_at, m))
        .group_by(p.deputy_id)
    )
    facts.attended = [AttendanceRecord(i, "latest", date.fromisoformat(on), "present") for i, on in present]
    s = t.submitters.c
    submitted = await conn.execute(
        select(s.deputy_id, func.max(s.submitted_on))
        .where(s.deputy_id.in_(ids), s.submitted_on <= day, began(s.known_at, m))
        .group_by(s.deputy_id)
    )
    facts.submitted = [SuggestionRecord(f"latest-{i}", date.fromisoformat(on), (i,)) for i, on in submitted]
