"""Duty-record arithmetic (履职档案): pure functions over plain records a read model produces.

Dates are local calendar dates (``RENDA_TIMEZONE``); a year is the calendar year of ``on``.
Township figures count the deputies of that township's congress (level ``township``, congress
= the township); deputies of other levels grouped there are reported separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any, Literal

from dateutil.relativedelta import relativedelta

from services.deputies.domain.deputy_events import (
    ACTIVITY_KINDS,
    ActivityKind,
    ContactKind,
    Level,
    ReportMode,
)

AttendanceStatus = Literal["invited", "present", "on_leave", "absent"]  # invited: not yet recorded
SIX_ONES: tuple[str, ...] = (
    "visit_constituents",
    "constituent_meeting",
    "valuable_suggestion",
    "good_deed",
    "household_help",
    "dispute_mediation",
)
SIX_ONES_ZH: dict[str, str] = {
    "visit_constituents": "走访选民",
    "constituent_meeting": "召开选民座谈会",
    "valuable_suggestion": "提出有价值的建议",
    "good_deed": "办好事实事",
    "household_help": "帮扶困难户",
    "dispute_mediation": "调解矛盾纠纷",
}


# ---- inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeputyRecord:
    deputy_id: str
    level: Level
    congress: str
    township: str | None  # where grouped
    elected_on: date | None = None
    terminated_on: date | None = None  # effective date: no longer current from that day

    def current_on(self, on: date) -> bool:
        started = self.elected_on is None or self.elected_on <= on
        return started and (self.terminated_on is None or on < self.terminated_on)

    def of_congress(self, township: str) -> bool:
        return self.level == "township" and self.congress == township

    def grouped_in(self, township: str) -> bool:
        return self.township == township or self.of_congress(township)


@dataclass(frozen=True)
class ActivityRecord:
    deputy_id: str
    kind: ActivityKind
    on: date
    people_count: int = 0
    report_mode: ReportMode | None = None


@dataclass(frozen=True)
class AttendanceRecord:
    deputy_id: str
    meeting_id: str
    on: date
    status: AttendanceStatus
    speeches: int = 0


@dataclass(frozen=True)
class SuggestionRecord:
    suggestion_id: str
    submitted_on: date
    deputy_ids: tuple[str, ...]  # the lead first, then the co-submitters
    assigned: bool = False
    result: Literal["A", "B", "C"] | None = None  # the latest reply's result
    promise_carried_out: bool = False

    @property
    def resolved(self) -> bool:
        return self.result == "A" or (self.result == "B" and self.promise_carried_out)


@dataclass(frozen=True)
class ContactRecord:
    deputy_id: str
    kind: ContactKind
    contact: str  # the contact deputy's id, or a key of the constituent (name and village)


# ---- outputs --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def rate(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator

    def as_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "numerator": self.numerator, "denominator": self.denominator}


@dataclass(frozen=True)
class SixOnesTargets:
    visit_people: int = 10  # the SUM of people_count of constituent visits
    constituent_meetings: int = 1
    valuable_suggestions: int = 1
    good_deeds: int = 1
    households_helped: int = 1  # household_help activities
    disputes_mediated: int = 1  # mediation activities
    valuable: Literal["submitted", "assigned", "resolved"] = "assigned"  # what makes one valuable


@dataclass(frozen=True)
class SixOnes:
    met: tuple[str, ...]
    missing: tuple[str, ...]
    progress: dict[str, tuple[int, int]]  # item -> (done, target)


@dataclass(frozen=True)
class AttendanceSummary:
    invited: int
    present: int
    on_leave: int
    absent: int
    pending: int  # invited, attendance not yet recorded: outside the rate
    speeches: int
    attendance_rate: Rate  # present / meetings with attendance recorded


@dataclass(frozen=True)
class SuggestionSummary:
    submitted: int  # as lead or co-submitter: a joint suggestion counts for each
    as_lead: int
    as_co: int
    assigned: int
    replied: int
    resolved: int
    resolution_rate: Rate  # resolved / replied


@dataclass(frozen=True)
class Dossier:
    deputy_id: str
    year: int
    activity_counts: dict[str, int]
    people_visited: int
    meetings: AttendanceSummary
    suggestions: SuggestionSummary
    six_ones: SixOnes


# ---- one deputy, one year -------------------------------------------------------------------


def six_ones(
    deputy_id: str,
    year: int,
    activities: Iterable[ActivityRecord],
    suggestions: Iterable[SuggestionRecord],
    *,
    targets: SixOnesTargets = SixOnesTargets(),
) -> SixOnes:
    """The "六个一" items met and missing for ``deputy_id`` in ``year``."""
    mine = [a for a in activities if a.deputy_id == deputy_id and a.on.year == year]
    valuable = sum(
        1 for s in _suggestions_of(deputy_id, year, suggestions) if _is_valuable(s, targets.valuable)
    )
    done = {
        "visit_constituents": sum(a.people_count for a in mine if a.kind == "constituent_visit"),
        "constituent_meeting": _count(mine, "constituent_meeting"),
        "valuable_suggestion": valuable,
        "good_deed": _count(mine, "good_deed"),
        "household_help": _count(mine, "household_help"),
        "dispute_mediation": _count(mine, "mediation"),
    }
    target = {
        "visit_constituents": targets.visit_people,
        "constituent_meeting": targets.constituent_meetings,
        "valuable_suggestion": targets.valuable_suggestions,
        "good_deed": targets.good_deeds,
        "household_help": targets.households_helped,
        "dispute_mediation": targets.disputes_mediated,
    }
    met = tuple(i for i in SIX_ONES if done[i] >= target[i])
    missing = tuple(i for i in SIX_ONES if done[i] < target[i])
    return SixOnes(met=met, missing=missing, progress={i: (done[i], target[i]) for i in SIX_ONES})


def attendance(deputy_id: str, year: int, records: Iterable[AttendanceRecord]) -> AttendanceSummary:
    """Meetings invited / attended; one record per meeting and deputy (the latest one)."""
    latest: dict[str, AttendanceRecord] = {}
    for r in records:
        if r.deputy_id == deputy_id and r.on.year == year:
            latest[r.meeting_id] = r
    by = [r.status for r in latest.values()]
    present, on_leave, absent = by.count("present"), by.count("on_leave"), by.count("absent")
    return AttendanceSummary(
        invited=len(latest),
        present=present,
        on_leave=on_leave,
        absent=absent,
        pending=by.count("invited"),
        speeches=sum(r.speeches for r in latest.values()),
        attendance_rate=Rate(present, present + on_leave + absent),
    )


def suggestion_counts(deputy_id: str, year: int, records: Iterable[SuggestionRecord]) -> SuggestionSummary:
    """Suggestions submitted in ``year`` as lead or co-submitter, and their outcomes."""
    mine = _suggestions_of(deputy_id, year, records)
    as_lead = sum(1 for s in mine if s.deputy_ids[0] == deputy_id)
    replied = sum(1 for s in mine if s.result is not None)
    resolved = sum(1 for s in mine if s.resolved)
    return SuggestionSummary(
        submitted=len(mine),
        as_lead=as_lead,
        as_co=len(mine) - as_lead,
        assigned=sum(1 for s in mine if s.assigned),
        replied=replied,
        resolved=resolved,
        resolution_rate=Rate(resolved, replied),
    )


def dossier(
    deputy_id: str,
    year: int,
    activities: Iterable[ActivityRecord],
    meetings: Iterable[AttendanceRecord],
    suggestions: Iterable[SuggestionRecord],
    *,
    targets: SixOnesTargets = SixOnesTargets(),
) -> Dossier:
    acts = [a for a in activities if a.deputy_id == deputy_id and a.on.year == year]
    sugs = list(suggestions)
    return Dossier(
        deputy_id=deputy_id,
        year=year,
        activity_counts={k: _count(acts, k) for k in ACTIVITY_KINDS},
        people_visited=sum(a.people_count for a in acts if a.kind == "constituent_visit"),
        meetings=attendance(deputy_id, year, meetings),
        suggestions=suggestion_counts(deputy_id, year, sugs),
        six_ones=six_ones(deputy_id, year, acts, sugs, targets=targets),
    )


# ---- a township -----------------------------------------------------------------------------


@dataclass(frozen=True)
class InactiveDeputy:
    deputy_id: str
    last_active_on: date | None  # None: never active


@dataclass(frozen=True)
class InactiveReport:
    township: str
    since: date  # activity after this day counts
    until: date
    congress: tuple[InactiveDeputy, ...]  # deputies of the township's congress
    other_levels: tuple[InactiveDeputy, ...]  # other levels grouped in the township


def inactive_deputies(
    deputies: Iterable[DeputyRecord],
    activities: Iterable[ActivityRecord],
    meetings: Iterable[AttendanceRecord],
    suggestions: Iterable[SuggestionRecord],
    *,
    township: str,
    on: date,
    period_months: int = 6,
) -> InactiveReport:
    """Current deputies with no activity of any kind in the ``period_months`` up to ``on``.

    Activity: a duty activity, a meeting attended, or a suggestion submitted (lead or co).
    Deputies elected within the period are not judged yet.
    """
    since = on - relativedelta(months=period_months)
    last: dict[str, date] = {}

    def seen(deputy_id: str, day: date) -> None:
        if day <= on and (deputy_id not in last or last[deputy_id] < day):
            last[deputy_id] = day

    for a in activities:
        seen(a.deputy_id, a.on)
    for m in meetings:
        if m.status == "present":
            seen(m.deputy_id, m.on)
    for s in suggestions:
        for d in s.deputy_ids:
            seen(d, s.submitted_on)
    congress: list[InactiveDeputy] = []
    others: list[InactiveDeputy] = []
    for d in _current_in(deputies, township, on):
        if d.elected_on is not None and d.elected_on > since:
            continue
        last_on = last.get(d.deputy_id)
        if last_on is None or last_on <= since:
            (congress if d.of_congress(township) else others).append(InactiveDeputy(d.deputy_id, last_on))
    return InactiveReport(township, since, on, tuple(congress), tuple(others))


@dataclass(frozen=True)
class ReportFigures:
    deputies: int
    reported: Rate  # reported to voters this year, any mode
    at_meeting: Rate  # at a meeting this year
    at_meeting_in_term: Rate  # at a meeting at least once since the term began
    not_reported: tuple[str, ...]
    not_yet_in_term: tuple[str, ...]


@dataclass(frozen=True)
class ReportCoverage:
    township: str
    year: int
    congress: ReportFigures
    other_levels: ReportFigures
    flags: tuple[str, ...]  # broken rules, for the township's congress deputies


def report_coverage(
    deputies: Iterable[DeputyRecord],
    activities: Iterable[ActivityRecord],
    *,
    township: str,
    year: int,
    term_start: date,
    term_end: date,
    as_of: date | None = None,
    meeting_share: float = 0.3,
) -> ReportCoverage:
    """Reports to voters (述职): every deputy each year, ≥ ``meeting_share`` of them at a meeting
    each year, and every deputy at a meeting at least once within the term.

    Counted over the deputies current on ``as_of`` (default: the year's last day).
    Flags: ``reports_missing``, ``meeting_share_below``, ``term_coverage_incomplete`` (the last
    only once the term's final year is reached).
    """
    day = as_of or date(year, 12, 31)
    reports = [a for a in activities if a.kind == "report_to_voters" and a.on <= day]
    any_year = {a.deputy_id for a in reports if a.on.year == year}
    meeting_year = {a.deputy_id for a in reports if a.on.year == year and a.report_mode == "meeting"}
    meeting_term = {a.deputy_id for a in reports if a.report_mode == "meeting" and a.on >= term_start}
    current = _current_in(deputies, township, day)

    def figures(ids: list[str]) -> ReportFigures:
        return ReportFigures(
            deputies=len(ids),
            reported=Rate(sum(1 for i in ids if i in any_year), len(ids)),
            at_meeting=Rate(sum(1 for i in ids if i in meeting_year), len(ids)),
            at_meeting_in_term=Rate(sum(1 for i in ids if i in meeting_term), len(ids)),
            not_reported=tuple(i for i in ids if i not in any_year),
            not_yet_in_term=tuple(i for i in ids if i not in meeting_term),
        )

    own = figures([d.deputy_id for d in current if d.of_congress(township)])
    others = figures([d.deputy_id for d in current if not d.of_congress(township)])
    flags: list[str] = []
    if own.not_reported:
        flags.append("reports_missing")
    if own.deputies and own.at_meeting.numerator < Fraction(str(meeting_share)) * own.deputies:
        flags.append("meeting_share_below")
    if year >= term_end.year and own.not_yet_in_term:
        flags.append("term_coverage_incomplete")
    return ReportCoverage(township, year, own, others, tuple(flags))


@dataclass(frozen=True)
class ContactCount:
    deputy_id: str
    count: int
    target: int

    @property
    def met(self) -> bool:
        return self.count >= self.target


@dataclass(frozen=True)
class ContactCheck:
    presidium: tuple[ContactCount, ...]  # each member: distinct current deputies in contact
    congress: tuple[ContactCount, ...]  # each deputy of the township's congress: constituents
    other_levels: tuple[ContactCount, ...]  # other levels grouped there: constituents

    @property
    def short(self) -> tuple[str, ...]:
        return tuple(c.deputy_id for c in (*self.presidium, *self.congress) if not c.met)


def contact_checks(
    deputies: Iterable[DeputyRecord],
    contacts: Iterable[ContactRecord],
    *,
    township: str,
    presidium_member_ids: Iterable[str],
    on: date,
    min_deputies: int = 10,
    min_constituents: int = 3,
) -> ContactCheck:
    """Presidium members keep contact with ≥ ``min_deputies`` deputies; deputies with
    ≥ ``min_constituents`` constituents. Distinct contacts count; terminated deputies do not."""
    current = _current_in(deputies, township, on)
    current_ids = {d.deputy_id for d in current}
    with_deputies: dict[str, set[str]] = {}
    with_people: dict[str, set[str]] = {}
    for c in contacts:
        if c.kind == "presidium_member" and c.contact in current_ids and c.contact != c.deputy_id:
            with_deputies.setdefault(c.deputy_id, set()).add(c.contact)
        elif c.kind == "constituent":
            with_people.setdefault(c.deputy_id, set()).add(c.contact)

    def people(d: DeputyRecord) -> ContactCount:
        return ContactCount(d.deputy_id, len(with_people.get(d.deputy_id, ())), min_constituents)

    members = [m for m in dict.fromkeys(presidium_member_ids) if m in current_ids]
    return ContactCheck(
        presidium=tuple(ContactCount(m, len(with_deputies.get(m, ())), min_deputies) for m in members),
        congress=tuple(people(d) for d in current if d.of_congress(township)),
        other_levels=tuple(people(d) for d in current if not d.of_congress(township)),
    )


# ---- helpers --------------------------------------------------------------------------------


def _count(activities: Iterable[ActivityRecord], kind: str) -> int:
    return sum(1 for a in activities if a.kind == kind)


def _suggestions_of(deputy_id: str, year: int, records: Iterable[SuggestionRecord]) -> list[SuggestionRecord]:
    seen: dict[str, SuggestionRecord] = {}
    for s in records:
        if s.submitted_on.year == year and deputy_id in s.deputy_ids:
            seen[s.suggestion_id] = s
    return list(seen.values())


def _is_valuable(s: SuggestionRecord, rule: str) -> bool:
    if rule == "resolved":
        return s.resolved
    return s.assigned if rule == "assigned" else True


def _current_in(deputies: Iterable[DeputyRecord], township: str, on: date) -> list[DeputyRecord]:
    unique = {d.deputy_id: d for d in deputies if d.grouped_in(township) and d.current_on(on)}
    return sorted(unique.values(), key=lambda d: d.deputy_id)
