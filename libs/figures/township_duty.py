"""Township figures of the duty records: inactive deputies, reports to voters, fixed contacts.

Pure, over the plain records of ``duty``. Figures count the deputies of the township's congress
(level ``township``, congress = the township); deputies of other levels grouped there are
reported separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

from dateutil.relativedelta import relativedelta

from libs.figures.duty import (
    ActivityRecord,
    AttendanceRecord,
    ContactRecord,
    DeputyRecord,
    Rate,
    SuggestionRecord,
)


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
        for submitter in s.deputy_ids:
            seen(submitter, s.submitted_on)
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
    def presidium_short(self) -> tuple[str, ...]:
        """Presidium members below their deputies target."""
        return tuple(c.deputy_id for c in self.presidium if not c.met)

    @property
    def deputies_short(self) -> tuple[str, ...]:
        """Deputies of the township's congress below their constituents target."""
        return tuple(c.deputy_id for c in self.congress if not c.met)


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


def _current_in(deputies: Iterable[DeputyRecord], township: str, on: date) -> list[DeputyRecord]:
    unique = {d.deputy_id: d for d in deputies if d.grouped_in(township) and d.current_on(on)}
    return sorted(unique.values(), key=lambda d: d.deputy_id)
