"""The lists of the suggestions context: organizer units, suggestions, constituents' opinions."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import ColumnElement, MetaData, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
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

# Built once: building a statement per event cost more than running it (SQLAlchemy's construction
# and cache key, ~0.3 ms here; bench/).
UPDATE_ONE = suggestions.update().where(suggestions.c.suggestion_id == bindparam("sid"))
INSERT_SUGGESTION = suggestions.insert()
INSERT_DEPUTY = suggestion_deputies.insert()
INSERT_UNIT = suggestion_units.insert()
DELETE_UNITS = suggestion_units.delete().where(suggestion_units.c.suggestion_id == bindparam("sid"))
CONSULTED = UPDATE_ONE.values(consultations=suggestions.c.consultations + 1)


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
        e = env.data
        match e:
            case OrganizerUnitRegistered():
                await tx.execute(
                    units.insert().values(
                        unit_id=e.unit_id,
                        jurisdiction=e.jurisdiction,
                        name=e.name,
                        kind=e.kind,
                        head=e.head,
                        deputy_head=e.deputy_head,
                        supervising_department=e.supervising_department,
                        registered_at=utc_text(e.registered_at),
                    )
                )
            case SuggestionSubmitted():
                await tx.execute(
                    INSERT_SUGGESTION,
                    dict(
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
                    ),
                )
                await tx.execute(
                    INSERT_DEPUTY,
                    [{"suggestion_id": e.suggestion_id, "deputy_id": d} for d in e.deputy_ids],
                )
            case SuggestionAssigned():
                await self._set(
                    tx,
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
                await tx.execute(DELETE_UNITS, {"sid": e.suggestion_id})
                await tx.execute(
                    INSERT_UNIT,
                    [
                        {"suggestion_id": e.suggestion_id, "unit_id": u, "lead": lead}
                        for u, lead in [(e.lead_unit_id, True), *((c, False) for c in e.co_unit_ids)]
                    ],
                )
            case SuggestionAcknowledged():
                await self._set(tx, e.suggestion_id, acknowledged=True)
            case SuggestionReturned():
                await self._set(
                    tx,
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
                await tx.execute(DELETE_UNITS, {"sid": e.suggestion_id})
            case ConsultationHeld():
                await tx.execute(CONSULTED, {"sid": e.suggestion_id})
            case SuggestionReplied():
                await self._set(tx, e.suggestion_id, status="replied", latest_result=e.result)
            case ReplyOverdue():
                await self._set(tx, e.suggestion_id, overdue_raised=True)
            case DeadlineExtended():
                await self._set(tx, e.suggestion_id, due_at=utc_text(e.new_due_at), overdue_raised=False)
            case SatisfactionEvaluated():
                await self._set(tx, e.suggestion_id, latest_satisfaction=e.satisfaction)
            case RehandlingStarted():
                await self._set(
                    tx,
                    e.suggestion_id,
                    status="rehandling",
                    round=e.round,
                    due_at=utc_text(e.due_at),
                    overdue_raised=False,
                )
            case KeySupervisionSet():
                await self._set(tx, e.suggestion_id, key_supervision=True)
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
                await self._set(tx, e.suggestion_id, **changes)
            case CoSubmittersAdded():
                row = await self._row(tx, e.suggestion_id)
                have = list(row["deputy_ids"]) if row else []
                new = [d for d in e.deputy_ids if d not in have]
                await self._set(tx, e.suggestion_id, deputy_ids=have + new)
                for d in new:
                    await tx.execute(suggestion_deputies.insert().values(suggestion_id=e.suggestion_id, deputy_id=d))
            case SuggestionEscalated():
                await self._set(tx, e.suggestion_id, escalated_to=e.escalated_to)
            case UnsatisfiedJustified():
                await self._set(tx, e.suggestion_id, justified=True)
            case SuggestionSentBack():
                await self._set(
                    tx, e.suggestion_id, revision_requested_at=utc_text(e.sent_back_at), revision_reason=e.reason
                )
            case SuggestionRevised():
                revised: dict[str, Any] = {"revision_requested_at": None, "revision_reason": None}
                if e.title is not None:
                    revised["title"] = e.title
                if e.category is not None:
                    revised["category"] = e.category
                await self._set(tx, e.suggestion_id, **revised)
            case ConstituentOpinionRecorded():
                await tx.execute(
                    opinions.insert().values(
                        opinion_id=e.opinion_id,
                        jurisdiction=e.jurisdiction,
                        deputy_id=e.deputy_id,
                        on=e.on.isoformat(),
                        place=e.place,
                        content=e.content,
                        people_count=e.people_count,
                        status="recorded",
                        recorded_at=utc_text(e.recorded_at),
                    )
                )
            case ConstituentOpinionConverted():
                await tx.execute(
                    opinions.update()
                    .where(opinions.c.opinion_id == e.opinion_id)
                    .values(status="converted", suggestion_id=e.suggestion_id)
                )
            case ConstituentOpinionAnswered():
                await tx.execute(
                    opinions.update()
                    .where(opinions.c.opinion_id == e.opinion_id)
                    .values(status="answered", answer=e.content)
                )

    @staticmethod
    async def _set(tx: AsyncConnection, suggestion_id: str, **values: Any) -> None:
        if any(isinstance(v, ColumnElement) for v in values.values()):
            await tx.execute(UPDATE_ONE.values(**values), {"sid": suggestion_id})
        else:
            await tx.execute(UPDATE_ONE, {"sid": suggestion_id, **values})

    @staticmethod
    async def _row(tx: AsyncConnection, suggestion_id: str) -> Any:
        q = select(suggestions).where(suggestions.c.suggestion_id == suggestion_id)
        return (await tx.execute(q)).mappings().first()
