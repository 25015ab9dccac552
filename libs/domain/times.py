"""Times in and out of the API, one rule for every service (contract "Lists, times and identifiers").

- Every time the system answers carries the offset of ``RENDA_TIMEZONE`` (``+08:00`` by default):
  use ``LocalTime`` in response models, or ``local_iso`` where a string is written by hand (CSV,
  minutes, exports).
- Where a time is expected, a bare date is accepted: ``StartTime`` reads it as the start of that
  day in the zone, ``DeadlineTime`` as its end (``new_due_at``, ``promised_by``, ``window_end``).
  A time without an offset is read in the zone too.
- Dates before 1949 or more than 50 years ahead are refused (``DateInRange``, and both time
  types): a clerk's typo (0013, 2205) never reaches the event store.
- Non-date JSON types (``0``, ``false``) are refused, never read as 1970-01-01.

The zone is configured once per process by ``configure(settings.tz)`` (``create_app`` does it);
until then it is Asia/Shanghai, the contract's default.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BeforeValidator, PlainSerializer

EARLIEST_YEAR = 1949
YEARS_AHEAD = 50

_zone: list[ZoneInfo] = [ZoneInfo("Asia/Shanghai")]


def configure(tz: ZoneInfo) -> None:
    _zone[0] = tz


def zone() -> ZoneInfo:
    return _zone[0]


def local(dt: datetime) -> datetime:
    """``dt`` in the configured zone (a naive value is taken to be in that zone already)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=zone())
    return dt.astimezone(zone())


def local_iso(dt: datetime | None) -> str | None:
    return None if dt is None else local(dt).isoformat()


def latest_allowed(today: date | None = None) -> date:
    today = today or datetime.now(zone()).date()
    try:
        return today.replace(year=today.year + YEARS_AHEAD)
    except ValueError:  # 29 February
        return today.replace(year=today.year + YEARS_AHEAD, day=28)


def check_range(d: date) -> date:
    if d.year < EARLIEST_YEAR:
        raise ValueError(f"日期不能早于 {EARLIEST_YEAR} 年，请检查年份（收到 {d.isoformat()}）")
    if d > latest_allowed():
        raise ValueError(f"日期不能晚于 {YEARS_AHEAD} 年之后，请检查年份（收到 {d.isoformat()}）")
    return d


def _refuse_non_text(v: Any, what: str) -> None:
    if isinstance(v, bool | int | float) or v is None:
        raise ValueError(f"应为{what}文本，例如 2026-03-01，不能是数字或真假值")


def parse_date(v: Any) -> date:
    if isinstance(v, datetime):
        return check_range(local(v).date())
    if isinstance(v, date):
        return check_range(v)
    _refuse_non_text(v, "日期")
    try:
        return check_range(date.fromisoformat(str(v).strip()))
    except ValueError as exc:
        if "日期" in str(exc):
            raise
        raise ValueError("日期格式应为 YYYY-MM-DD，例如 2026-03-01") from None


def parse_time(v: Any, *, end_of_day: bool = False) -> datetime:
    if isinstance(v, datetime):
        dt = local(v) if v.tzinfo is None else v
    elif isinstance(v, date):
        dt = _from_date(v, end_of_day)
    else:
        _refuse_non_text(v, "时间")
        text = str(v).strip()
        if len(text) == 10:  # a bare date
            return _from_date(parse_date(text), end_of_day)
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("时间格式应为 ISO-8601，例如 2026-03-01T09:00:00+08:00，或只写日期 2026-03-01") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=zone())
    check_range(local(dt).date())
    return dt


def _from_date(d: date, end_of_day: bool) -> datetime:
    check_range(d)
    if end_of_day:
        return datetime.combine(d + timedelta(days=1), time(), zone()) - timedelta(microseconds=1)
    return datetime.combine(d, time(), zone())


def _serialize(dt: datetime) -> str:
    return local(dt).isoformat()


# In request models: a time (or a bare date: start of day); a deadline (bare date: end of day); a date.
StartTime = Annotated[datetime, BeforeValidator(lambda v: parse_time(v)), PlainSerializer(_serialize, return_type=str)]
DeadlineTime = Annotated[
    datetime, BeforeValidator(lambda v: parse_time(v, end_of_day=True)), PlainSerializer(_serialize, return_type=str)
]
DateInRange = Annotated[date, BeforeValidator(parse_date)]
# In response models: any stored time, answered with the zone's offset.
LocalTime = Annotated[datetime, PlainSerializer(_serialize, return_type=str)]


def shown(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as a page shows it: in the zone, without seconds ("" for nothing; a date as it is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return local(value).strftime(fmt)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
