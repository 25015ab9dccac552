from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.figures.compliance import (
    MeetingRecord,
    group_activity_compliance,
    presidium_compliance,
    session_days,
    sessions_compliance,
)

TZ = ZoneInfo("Asia/Shanghai")
T = "340403001"


def at(y: int, mo: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


def rec(
    kind: str,
    starts_at: datetime,
    hours: float = 3,
    status: str = "adjourned",
    body: str = T,
    group: str | None = None,
) -> MeetingRecord:
    mid = f"{kind}-{starts_at.isoformat()}"
    return MeetingRecord(mid, kind, body, starts_at, starts_at + timedelta(hours=hours), status, group)


# --- how long a session is -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_at", "ends_at", "days"),
    [
        (at(2025, 3, 1, 8), at(2025, 3, 1, 14), 1),  # exactly six hours
        (at(2025, 3, 1, 8), at(2025, 3, 1, 13, 59), 0),  # one minute short
        (at(2025, 3, 1, 15), at(2025, 3, 2, 11), 2),  # two local dates
        (at(2025, 3, 1, 23), at(2025, 3, 2, 1), 2),  # two local dates, two hours
        (at(2025, 3, 1, 18), at(2025, 3, 2, 0), 1),  # ends at local midnight: one date, six hours
        (at(2025, 3, 1, 8, 30), at(2025, 3, 3, 12), 3),
        # 15:00–18:00 UTC is 23:00–02:00 in Shanghai: two local dates, though one UTC date
        (datetime(2025, 3, 1, 15, tzinfo=UTC), datetime(2025, 3, 1, 18, tzinfo=UTC), 2),
    ],
)
def test_a_session_day_is_six_hours_or_two_local_dates(starts_at: datetime, ends_at: datetime, days: int) -> None:
    assert session_days(starts_at, ends_at, TZ) == days


# --- sessions ------------------------------------------------------------------------------------


def test_two_sessions_of_a_day_each_comply() -> None:
    records = [rec("congress_session", at(2025, 1, 8), 8), rec("congress_session", at(2025, 7, 15), 7)]
    facts = sessions_compliance(records, township=T, year=2025, tz=TZ)
    assert (facts.held, facts.long_enough, facts.flags) == (2, 2, ())


def test_a_short_session_is_flagged_and_does_not_count() -> None:
    short = rec("congress_session", at(2025, 7, 15), 2)
    records = [rec("congress_session", at(2025, 1, 8), 8), short]
    facts = sessions_compliance(records, township=T, year=2025, tz=TZ)
    assert facts.short_session_ids == (short.meeting_id,)
    assert facts.flags == ("session_too_short", "sessions_below_minimum")


def test_cancelled_and_merely_scheduled_sessions_do_not_count() -> None:
    records = [
        rec("congress_session", at(2025, 1, 8), 8),
        rec("congress_session", at(2025, 6, 8), 8, status="cancelled"),
        rec("congress_session", at(2025, 9, 8), 8, status="scheduled"),
        rec("congress_session", at(2025, 10, 8), 8, body="340403002"),
    ]
    facts = sessions_compliance(records, township=T, year=2025, tz=TZ)
    assert (facts.held, facts.flags) == (1, ("sessions_below_minimum",))


def test_too_few_sessions_are_flagged_only_once_the_year_is_over() -> None:
    records = [rec("congress_session", at(2025, 1, 8), 8)]
    midyear = sessions_compliance(records, township=T, year=2025, tz=TZ, as_of=date(2025, 6, 30))
    assert (midyear.period_complete, midyear.flags) == (False, ())


def test_a_county_demanding_two_days_counts_two_local_dates() -> None:
    records = [rec("congress_session", at(2025, 1, 8), 8), rec("congress_session", at(2025, 7, 15, 8), 33)]
    facts = sessions_compliance(records, township=T, year=2025, tz=TZ, min_days=2)
    assert (facts.long_enough, facts.flags) == (1, ("session_too_short", "sessions_below_minimum"))


def test_the_year_is_the_local_year() -> None:
    # 31 Dec 2024 17:00 UTC is 1 Jan 2025 01:00 in Shanghai
    late = MeetingRecord(
        "s",
        "congress_session",
        T,
        datetime(2024, 12, 31, 17, tzinfo=UTC),
        datetime(2025, 1, 1, 3, tzinfo=UTC),
        "adjourned",
    )
    assert sessions_compliance([late], township=T, year=2025, tz=TZ).held == 1
    assert sessions_compliance([late], township=T, year=2024, tz=TZ).held == 0


# --- presidium meetings --------------------------------------------------------------------------


def presidium(*days: date, status: str = "adjourned") -> list[MeetingRecord]:
    return [rec("presidium_meeting", at(d.year, d.month, d.day), status=status) for d in days]


def test_one_meeting_a_quarter_without_long_gaps_complies() -> None:
    records = presidium(date(2024, 12, 20), date(2025, 3, 10), date(2025, 6, 5), date(2025, 9, 1), date(2025, 11, 28))
    facts = presidium_compliance(records, township=T, year=2025, tz=TZ)
    assert facts.per_quarter == (1, 1, 1, 1)
    assert facts.flags == ()
    assert facts.longest_gap is not None and facts.longest_gap.days == 88  # 1 Sep → 28 Nov


def test_a_quarter_without_a_meeting_is_flagged() -> None:
    records = presidium(date(2025, 1, 10), date(2025, 2, 10), date(2025, 4, 20), date(2025, 10, 2), date(2025, 12, 1))
    facts = presidium_compliance(records, township=T, year=2025, tz=TZ)
    assert facts.per_quarter == (2, 1, 0, 2)
    assert facts.quarters_missing == (3,)
    assert "quarter_without_presidium_meeting" in facts.flags


def test_a_gap_over_three_calendar_months_is_flagged_even_with_every_quarter_covered() -> None:
    # 10 Jan → 11 Apr is over three months although Q1 and Q2 both have a meeting
    records = presidium(
        date(2024, 12, 1),
        date(2025, 1, 10),
        date(2025, 4, 11),
        date(2025, 7, 1),
        date(2025, 10, 1),
        date(2025, 12, 20),
    )
    facts = presidium_compliance(records, township=T, year=2025, tz=TZ)
    assert facts.quarters_missing == ()
    assert [(g.start, g.end) for g in facts.gaps_over_limit] == [(date(2025, 1, 10), date(2025, 4, 11))]
    assert facts.flags == ("presidium_gap_over_3_months",)


def test_exactly_three_calendar_months_is_not_over() -> None:
    records = presidium(
        date(2024, 12, 15),
        date(2025, 1, 10),
        date(2025, 4, 10),
        date(2025, 7, 10),
        date(2025, 10, 10),
        date(2025, 12, 31),
    )
    assert presidium_compliance(records, township=T, year=2025, tz=TZ).flags == ()


def test_gaps_are_counted_in_calendar_months_not_days() -> None:
    # 1 Dec 2024 → 2 Mar 2025 is 91 days and over three months; 1 Jul → 1 Oct is 92 days and not
    records = presidium(
        date(2024, 12, 1),
        date(2025, 3, 2),
        date(2025, 5, 30),
        date(2025, 7, 1),
        date(2025, 10, 1),
        date(2025, 12, 20),
    )
    facts = presidium_compliance(records, township=T, year=2025, tz=TZ)
    assert [(g.start, g.days) for g in facts.gaps_over_limit] == [(date(2024, 12, 1), 91)]
    assert facts.longest_gap is not None and facts.longest_gap.days == 92 and not facts.longest_gap.over_limit


def test_a_presidium_silent_too_long_shows_at_once_as_an_open_gap() -> None:
    records = presidium(date(2024, 12, 20), date(2025, 2, 1))
    facts = presidium_compliance(records, township=T, year=2025, tz=TZ, as_of=date(2025, 5, 2))
    assert facts.quarters_missing == ()  # Q2 has not ended yet
    [gap] = facts.gaps_over_limit
    assert (gap.start, gap.end, gap.open) == (date(2025, 2, 1), date(2025, 5, 2), True)
    assert facts.flags == ("presidium_gap_over_3_months",)


def test_no_meeting_at_all_flags_both_rules() -> None:
    facts = presidium_compliance(presidium(date(2025, 3, 1), status="cancelled"), township=T, year=2025, tz=TZ)
    assert facts.per_quarter == (0, 0, 0, 0) and facts.quarters_missing == (1, 2, 3, 4)
    assert facts.flags == ("quarter_without_presidium_meeting", "presidium_gap_over_3_months")


# --- group activities ----------------------------------------------------------------------------


def test_each_group_needs_two_activities_a_year() -> None:
    records = [
        rec("group_activity", at(2025, 3, 1), group="g1"),
        rec("group_activity", at(2025, 9, 1), group="g1"),
        rec("group_activity", at(2025, 9, 1), group="g2"),
        rec("group_activity", at(2025, 10, 1), group="g2", status="cancelled"),
        rec("group_activity", at(2024, 10, 1), group="g2"),
    ]
    g1 = group_activity_compliance(records, group_id="g1", township=T, year=2025, tz=TZ)
    g2 = group_activity_compliance(records, group_id="g2", township=T, year=2025, tz=TZ)
    g3 = group_activity_compliance(records, group_id="g3", township=T, year=2025, tz=TZ)
    assert (g1.held, g1.flags) == (2, ())
    assert (g2.held, g2.flags) == (1, ("group_activities_below_minimum",))
    assert (g3.held, g3.flags) == (0, ("group_activities_below_minimum",))
    midyear = group_activity_compliance(records, group_id="g2", township=T, year=2025, tz=TZ, as_of=date(2025, 9, 30))
    assert (midyear.held, midyear.flags) == (1, ())
