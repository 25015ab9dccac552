"""Duty-record arithmetic (履职档案): pure functions over plain records a read model produces.

Dates are local calendar dates (``RENDA_TIMEZONE``); a year is the calendar year of ``on``.
This module holds the records, the rate and one deputy's year (dossier, 六个一); township
figures (inactivity, reports to voters, contacts) are in ``duty_township``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

# The deputies context's vocabulary (contract "Deputies"); libs/ imports no service.
Level = Literal["township", "county", "city", "province", "national"]
ActivityKind = Literal[
    "constituent_visit",
    "reception",
    "report_to_voters",
    "mediation",
    "training",
    "good_deed",
    "household_help",
    "constituent_meeting",
]
ACTIVITY_KINDS: tuple[str, ...] = ActivityKind.__args__  # type: ignore[attr-defined]
ReportMode = Literal["written", "meeting"]
ContactKind = Literal["presidium_member", "constituent"]

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
    valuable = sum(1 for s in _suggestions_of(deputy_id, year, suggestions) if _is_valuable(s, targets.valuable))
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
