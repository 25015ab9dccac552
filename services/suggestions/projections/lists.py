"""The lists of the suggestions context: organizer units, suggestions, constituents' opinions."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.events.projection.rows import Rows
from services.suggestions.events import (
    ConstituentOpinionAnswered,
    ConstituentOpinionConverted,
    ConstituentOpinionRecorded,
    ConsultationHeld,
    CoSubmittersAdded,
    DeadlineExtended,
    KeySupervisionSet,
    OrganizerUnitRegistered,
    RehandlingStarted,
    ReplyOverdue,
    SatisfactionEvaluated,
    SuggestionAcknowledged,
    SuggestionAssigned,
    SuggestionClosed,
    SuggestionEscalated,
    SuggestionReplied,
    SuggestionReturned,
    SuggestionRevised,
    SuggestionSentBack,
    SuggestionSubmitted,
    UnsatisfiedJustified,
)
from services.suggestions.projections.tables import (
    list_metadata,
    opinions,
    suggestion_deputies,
    suggestion_units,
    suggestions,
    units,
    utc_text,
)


class SuggestionLists(Projection):
    name: ClassVar[str] = "suggestions-lists"
    contexts: ClassVar[tuple[str, ...]] = ("suggestions",)
    metadata: ClassVar[MetaData] = list_metadata
    handles = (
        OrganizerUnitRegistered,
        SuggestionSubmitted,
        SuggestionAssigned,
        SuggestionAcknowledged,
        SuggestionReturned,
        ConsultationHeld,
        SuggestionReplied,
        ReplyOverdue,
        DeadlineExtended,
        SatisfactionEvaluated,
        RehandlingStarted,
        KeySupervisionSet,
        SuggestionClosed,
        CoSubmittersAdded,
        SuggestionEscalated,
        UnsatisfiedJustified,
        SuggestionSentBack,
        SuggestionRevised,
        ConstituentOpinionRecorded,
        ConstituentOpinionConverted,
        ConstituentOpinionAnswered,
    )

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        await self.apply_many([env], tx)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """The batch applied in order to its rows held in memory (``Rows``), written at the end: one
        read of the rows it reads or replaces, one executemany per table and kind of change (was a
        statement or more per event: most of this read model's replay, bench.replay_scale)."""
        held = _Lists()
        await held.load(tx, [env.data for env in envs])
        for env in envs:
            held.apply(env.data)
        await held.flush(tx)


_READS = (ConsultationHeld, CoSubmittersAdded)  # read the suggestion's row
_REPLACES_UNITS = (SuggestionAssigned, SuggestionReturned)  # replace the suggestion's units


class _Lists:
    def __init__(self) -> None:
        self.units = Rows(units)
        self.suggestions = Rows(suggestions)
        self.deputies = Rows(suggestion_deputies)
        self.assigned = Rows(suggestion_units, group="suggestion_id")
        self.opinions = Rows(opinions)

    async def load(self, tx: AsyncConnection, events: list[Any]) -> None:
        await self.suggestions.load(tx, "suggestion_id", {e.suggestion_id for e in events if isinstance(e, _READS)})
        replaced = {e.suggestion_id for e in events if isinstance(e, _REPLACES_UNITS)}
        await self.assigned.load(tx, "suggestion_id", replaced)

    async def flush(self, tx: AsyncConnection) -> None:
        for rows in (self.units, self.suggestions, self.deputies, self.assigned, self.opinions):
            await rows.flush(tx)

    def _set(self, suggestion_id: str, **values: Any) -> None:
        self.suggestions.set_by_key((suggestion_id,), **values)

    def _units(self, suggestion_id: str, lead: str | None = None, co: tuple[str, ...] = ()) -> None:
        for row in self.assigned.of(suggestion_id):
            self.assigned.delete(row)
        if lead is not None:
            for unit_id, is_lead in [(lead, True), *((c, False) for c in co)]:
                self.assigned.add(suggestion_id=suggestion_id, unit_id=unit_id, lead=is_lead)

    def apply(self, e: Any) -> None:
        match e:
            case OrganizerUnitRegistered():
                self.units.add(
                    unit_id=e.unit_id,
                    jurisdiction=e.jurisdiction,
                    name=e.name,
                    kind=e.kind,
                    head=e.head,
                    deputy_head=e.deputy_head,
                    supervising_department=e.supervising_department,
                    registered_at=utc_text(e.registered_at),
                )
            case SuggestionSubmitted():
                self.suggestions.add(**{**EMPTY_SUGGESTION, **submitted_row(e)})
                for d in e.deputy_ids:
                    self.deputies.add(suggestion_id=e.suggestion_id, deputy_id=d)
            case SuggestionAssigned():
                self._set(
                    e.suggestion_id,
                    status="assigned",
                    lead_unit_id=e.lead_unit_id,
                    co_unit_ids=list(e.co_unit_ids),
                    complexity=e.complexity,
                    round=e.round,
                    due_at=utc_text(e.due_at),
                    ever_assigned=True,
                    acknowledged=False,
                    overdue_raised=False,
                    assigned_at=utc_text(e.assigned_at),
                )
                self._units(e.suggestion_id, e.lead_unit_id, e.co_unit_ids)
            case SuggestionAcknowledged():
                self._set(e.suggestion_id, acknowledged=True)
            case SuggestionReturned():
                self._set(
                    e.suggestion_id,
                    status="submitted",
                    lead_unit_id=None,
                    co_unit_ids=[],
                    complexity=None,
                    due_at=None,
                    acknowledged=False,
                    overdue_raised=False,
                    round=e.round - 1,
                )
                self._units(e.suggestion_id)
            case ConsultationHeld():
                row = self.suggestions.get(e.suggestion_id)
                if row is not None:
                    self.suggestions.set(row, consultations=row["consultations"] + 1)
            case SuggestionReplied():
                self._set(e.suggestion_id, status="replied", latest_result=e.result)
            case ReplyOverdue():
                self._set(e.suggestion_id, overdue_raised=True)
            case DeadlineExtended():
                self._set(e.suggestion_id, due_at=utc_text(e.new_due_at), overdue_raised=False)
            case SatisfactionEvaluated():
                self._set(e.suggestion_id, latest_satisfaction=e.satisfaction)
            case RehandlingStarted():
                self._set(
                    e.suggestion_id, status="rehandling", round=e.round, due_at=utc_text(e.due_at), overdue_raised=False
                )
            case KeySupervisionSet():
                self._set(e.suggestion_id, key_supervision=True)
            case SuggestionClosed():
                changes: dict[str, Any] = {
                    "revision_requested_at": None,  # merged or escalated while sent back: no longer awaited
                    "revision_reason": None,
                    "status": "closed",
                    "closed_because": e.because,
                    "closed_at": utc_text(e.closed_at),
                }
                if e.merged_into:
                    changes["merged_into"] = e.merged_into
                if e.escalated_to:
                    changes["escalated_to"] = e.escalated_to
                self._set(e.suggestion_id, **changes)
            case CoSubmittersAdded():
                row = self.suggestions.get(e.suggestion_id)
                have = list(row["deputy_ids"]) if row else []
                new = [d for d in e.deputy_ids if d not in have]
                self._set(e.suggestion_id, deputy_ids=have + new)
                for d in new:
                    self.deputies.add(suggestion_id=e.suggestion_id, deputy_id=d)
            case SuggestionEscalated():
                self._set(e.suggestion_id, escalated_to=e.escalated_to)
            case UnsatisfiedJustified():
                self._set(e.suggestion_id, justified=True)
            case SuggestionSentBack():
                self._set(e.suggestion_id, revision_requested_at=utc_text(e.sent_back_at), revision_reason=e.reason)
            case SuggestionRevised():
                revised: dict[str, Any] = {"revision_requested_at": None, "revision_reason": None}
                if e.title is not None:
                    revised["title"] = e.title
                if e.category is not None:
                    revised["category"] = e.category
                self._set(e.suggestion_id, **revised)
            case ConstituentOpinionRecorded():
                self.opinions.add(
                    opinion_id=e.opinion_id,
                    jurisdiction=e.jurisdiction,
                    deputy_id=e.deputy_id,
                    on=e.on.isoformat(),
                    place=e.place,
                    content=e.content,
                    people_count=e.people_count,
                    status="recorded",
                    suggestion_id=None,
                    answer=None,
                    recorded_at=utc_text(e.recorded_at),
                )
            case ConstituentOpinionConverted():
                self.opinions.set_by_key((e.opinion_id,), status="converted", suggestion_id=e.suggestion_id)
            case ConstituentOpinionAnswered():
                self.opinions.set_by_key((e.opinion_id,), status="answered", answer=e.content)


# Every column of a new suggestion's row: the batch's later changes then land on keys it holds.
EMPTY_SUGGESTION: dict[str, Any] = {c.key: None for c in suggestions.columns}


def submitted_row(e: SuggestionSubmitted) -> dict[str, Any]:
    return dict(
        suggestion_id=e.suggestion_id,
        jurisdiction=e.jurisdiction,
        title=e.title,
        category=e.category,
        source=e.source,
        source_id=e.source_id,
        submitted_during=e.submitted_during,
        status="submitted",
        deputy_ids=list(e.deputy_ids),
        co_unit_ids=[],
        round=0,
        ever_assigned=False,
        acknowledged=False,
        overdue_raised=False,
        consultations=0,
        key_supervision=False,
        justified=False,
        submitted_at=utc_text(e.submitted_at),
    )
