"""The facts the rates are counted from: one row per handling round, reply, evaluation, B promise.

Read models hold facts; ``libs/figures/rates.py`` counts the figures. Each row carries the
suggestion's jurisdiction and the lead unit at the time, so the read side can group by
township, county or unit.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.events.projection.rows import Rows
from services.suggestions.events import (
    DeadlineExtended,
    PromiseCarriedOut,
    RehandlingStarted,
    SatisfactionEvaluated,
    SuggestionAssigned,
    SuggestionReplied,
    SuggestionReturned,
    UnsatisfiedJustified,
)
from services.suggestions.projections.tables import (
    rate_evaluations,
    rate_justified,
    rate_promises,
    rate_replies,
    rate_rounds,
    rates_metadata,
    utc_text,
)


class RateRecords(Projection):
    name: ClassVar[str] = "suggestions-rate-records"
    contexts: ClassVar[tuple[str, ...]] = ("suggestions",)
    metadata: ClassVar[MetaData] = rates_metadata
    handles = (
        SuggestionAssigned,
        SuggestionReturned,
        RehandlingStarted,
        DeadlineExtended,
        SuggestionReplied,
        SatisfactionEvaluated,
        PromiseCarriedOut,
        UnsatisfiedJustified,
    )

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        await self.apply_many([env], tx)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """The batch applied in order to its rows held in memory (``Rows``), written at the end: one
        read of the promises a reply may supersede and of the justified marks, one executemany per
        table and kind of change (was up to four statements per event)."""
        rounds, replies = Rows(rate_rounds), Rows(rate_replies)
        evaluations, promises = Rows(rate_evaluations), Rows(rate_promises, group="suggestion_id")
        justified = Rows(rate_justified)
        replied = {r.suggestion_id for env in envs if isinstance(r := env.data, SuggestionReplied)}
        await promises.load(tx, "suggestion_id", replied)
        marked = {j.suggestion_id for env in envs if isinstance(j := env.data, UnsatisfiedJustified)}
        await justified.load(tx, "suggestion_id", marked)
        for env in envs:
            e: Any = env.data
            match e:
                case SuggestionAssigned() | RehandlingStarted():
                    rounds.add(
                        suggestion_id=e.suggestion_id,
                        round=e.round,
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        due_at=utc_text(e.due_at),
                        replied_at=None,
                    )
                case SuggestionReturned():  # the withdrawn round never counts
                    rounds.delete_by_key((e.suggestion_id, e.round))
                case DeadlineExtended():
                    rounds.set_by_key((e.suggestion_id, e.round), due_at=utc_text(e.new_due_at))
                case SuggestionReplied():
                    at = utc_text(e.replied_at)
                    rounds.set_by_key((e.suggestion_id, e.round), replied_at=at)
                    replies.add(
                        suggestion_id=e.suggestion_id,
                        round=e.round,
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.unit_id,
                        result=e.result,
                        replied_at=at,
                        consultation_modes=list(e.consultation_modes),
                    )
                    # A later reply replaces a promise not yet carried out (as the aggregate does).
                    for promise in promises.of(e.suggestion_id):
                        if promise["carried_out_on"] is None and not promise["superseded"]:
                            promises.set(promise, superseded=True)
                    if e.result == "B" and e.promised_by is not None:
                        promises.add(
                            suggestion_id=e.suggestion_id,
                            round=e.round,
                            jurisdiction=e.jurisdiction,
                            lead_unit_id=e.unit_id,
                            promised_by=e.promised_by.isoformat(),
                            carried_out_on=None,
                            superseded=False,
                        )
                case SatisfactionEvaluated():
                    evaluations.add(
                        suggestion_id=e.suggestion_id,
                        round=e.round,
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        satisfaction=e.satisfaction,
                        evaluated_at=utc_text(e.evaluated_at),
                    )
                case PromiseCarriedOut():
                    promises.set_by_key((e.suggestion_id, e.round), carried_out_on=e.carried_out_on.isoformat())
                case UnsatisfiedJustified():
                    if justified.get(e.suggestion_id) is None:
                        justified.add(suggestion_id=e.suggestion_id, jurisdiction=e.jurisdiction)
        for rows in (rounds, replies, evaluations, promises, justified):
            await rows.flush(tx)
