"""The rates of domain.md "Exact definitions" against a township counted by hand.

Fixture township 340403001, year 2026, seen as of the end of 2026 (Asia/Shanghai). Units:
U1 财政所, U2 土地所, U3 派出所. The records are what a read model would hold.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.suggestions.domain.rates import (
    EvaluationRecord,
    PromiseRecord,
    ReplyRecord,
    RoundRecord,
    SuggestionRecords,
    on_time_reply_rate,
    over_unsatisfied_limit,
    rate,
    records_of,
    suggestion_rates,
    unsatisfied_by_unit,
)
from services.suggestions.domain.state import Promise, Round, Suggestion

TZ = ZoneInfo("Asia/Shanghai")
UTC = ZoneInfo("UTC")
AS_OF = datetime(2026, 12, 31, 23, 59, 59, tzinfo=TZ)
F2F, PHONE, ONLINE = "face_to_face", "phone", "online"


def at(y: int, m: int, d: int, tz: ZoneInfo = TZ, h: int = 9, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=tz)


ROUNDS = (
    RoundRecord("S1", 1, due_at=at(2026, 4, 30), replied_at=at(2026, 4, 10)),  # on time
    RoundRecord("S2", 1, due_at=at(2026, 5, 31), replied_at=at(2026, 6, 5)),  # late
    RoundRecord("S2", 2, due_at=at(2026, 7, 10), replied_at=at(2026, 7, 1)),  # re-handling, on time
    RoundRecord("S3", 1, due_at=at(2026, 6, 30)),  # overdue and unanswered: late
    RoundRecord("S4", 1, due_at=at(2027, 2, 28)),  # not yet due: left out
    RoundRecord("S5", 1, due_at=at(2027, 3, 31), replied_at=at(2026, 12, 20)),  # answered early: on time
    RoundRecord("S6", 1, due_at=at(2025, 12, 31), replied_at=at(2025, 12, 15)),  # 2025
    RoundRecord("S8", 1, due_at=at(2025, 12, 20), replied_at=at(2026, 1, 5)),  # late, but due in 2025
    RoundRecord("S9", 1, due_at=at(2026, 4, 30), replied_at=at(2026, 2, 10)),  # on time
    RoundRecord("S10", 1, due_at=at(2026, 5, 31), replied_at=at(2026, 3, 1)),  # on time
    RoundRecord("S10", 2, due_at=at(2026, 4, 5)),  # re-handling, unanswered past due: late
)
# on time 2026: S1r1, S2r2, S5r1, S9r1, S10r1 = 5; late: S2r1, S3r1, S10r2 = 3 → 5 / 8

REPLIES = (
    ReplyRecord("S1", 1, "A", at(2026, 4, 10), (F2F,)),
    ReplyRecord("S2", 1, "C", at(2026, 6, 5), (PHONE,)),
    ReplyRecord("S2", 2, "A", at(2026, 7, 1), (F2F, PHONE)),
    ReplyRecord("S5", 1, "B", at(2026, 12, 20), ()),  # consultation switched off that day
    ReplyRecord("S6", 1, "A", at(2025, 12, 15), (F2F,)),  # 2025: left out
    ReplyRecord("S8", 1, "B", at(2026, 1, 5), (F2F,)),
    ReplyRecord("S9", 1, "B", at(2026, 2, 10), (ONLINE,)),
    ReplyRecord("S10", 1, "C", at(2026, 3, 1), (F2F,)),
)
# replies 2026: S1, S2r1, S2r2, S5, S8, S9, S10 = 7
# any mode: all but S5 = 6 → 6 / 7;  face to face: S1, S2r2, S8, S10 = 4 → 4 / 7

PROMISES = (
    PromiseRecord("S5", 1, promised_by=date(2027, 3, 31)),  # neither passed nor kept: left out
    PromiseRecord("S8", 1, promised_by=date(2026, 6, 30), carried_out_on=date(2026, 6, 20)),  # kept
    PromiseRecord("S9", 1, promised_by=date(2026, 5, 31)),  # passed, unkept
    PromiseRecord("S11", 1, promised_by=date(2026, 10, 31), carried_out_on=date(2026, 11, 15)),  # kept late
    PromiseRecord("S12", 1, promised_by=date(2025, 11, 30)),  # passed in 2025: left out
)
# implementation 2026: due S8, S9, S11 = 3; kept S8, S11 = 2 → 2 / 3
# resolution 2026, by each suggestion's latest reply of the year:
#   S1 A ✓, S2 (r2) A ✓, S5 B unkept ✗, S8 B kept ✓, S9 B unkept ✗, S10 C ✗ → 3 / 6

EVALUATIONS = (
    EvaluationRecord("S1", "U1", "satisfied", at(2026, 4, 15)),
    EvaluationRecord("S2", "U2", "unsatisfied", at(2026, 6, 10)),
    EvaluationRecord("S2", "U2", "basically_satisfied", at(2026, 7, 5)),
    EvaluationRecord("S8", "U1", "satisfied", at(2026, 1, 10)),
    EvaluationRecord("S10", "U3", "unsatisfied", at(2026, 3, 5)),
    EvaluationRecord("S6", "U1", "satisfied", at(2025, 12, 20)),  # 2025
    EvaluationRecord("S5", "U1", "satisfied", at(2027, 1, 3)),  # after as_of
)
# satisfaction 2026: S1 ✓, S2 ✗, S2 ✓, S8 ✓, S10 ✗ → 3 / 5

TOWNSHIP = SuggestionRecords(rounds=ROUNDS, replies=REPLIES, evaluations=EVALUATIONS, promises=PROMISES)


def test_the_fixture_townships_rates_match_the_hand_count():
    assert suggestion_rates(TOWNSHIP, as_of=AS_OF, tz=TZ, year=2026) == {
        "on_time_reply_rate": rate(5, 8),
        "consultation_rate": rate(6, 7),
        "face_to_face_rate": rate(4, 7),
        "satisfaction_rate": rate(3, 5),
        "resolution_rate": rate(3, 6),
        "implementation_rate": rate(2, 3),
    }


def test_a_rate_is_a_fraction_with_its_parts_and_none_over_nothing():
    assert rate(5, 8) == {"rate": 0.625, "numerator": 5, "denominator": 8}
    assert rate(0, 0) == {"rate": None, "numerator": 0, "denominator": 0}
    empty = suggestion_rates(SuggestionRecords(), as_of=AS_OF, tz=TZ, year=2026)
    assert all(r["rate"] is None for r in empty.values())


def test_the_view_as_of_a_past_date_ignores_what_came_later():
    # as of 20 April 2026: S1r1 ✓ (10 Apr), S9r1 ✓, S10r1 ✓, S10r2 ✗ (due 5 Apr, unanswered);
    # S2r1 (due 31 May) and S3 (due 30 June) not yet due; S8r1 counts in 2025 → 3 / 4
    assert on_time_reply_rate(ROUNDS, as_of=at(2026, 4, 20, h=0), tz=TZ, year=2026) == rate(3, 4)


def test_a_late_reply_counts_in_the_year_its_round_fell_due():
    # S6r1 on time and S8r1 late, both due in 2025 → 1 / 2
    assert on_time_reply_rate(ROUNDS, as_of=AS_OF, tz=TZ, year=2025) == rate(1, 2)


UNSATISFIED = (
    EvaluationRecord("S2", "U2", "unsatisfied", at(2026, 6, 10)),
    EvaluationRecord("S20", "U2", "unsatisfied", at(2026, 3, 1)),
    EvaluationRecord("S21", "U2", "unsatisfied", at(2026, 5, 1)),
    EvaluationRecord("S21", "U2", "unsatisfied", at(2026, 6, 1)),  # same suggestion: counted once
    EvaluationRecord("S22", "U2", "unsatisfied", at(2026, 8, 1)),  # marked justified: left out
    EvaluationRecord("S10", "U3", "unsatisfied", at(2026, 3, 5)),
    EvaluationRecord("S23", "U3", "unsatisfied", at(2025, 12, 31, h=23, mi=30)),  # 2025 locally
    EvaluationRecord("S24", "U3", "unsatisfied", at(2025, 12, 31, UTC, h=16, mi=30)),  # 1 Jan 2026 00:30 locally
    EvaluationRecord("S25", "U1", "basically_satisfied", at(2026, 2, 1)),
)
# U2: S2, S20, S21 = 3 (> 2: flagged); U3: S10, S24 = 2 (not flagged); U1: none


def test_unsatisfied_suggestions_per_unit_and_year_leave_out_the_justified():
    counts = unsatisfied_by_unit(UNSATISFIED, {"S22"}, year=2026, as_of=AS_OF, tz=TZ)
    assert counts == {"U2": 3, "U3": 2}
    assert [u for u, n in sorted(counts.items()) if over_unsatisfied_limit(n, 2)] == ["U2"]


def test_records_of_a_suggestion_state_leave_out_a_replaced_promise():
    s = Suggestion(
        id="S1",
        status="replied",
        rounds=(
            Round(1, at(2026, 1, 5), at(2026, 4, 5), (PHONE,), at(2026, 2, 1), "B", "unsatisfied"),
            Round(2, at(2026, 2, 3), at(2026, 3, 3), (F2F,), at(2026, 2, 20), "A"),
        ),
        promises=(Promise(1, date(2026, 5, 1), "m", superseded=True),),
    )
    records = records_of(s)
    assert [r.round for r in records.rounds] == [1, 2] and records.promises == ()
    rates = suggestion_rates(SuggestionRecords.combine([records]), as_of=AS_OF, tz=TZ, year=2026)
    assert (rates["on_time_reply_rate"], rates["resolution_rate"]) == (rate(2, 2), rate(1, 1))
