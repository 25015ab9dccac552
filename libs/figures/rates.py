"""The measures of domain.md "Exact definitions", computed from plain records. Pure.

A read model produces the records (one per handling round, reply, evaluation and B promise)
and groups them by township, county, unit or whatever it reports on; these functions count
one group for one year (local dates in ``tz``) as it stood at ``as_of``. Records later than
``as_of`` are ignored, so a historical view can pass everything it has.

Each rate is ``{"rate", "numerator", "denominator"}``, the rate in [0, 1], ``None`` when the
denominator is 0.

Which year a record counts in:
- a round: the moment it became due, i.e. its reply if answered by the deadline, else its due_at;
- a reply and an evaluation: their own time;
- a B promise: its carrying out if kept by the promised date, else the promised date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

Rate = dict[str, float | int | None]
RATE_NAMES = (
    "on_time_reply_rate",
    "consultation_rate",
    "face_to_face_rate",
    "satisfaction_rate",
    "resolution_rate",
    "implementation_rate",
)


@dataclass(frozen=True)
class RoundRecord:
    """One handling round (the first and each re-handling); a round withdrawn by 退办 is no record."""

    suggestion_id: str
    round: int
    due_at: datetime  # after any extension
    replied_at: datetime | None = None


@dataclass(frozen=True)
class ReplyRecord:
    suggestion_id: str
    round: int
    result: str  # "A" | "B" | "C"
    replied_at: datetime
    consultation_modes: tuple[str, ...] = ()  # consultations of its round before it


@dataclass(frozen=True)
class EvaluationRecord:
    suggestion_id: str
    lead_unit_id: str
    satisfaction: str  # "satisfied" | "basically_satisfied" | "unsatisfied"
    evaluated_at: datetime


@dataclass(frozen=True)
class PromiseRecord:
    """The promise of a B reply. One replaced by a later reply before it was kept is no record."""

    suggestion_id: str
    round: int
    promised_by: date
    carried_out_on: date | None = None


@dataclass(frozen=True)
class SuggestionRecords:
    rounds: tuple[RoundRecord, ...] = ()
    replies: tuple[ReplyRecord, ...] = ()
    evaluations: tuple[EvaluationRecord, ...] = ()
    promises: tuple[PromiseRecord, ...] = ()
    justified_ids: frozenset[str] = field(default_factory=frozenset)  # unsatisfied results marked justified

    @classmethod
    def combine(cls, many: Iterable[SuggestionRecords]) -> SuggestionRecords:
        parts = list(many)
        return cls(
            rounds=tuple(r for p in parts for r in p.rounds),
            replies=tuple(r for p in parts for r in p.replies),
            evaluations=tuple(e for p in parts for e in p.evaluations),
            promises=tuple(x for p in parts for x in p.promises),
            justified_ids=frozenset().union(*(p.justified_ids for p in parts)),
        )


def rate(numerator: int, denominator: int) -> Rate:
    return {
        "rate": numerator / denominator if denominator else None,
        "numerator": numerator,
        "denominator": denominator,
    }


def _in_year(day: date, year: int | None) -> bool:
    return year is None or day.year == year


@lru_cache(maxsize=1 << 14)
def _day(moment: datetime, tz: ZoneInfo) -> date:
    """The local date of ``moment`` (kept: a view counts the same records for every group it rolls up)."""
    return moment.astimezone(tz).date()


def on_time_reply_rate(
    rounds: Iterable[RoundRecord], *, as_of: datetime, tz: ZoneInfo, year: int | None = None
) -> Rate:
    """Rounds answered by their due_at / rounds due (due_at passed or answered); late if still unanswered."""
    on_time = due = 0
    for r in rounds:
        replied = r.replied_at if r.replied_at is not None and r.replied_at <= as_of else None
        if replied is None and r.due_at >= as_of:
            continue  # not yet due
        counted_at = replied if replied is not None and replied <= r.due_at else r.due_at
        if not _in_year(_day(counted_at, tz), year):
            continue
        due += 1
        on_time += replied is not None and replied <= r.due_at
    return rate(on_time, due)


def _replies(replies: Iterable[ReplyRecord], as_of: datetime, tz: ZoneInfo, year: int | None) -> list[ReplyRecord]:
    return [r for r in replies if r.replied_at <= as_of and _in_year(_day(r.replied_at, tz), year)]


def consultation_rate(
    replies: Iterable[ReplyRecord], *, as_of: datetime, tz: ZoneInfo, year: int | None = None
) -> Rate:
    """Replies preceded in their round by a consultation of any mode / replies."""
    counted = _replies(replies, as_of, tz, year)
    return rate(sum(1 for r in counted if r.consultation_modes), len(counted))


def face_to_face_rate(
    replies: Iterable[ReplyRecord], *, as_of: datetime, tz: ZoneInfo, year: int | None = None
) -> Rate:
    """Replies preceded in their round by a face-to-face consultation (面商) / replies."""
    counted = _replies(replies, as_of, tz, year)
    return rate(sum(1 for r in counted if "face_to_face" in r.consultation_modes), len(counted))


def satisfaction_rate(
    evaluations: Iterable[EvaluationRecord], *, as_of: datetime, tz: ZoneInfo, year: int | None = None
) -> Rate:
    """(satisfied + basically satisfied) / evaluations; every evaluation counts, re-handled ones too."""
    counted = [e for e in evaluations if e.evaluated_at <= as_of and _in_year(_day(e.evaluated_at, tz), year)]
    return rate(sum(1 for e in counted if e.satisfaction != "unsatisfied"), len(counted))


def _kept(p: PromiseRecord, today: date) -> bool:
    return p.carried_out_on is not None and p.carried_out_on <= today


def resolution_rate(
    replies: Iterable[ReplyRecord],
    promises: Iterable[PromiseRecord],
    *,
    as_of: datetime,
    tz: ZoneInfo,
    year: int | None = None,
) -> Rate:
    """(answered A + B promises carried out) / replied suggestions, by each suggestion's latest reply.

    C never counts as resolved; a closed suggestion is not resolved for being closed.
    """
    today = _day(as_of, tz)
    latest: dict[str, ReplyRecord] = {}
    for r in _replies(replies, as_of, tz, year):
        seen = latest.get(r.suggestion_id)
        if seen is None or (r.replied_at, r.round) > (seen.replied_at, seen.round):
            latest[r.suggestion_id] = r
    kept = {(p.suggestion_id, p.round) for p in promises if _kept(p, today)}
    resolved = sum(
        1 for r in latest.values() if r.result == "A" or (r.result == "B" and (r.suggestion_id, r.round) in kept)
    )
    return rate(resolved, len(latest))


def implementation_rate(
    promises: Iterable[PromiseRecord], *, as_of: datetime, tz: ZoneInfo, year: int | None = None
) -> Rate:
    """B promises carried out / B promises due: the promised date has passed (or it is already kept)."""
    today = _day(as_of, tz)
    kept = due = 0
    for p in promises:
        carried = p.carried_out_on if _kept(p, today) else None
        if carried is None and p.promised_by >= today:
            continue  # neither kept nor passed yet
        counted_on = carried if carried is not None and carried <= p.promised_by else p.promised_by
        if not _in_year(counted_on, year):
            continue
        due += 1
        kept += carried is not None
    return rate(kept, due)


def suggestion_rates(
    records: SuggestionRecords, *, as_of: datetime, tz: ZoneInfo, year: int | None = None
) -> dict[str, Rate]:
    """The six rates of one group (a township, a county, a unit) for one year, as of ``as_of``."""
    return {
        "on_time_reply_rate": on_time_reply_rate(records.rounds, as_of=as_of, tz=tz, year=year),
        "consultation_rate": consultation_rate(records.replies, as_of=as_of, tz=tz, year=year),
        "face_to_face_rate": face_to_face_rate(records.replies, as_of=as_of, tz=tz, year=year),
        "satisfaction_rate": satisfaction_rate(records.evaluations, as_of=as_of, tz=tz, year=year),
        "resolution_rate": resolution_rate(records.replies, records.promises, as_of=as_of, tz=tz, year=year),
        "implementation_rate": implementation_rate(records.promises, as_of=as_of, tz=tz, year=year),
    }


def unsatisfied_by_unit(
    evaluations: Iterable[EvaluationRecord],
    justified_ids: Iterable[str],
    *,
    year: int,
    as_of: datetime,
    tz: ZoneInfo,
) -> dict[str, int]:
    """Per lead unit: distinct suggestions with an unsatisfied evaluation in ``year`` (local date),
    leaving out those staff marked justified."""
    excluded = set(justified_ids)
    per_unit: dict[str, set[str]] = {}
    for e in evaluations:
        if e.satisfaction != "unsatisfied" or e.evaluated_at > as_of or e.suggestion_id in excluded:
            continue
        if _day(e.evaluated_at, tz).year == year:
            per_unit.setdefault(e.lead_unit_id, set()).add(e.suggestion_id)
    return {unit: len(ids) for unit, ids in per_unit.items()}


def over_unsatisfied_limit(count: int, limit: int) -> bool:
    """More than ``RENDA_UNSATISFIED_LIMIT`` (default 2) loses the unit's and its heads' award eligibility."""
    return count > limit
