"""ISO-8601 durations counted on the calendar, as the Civil Code counts months.

pydantic reads ``P3M`` as 90 days; a legal deadline of three months from 31 January ends on
30 April, so durations are parsed with isodate (years and months kept apart) and added with
dateutil's relativedelta, which clamps to the month's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import isodate
from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class CalendarDuration:
    text: str
    months: int
    delta: timedelta  # days and clock time

    @classmethod
    def parse(cls, text: str) -> CalendarDuration:
        value = text.strip().upper()
        try:
            parsed = isodate.parse_duration(value)
        except (isodate.ISO8601Error, ValueError) as exc:
            raise ValueError(f"不是有效的 ISO-8601 时长（例如 P3M、P14D、PT5S）：{text!r}") from exc
        if isinstance(parsed, isodate.Duration):
            months = int(parsed.years) * 12 + int(parsed.months)
            if parsed.years != int(parsed.years) or parsed.months != int(parsed.months):
                raise ValueError(f"年和月必须是整数：{text!r}")
            delta = parsed.tdelta
        else:
            months, delta = 0, parsed
        if months < 0 or delta < timedelta(0) or (months == 0 and delta == timedelta(0)):
            raise ValueError(f"时长必须为正：{text!r}")
        return cls(text=value, months=months, delta=delta)

    def after(self, start: datetime, tz: ZoneInfo) -> datetime:
        """``start`` plus this duration, months counted on the local calendar of ``tz``."""
        local = start.astimezone(tz)
        return (local + relativedelta(months=self.months) + self.delta).astimezone(start.tzinfo or tz)

    def before(self, end: datetime, tz: ZoneInfo) -> datetime:
        local = end.astimezone(tz)
        return (local - relativedelta(months=self.months) - self.delta).astimezone(end.tzinfo or tz)

    def __str__(self) -> str:
        return self.text
