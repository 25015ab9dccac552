"""Compliance facts for the joint-supervision view, from plain meeting records.

- congress sessions: at least ``min_sessions`` (2) a year per township, each at least
  ``min_days`` long; one day = spans >= 6 hours, or touches two local dates;
- presidium meetings: at least one each calendar quarter, and no gap over 3 calendar months
  between meetings (an interval rule: both are checked and flagged separately);
- group activities: at least ``min_activities`` (2) a year per group.

Only held meetings count (convened or adjourned). Dates, years and quarters are local to ``tz``.
A rule about a period is broken only once the period has ended by ``as_of`` (default: the year's
end); the open gap up to ``as_of`` counts, so a presidium silent for too long shows at once.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

HELD_STATUSES = frozenset({"convened", "adjourned"})
DAY_HOURS = timedelta(hours=6)  # "at least one day": a session that spans six hours counts as a day


@dataclass(frozen=True)
class MeetingRecord:
    meeting_id: str
    kind: str
    body: str  # the township (or street) code
    starts_at: datetime
    ends_at: datetime
    status: str  # scheduled | convened | adjourned | cancelled
    group_id: str | None = None

    @property
    def held(self) -> bool:
        return self.status in HELD_STATUSES


@dataclass(frozen=True)
class SessionCompliance:
    township: str
    year: int
    held: int
    long_enough: int
    required: int
    short_session_ids: tuple[str, ...]
    period_complete: bool
    flags: tuple[str, ...]  # "session_too_short", "sessions_below_minimum"


@dataclass(frozen=True)
class Gap:
    start: date  # a meeting, the last one before the year, or 1 January when there is none
    end: date  # the next meeting, or ``as_of`` for the open gap
    days: int
    open: bool  # no meeting has ended it yet
    over_limit: bool


@dataclass(frozen=True)
class PresidiumCompliance:
    township: str
    year: int
    per_quarter: tuple[int, int, int, int]
    quarters_missing: tuple[int, ...]  # 1..4, ended quarters without a meeting
    longest_gap: Gap | None
    gaps_over_limit: tuple[Gap, ...]
    flags: tuple[str, ...]  # "quarter_without_presidium_meeting", "presidium_gap_over_3_months"


@dataclass(frozen=True)
class GroupActivityCompliance:
    group_id: str
    township: str
    year: int
    held: int
    required: int
    period_complete: bool
    flags: tuple[str, ...]  # "group_activities_below_minimum"


def local_date(dt: datetime, tz: ZoneInfo) -> date:
    return dt.astimezone(tz).date()


def session_days(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> int:
    """Local dates a session touches when two or more; else 1 if it spans six hours, else 0.

    An end at exactly local midnight does not touch the next date.
    """
    if ends_at <= starts_at:
        return 0
    first = local_date(starts_at, tz)
    last = local_date(ends_at - timedelta(microseconds=1), tz)
    dates = (last - first).days + 1
    if dates >= 2:
        return dates
    return 1 if ends_at - starts_at >= DAY_HOURS else 0


def session_long_enough(starts_at: datetime, ends_at: datetime, *, min_days: int, tz: ZoneInfo) -> bool:
    return session_days(starts_at, ends_at, tz) >= min_days


def _period_end(year: int, as_of: date | None) -> date:
    year_end = date(year, 12, 31)
    return year_end if as_of is None else min(as_of, year_end)


def _held(records: Iterable[MeetingRecord], kind: str, body: str, tz: ZoneInfo, until: date) -> list[MeetingRecord]:
    chosen = [
        r for r in records if r.kind == kind and r.body == body and r.held and local_date(r.starts_at, tz) <= until
    ]
    return sorted(chosen, key=lambda r: (r.starts_at, r.meeting_id))


def sessions_compliance(
    records: Iterable[MeetingRecord],
    *,
    township: str,
    year: int,
    tz: ZoneInfo,
    min_days: int = 1,
    min_sessions: int = 2,
    as_of: date | None = None,
) -> SessionCompliance:
    end = _period_end(year, as_of)
    sessions = [
        r for r in _held(records, "congress_session", township, tz, end) if local_date(r.starts_at, tz).year == year
    ]
    short = tuple(
        r.meeting_id for r in sessions if not session_long_enough(r.starts_at, r.ends_at, min_days=min_days, tz=tz)
    )
    long_enough = len(sessions) - len(short)
    complete = end == date(year, 12, 31)
    flags: list[str] = []
    if short:
        flags.append("session_too_short")
    if complete and long_enough < min_sessions:
        flags.append("sessions_below_minimum")
    return SessionCompliance(
        township=township,
        year=year,
        held=len(sessions),
        long_enough=long_enough,
        required=min_sessions,
        short_session_ids=short,
        period_complete=complete,
        flags=tuple(flags),
    )


def quarter_of(d: date) -> int:
    return (d.month - 1) // 3 + 1


def _quarter_end(year: int, quarter: int) -> date:
    return date(year, quarter * 3, 1) + relativedelta(months=1, days=-1)


def presidium_compliance(
    records: Iterable[MeetingRecord],
    *,
    township: str,
    year: int,
    tz: ZoneInfo,
    max_gap_months: int = 3,
    as_of: date | None = None,
) -> PresidiumCompliance:
    """Give every presidium meeting of the township, earlier years included: the last one before
    the year starts the first gap (1 January when there is none)."""
    end = _period_end(year, as_of)
    dates = [local_date(r.starts_at, tz) for r in _held(records, "presidium_meeting", township, tz, end)]
    in_year = [d for d in dates if d.year == year]
    before = [d for d in dates if d.year < year]
    per_quarter = [0, 0, 0, 0]
    for d in in_year:
        per_quarter[quarter_of(d) - 1] += 1
    missing = tuple(q for q in range(1, 5) if per_quarter[q - 1] == 0 and _quarter_end(year, q) <= end)

    limit = relativedelta(months=max_gap_months)
    points = [before[-1] if before else date(year, 1, 1), *in_year]
    gaps = [
        Gap(start=a, end=b, days=(b - a).days, open=False, over_limit=b > a + limit)
        for a, b in itertools.pairwise(points)
    ]
    if end > points[-1]:
        last = points[-1]
        gaps.append(Gap(start=last, end=end, days=(end - last).days, open=True, over_limit=end > last + limit))
    longest = max(gaps, key=lambda g: (g.days, g.end), default=None)
    over = tuple(g for g in gaps if g.over_limit)
    flags: list[str] = []
    if missing:
        flags.append("quarter_without_presidium_meeting")
    if over:
        flags.append("presidium_gap_over_3_months")
    return PresidiumCompliance(
        township=township,
        year=year,
        per_quarter=(per_quarter[0], per_quarter[1], per_quarter[2], per_quarter[3]),
        quarters_missing=missing,
        longest_gap=longest,
        gaps_over_limit=over,
        flags=tuple(flags),
    )


def group_activity_compliance(
    records: Iterable[MeetingRecord],
    *,
    group_id: str,
    township: str,
    year: int,
    tz: ZoneInfo,
    min_activities: int = 2,
    as_of: date | None = None,
) -> GroupActivityCompliance:
    end = _period_end(year, as_of)
    held = sum(
        1
        for r in records
        if r.kind == "group_activity"
        and r.group_id == group_id
        and r.held
        and local_date(r.starts_at, tz).year == year
        and local_date(r.starts_at, tz) <= end
    )
    complete = end == date(year, 12, 31)
    flags = ("group_activities_below_minimum",) if complete and held < min_activities else ()
    return GroupActivityCompliance(
        group_id=group_id,
        township=township,
        year=year,
        held=held,
        required=min_activities,
        period_complete=complete,
        flags=flags,
    )
