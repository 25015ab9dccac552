"""Dossier arithmetic checked against hand counts (履职档案, 六个一, inactivity, 述职, contacts)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from libs.figures.duty import (
    ActivityRecord,
    AttendanceRecord,
    ContactRecord,
    DeputyRecord,
    Rate,
    SixOnesTargets,
    SuggestionRecord,
    dossier,
    six_ones,
    suggestion_counts,
)
from libs.figures.township_duty import (
    contact_checks,
    inactive_deputies,
    report_coverage,
)

T = "340403100"
OTHER = "340403101"
ELECTED = date(2021, 11, 20)


def act(deputy_id, kind, on, people=0, mode=None):
    return ActivityRecord(deputy_id, kind, on, people, mode)


def township_deputy(deputy_id, township=T, **kw):
    return DeputyRecord(deputy_id, "township", township, township, elected_on=kw.pop("elected_on", ELECTED), **kw)


# ---- the hand-counted dossier of d1 for 2024 -----------------------------------------------

ACTIVITIES = [
    act("d1", "constituent_visit", date(2024, 1, 10), 3),
    act("d1", "constituent_visit", date(2024, 4, 2), 4),
    act("d1", "constituent_visit", date(2024, 9, 15), 2),  # 3 visits, 9 people: target 10 missed
    act("d1", "constituent_visit", date(2023, 12, 30), 5),  # last year: not counted
    act("d1", "constituent_meeting", date(2024, 5, 20), 25),
    act("d1", "good_deed", date(2024, 6, 1)),
    act("d1", "mediation", date(2024, 7, 7)),
    act("d1", "mediation", date(2024, 8, 8)),
    act("d1", "report_to_voters", date(2024, 12, 1), 40, "meeting"),
    act("d1", "training", date(2024, 3, 3)),
    act("d2", "constituent_visit", date(2024, 2, 2), 6),
    act("d2", "constituent_visit", date(2024, 3, 2), 5),  # 2 visits, 11 people: target met
]
SUGGESTIONS = [
    SuggestionRecord("s1", date(2024, 2, 1), ("d1", "d2"), assigned=True, result="A"),
    SuggestionRecord("s2", date(2024, 3, 1), ("d3", "d1"), assigned=True, result="B"),  # promise not kept
    SuggestionRecord("s3", date(2024, 10, 1), ("d1",)),  # merely submitted
    SuggestionRecord("s4", date(2023, 11, 1), ("d1",), assigned=True, result="A"),  # last year
]
MEETINGS = [
    AttendanceRecord("d1", "m1", date(2024, 3, 15), "present", speeches=2),
    AttendanceRecord("d1", "m2", date(2024, 6, 15), "present"),
    AttendanceRecord("d1", "m3", date(2024, 9, 15), "on_leave"),
    AttendanceRecord("d1", "m4", date(2024, 10, 15), "absent"),
    AttendanceRecord("d1", "m5", date(2024, 12, 20), "invited"),  # not yet held
    AttendanceRecord("d1", "m0", date(2023, 12, 20), "present"),  # last year
]


def test_the_dossier_matches_the_hand_count():
    d = dossier("d1", 2024, ACTIVITIES, MEETINGS, SUGGESTIONS)
    assert d.activity_counts == {
        "constituent_visit": 3,
        "reception": 0,
        "report_to_voters": 1,
        "mediation": 2,
        "training": 1,
        "good_deed": 1,
        "household_help": 0,
        "constituent_meeting": 1,
    }
    assert d.people_visited == 9
    m = d.meetings
    assert (m.invited, m.present, m.on_leave, m.absent, m.pending, m.speeches) == (5, 2, 1, 1, 1, 2)
    assert m.attendance_rate.as_dict() == {"rate": 0.5, "numerator": 2, "denominator": 4}
    s = d.suggestions
    assert (s.submitted, s.as_lead, s.as_co, s.assigned, s.replied, s.resolved) == (3, 2, 1, 2, 2, 1)
    assert s.resolution_rate == Rate(1, 2)
    assert d.six_ones.met == ("constituent_meeting", "valuable_suggestion", "good_deed", "dispute_mediation")
    assert d.six_ones.missing == ("visit_constituents", "household_help")
    assert d.six_ones.progress["visit_constituents"] == (9, 10)


def test_the_visit_target_counts_people_not_visits():
    assert "visit_constituents" in six_ones("d2", 2024, ACTIVITIES, []).met  # 2 visits, 11 people


def test_a_joint_suggestion_counts_for_every_co_submitter():
    assert suggestion_counts("d2", 2024, SUGGESTIONS).submitted == 1
    assert suggestion_counts("d2", 2024, SUGGESTIONS).as_co == 1
    assert suggestion_counts("d3", 2024, SUGGESTIONS).as_lead == 1


def test_a_b_promise_kept_counts_as_resolved():
    kept = SuggestionRecord("s5", date(2024, 4, 1), ("d1",), assigned=True, result="B", promise_carried_out=True)
    assert suggestion_counts("d1", 2024, [*SUGGESTIONS, kept]).resolved == 2


def test_what_counts_as_a_valuable_suggestion_is_configurable():
    only_submitted = [SuggestionRecord("s3", date(2024, 10, 1), ("d1",))]
    assert "valuable_suggestion" in six_ones("d1", 2024, [], only_submitted, targets=SixOnesTargets()).missing
    lenient = SixOnesTargets(valuable="submitted")
    assert "valuable_suggestion" in six_ones("d1", 2024, [], only_submitted, targets=lenient).met


def test_an_empty_year_has_null_rates_and_every_item_missing():
    d = dossier("d9", 2024, [], [], [])
    assert d.meetings.attendance_rate.as_dict() == {"rate": None, "numerator": 0, "denominator": 0}
    assert d.six_ones.met == () and len(d.six_ones.missing) == 6


@given(st.lists(st.integers(min_value=1, max_value=30), max_size=12))
def test_the_visit_item_is_met_exactly_when_the_people_sum_reaches_ten(counts):
    acts = [act("d1", "constituent_visit", date(2024, 1, 1 + i), n) for i, n in enumerate(counts)]
    result = six_ones("d1", 2024, acts, [])
    assert ("visit_constituents" in result.met) == (sum(counts) >= 10)
    assert set(result.met) | set(result.missing) == {
        "visit_constituents",
        "constituent_meeting",
        "valuable_suggestion",
        "good_deed",
        "household_help",
        "dispute_mediation",
    }


# ---- inactive deputies ---------------------------------------------------------------------

ON = date(2024, 9, 30)  # six months back: activity after 2024-03-30 counts


def test_inactive_deputies_of_the_congress_and_other_levels_are_listed_apart():
    deputies = [
        township_deputy("d1"),
        township_deputy("d2"),
        township_deputy("d3"),
        DeputyRecord("d4", "county", "340403", T, elected_on=ELECTED),
        township_deputy("d5", elected_on=date(2024, 6, 1)),  # too new to judge
        township_deputy("d6", terminated_on=date(2024, 5, 1)),  # no longer a deputy
        township_deputy("d7"),
        township_deputy("d8"),
        township_deputy("d9"),
        township_deputy("d10", township=OTHER),  # another township
        township_deputy("d11"),
    ]
    activities = [
        act("d1", "reception", date(2024, 9, 1), 3),
        act("d2", "constituent_visit", date(2024, 1, 5), 4),
        act("d11", "training", date(2024, 3, 30)),  # on the boundary: outside the period
        act("d10", "training", date(2023, 1, 1)),
    ]
    meetings = [
        AttendanceRecord("d7", "m1", date(2024, 8, 1), "present"),
        AttendanceRecord("d8", "m1", date(2024, 8, 1), "on_leave"),  # leave is no activity
    ]
    suggestions = [SuggestionRecord("s1", date(2024, 7, 1), ("d1", "d9"))]  # d9 as co-submitter
    report = inactive_deputies(deputies, activities, meetings, suggestions, township=T, on=ON)
    assert report.since == date(2024, 3, 30)
    assert [(i.deputy_id, i.last_active_on) for i in report.congress] == [
        ("d11", date(2024, 3, 30)),
        ("d2", date(2024, 1, 5)),
        ("d3", None),
        ("d8", None),
    ]
    assert [i.deputy_id for i in report.other_levels] == ["d4"]


def test_the_inactivity_period_is_configurable():
    deputies = [township_deputy("d2")]
    activities = [act("d2", "constituent_visit", date(2024, 1, 5), 4)]
    assert inactive_deputies(deputies, activities, [], [], township=T, on=ON, period_months=12).congress == ()


# ---- reports to voters ---------------------------------------------------------------------


def coverage_fixture():
    deputies = [township_deputy(f"r{i}") for i in range(10)]
    deputies.append(DeputyRecord("c1", "county", "340403", T, elected_on=ELECTED))
    reports = [act(f"r{i}", "report_to_voters", date(2024, 11, 1), 30, "meeting") for i in range(3)]
    reports += [act(f"r{i}", "report_to_voters", date(2024, 11, 2), 0, "written") for i in range(3, 9)]
    reports += [act(f"r{i}", "report_to_voters", date(2023, 11, 2), 20, "meeting") for i in (3, 4)]
    reports += [act("c1", "report_to_voters", date(2024, 5, 1), 0, "written")]
    return deputies, reports


def test_report_coverage_per_year_matches_the_hand_count():
    deputies, reports = coverage_fixture()
    cov = report_coverage(
        deputies, reports, township=T, year=2024, term_start=date(2022, 1, 1), term_end=date(2026, 12, 31)
    )
    assert cov.congress.deputies == 10
    assert cov.congress.reported == Rate(9, 10) and cov.congress.not_reported == ("r9",)
    assert cov.congress.at_meeting == Rate(3, 10)  # exactly 30 %: enough
    assert cov.congress.at_meeting_in_term == Rate(5, 10)
    assert cov.flags == ("reports_missing",)
    assert (cov.other_levels.deputies, cov.other_levels.reported) == (1, Rate(1, 1))


def test_below_thirty_percent_at_meetings_is_flagged():
    deputies, reports = coverage_fixture()
    fewer = [r for r in reports if not (r.deputy_id == "r0" and r.on.year == 2024)]
    cov = report_coverage(
        deputies, fewer, township=T, year=2024, term_start=date(2022, 1, 1), term_end=date(2026, 12, 31)
    )
    assert "meeting_share_below" in cov.flags


def test_term_coverage_is_flagged_in_the_terms_last_year():
    deputies, reports = coverage_fixture()
    cov = report_coverage(
        deputies, reports, township=T, year=2024, term_start=date(2022, 1, 1), term_end=date(2024, 12, 31)
    )
    assert "term_coverage_incomplete" in cov.flags
    assert cov.congress.not_yet_in_term == ("r5", "r6", "r7", "r8", "r9")


# ---- contacts ------------------------------------------------------------------------------


def test_contact_checks_count_distinct_current_contacts():
    deputies = [township_deputy(f"d{i}") for i in range(14)]
    deputies.append(township_deputy("gone", terminated_on=date(2024, 1, 1)))
    contacts = [ContactRecord("d0", "presidium_member", f"d{i}") for i in range(1, 11)]  # 10 deputies
    contacts += [ContactRecord("d0", "presidium_member", "d1")]  # again: still 10
    contacts += [ContactRecord("d11", "presidium_member", f"d{i}") for i in range(1, 10)]  # 9
    contacts += [ContactRecord("d11", "presidium_member", "gone")]  # terminated: not counted
    contacts += [ContactRecord("d1", "constituent", f"村民{i}|姚湾村") for i in range(3)]
    contacts += [ContactRecord("d2", "constituent", "村民0|姚湾村")] * 3  # one person thrice
    check = contact_checks(deputies, contacts, township=T, presidium_member_ids=["d0", "d11"], on=date(2024, 6, 1))
    assert [(c.deputy_id, c.count, c.met) for c in check.presidium] == [("d0", 10, True), ("d11", 9, False)]
    by_id = {c.deputy_id: c for c in check.congress}
    assert by_id["d1"].met and by_id["d2"].count == 1 and not by_id["d2"].met
    assert check.presidium_short == ("d11",) and "gone" not in by_id
    assert "d1" not in check.deputies_short and "d2" in check.deputies_short
