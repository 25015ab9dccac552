"""Pure calculations of the suggestion clocks: reply deadlines, the return window, reminders.

Durations are ISO-8601 counted on the calendar of ``RENDA_TIMEZONE`` as the Civil Code counts
months (2026-01-31 + P3M = 2026-04-30). The results are stored on the events once; replay never
calls these functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from libs.config.durations import CalendarDuration
from services.suggestions.domain.errors import NotForStreet

ConsultationPolicy = Literal["true", "face_to_face", "false"]


@dataclass(frozen=True)
class SuggestionPolicy:
    """The configured rules the decisions need, as plain values (built once from the settings)."""

    reply_deadline_normal: CalendarDuration
    reply_deadline_complex: CalendarDuration
    reply_deadline_rehandling: CalendarDuration
    return_window: CalendarDuration
    reminder_before: tuple[CalendarDuration, ...]
    require_consultation: ConsultationPolicy
    tz: ZoneInfo

    @classmethod
    def parse(
        cls,
        *,
        normal: str = "P3M",
        complex: str = "P6M",
        rehandling: str = "P1M",
        return_window: str = "P7D",
        reminder_before: str = "P14D,P3D",
        require_consultation: ConsultationPolicy = "true",
        timezone: str = "Asia/Shanghai",
    ) -> SuggestionPolicy:
        return cls(
            reply_deadline_normal=CalendarDuration.parse(normal),
            reply_deadline_complex=CalendarDuration.parse(complex),
            reply_deadline_rehandling=CalendarDuration.parse(rehandling),
            return_window=CalendarDuration.parse(return_window),
            reminder_before=tuple(CalendarDuration.parse(p) for p in reminder_before.split(",") if p.strip()),
            require_consultation=require_consultation,
            tz=ZoneInfo(timezone),
        )

    @classmethod
    def from_settings(cls, settings: Any) -> SuggestionPolicy:
        """From ``libs.config.settings.Settings`` (read by attribute, so the domain imports no I/O)."""
        return cls.parse(
            normal=settings.reply_deadline_normal,
            complex=settings.reply_deadline_complex,
            rehandling=settings.reply_deadline_rehandling,
            return_window=settings.return_window,
            reminder_before=settings.reminder_before,
            require_consultation=settings.require_consultation,
            timezone=settings.timezone,
        )


def reply_due_at(assigned_at: datetime, complexity: str, policy: SuggestionPolicy) -> datetime:
    """The first round's deadline: assignment time + 3 months (normal) or 6 months (complex)."""
    duration = policy.reply_deadline_complex if complexity == "complex" else policy.reply_deadline_normal
    return duration.after(assigned_at, policy.tz)


def rehandling_due_at(started_at: datetime, policy: SuggestionPolicy) -> datetime:
    """A re-handling round's deadline: its start + the re-handling duration (default 1 month)."""
    return policy.reply_deadline_rehandling.after(started_at, policy.tz)


def return_deadline(assigned_at: datetime, policy: SuggestionPolicy) -> datetime:
    """Until when the lead unit may hand a wrong assignment back (退办), default 7 days."""
    return policy.return_window.after(assigned_at, policy.tz)


def reminder_schedule(started_at: datetime, due_at: datetime, policy: SuggestionPolicy) -> list[tuple[str, datetime]]:
    """(lead time, when to remind) for each configured lead time that falls inside the round.

    A lead time longer than the whole round (P14D before a PT5S deadline) reminds nothing;
    the schedule is ordered by time, earliest first, one entry per distinct lead time.
    """
    schedule: dict[str, datetime] = {}
    for lead in policy.reminder_before:
        at = lead.before(due_at, policy.tz)
        if started_at < at < due_at:
            schedule.setdefault(lead.text, at)
    return sorted(schedule.items(), key=lambda item: item[1])


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def promise_passed(promised_by: date, now: datetime, tz: ZoneInfo) -> bool:
    """A promised date has passed once its local day is over."""
    return local_date(now, tz) > promised_by


def overdue_for(due_at: datetime, now: datetime) -> timedelta:
    """How long a deadline has been passed (zero before it), for the overdue board."""
    return max(now - due_at, timedelta(0))


# -- who acts for a street (街道): domain.md "street working committee" -------------------------------
STREET_ACTOR = "county_staff"  # county staff assign, extend and set key supervision of a street's suggestion


def check_street(is_street: bool, actor_role: str) -> None:
    """The one street rule of this context: for a street's suggestion only county staff act (403)."""
    if is_street and actor_role != STREET_ACTOR:
        raise NotForStreet()
