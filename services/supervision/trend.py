"""Overdue items open at each month end: one read of the rounds, counted in memory per month end."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.supervision import tables as t
from services.supervision.records import OPEN, Moment, under
from services.supervision.tables import utc_text


def month_ends(m: Moment, tz: ZoneInfo, months: int = 12) -> list[tuple[str, datetime]]:
    """The last ``months`` month ends up to the view's day (the current month: the view's moment)."""
    first = m.day.replace(day=1)
    out = []
    for k in range(months - 1, -1, -1):
        start = first - relativedelta(months=k)
        nxt = start + relativedelta(months=1)
        end = datetime.combine(nxt, time(0), tzinfo=tz).astimezone(UTC) - timedelta(microseconds=1)
        out.append((f"{start.year}-{start.month:02d}", min(end, m.at)))
    return out


async def overdue_trend(conn: AsyncConnection, prefix: str, m: Moment, tz: ZoneInfo) -> list[dict[str, object]]:
    ends = month_ends(m, tz)
    horizon = utc_text(ends[-1][1])
    r = t.rounds.c
    rounds = (
        await conn.execute(
            select(r.suggestion_id, r.round, r.opened_at, r.first_due_at, r.replied_at, r.withdrawn_at).where(
                under(r.jurisdiction, prefix), r.opened_at <= horizon, r.first_due_at < horizon
            )
        )
    ).all()
    x = t.extensions.c
    extended: dict[tuple[str, int], list[tuple[str, str]]] = defaultdict(list)
    for sid, rnd, at, due in await conn.execute(
        select(x.suggestion_id, x.round, x.extended_at, x.new_due_at)
        .where(under(x.jurisdiction, prefix))
        .order_by(x.extended_at)
    ):
        extended[(sid, rnd)].append((at, due))
    s = t.statuses.c
    spans: dict[str, list[tuple[str, str | None, str]]] = defaultdict(list)
    for sid, start, end, status in await conn.execute(
        select(s.suggestion_id, s.valid_from, s.valid_to, s.status).where(
            under(s.jurisdiction, prefix), s.status.in_(OPEN)
        )
    ):
        spans[sid].append((start, end, status))
    out = []
    for label, end in ends:
        at = utc_text(end)
        n = 0
        for sid, rnd, opened, first_due, replied, withdrawn in rounds:
            if opened > at or (withdrawn is not None and withdrawn <= at) or (replied is not None and replied <= at):
                continue
            due = first_due
            for when, new_due in extended.get((sid, rnd), ()):
                if when <= at:
                    due = new_due
            if due >= at:
                continue
            if any(a <= at and (b is None or b > at) for a, b, _ in spans.get(sid, ())):
                n += 1
        out.append({"month": label, "open_overdue": n, "at": end})
    return out
