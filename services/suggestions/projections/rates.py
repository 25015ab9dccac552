"""The facts the rates are counted from: one row per handling round, reply, evaluation, B promise.

Read models hold facts; ``libs/figures/rates.py`` counts the figures. Each row carries the
suggestion's jurisdiction and the lead unit at the time, so the read side can group by
township, county or unit.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import MetaData, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
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
        e = env.data
        r = rate_rounds.c
        match e:
            case SuggestionAssigned():
                await tx.execute(
                    rate_rounds.insert().values(
                        suggestion_id=e.suggestion_id,
                        round=e.round,
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        due_at=utc_text(e.due_at),
                    )
                )
            case SuggestionReturned():  # the withdrawn round never counts
                await tx.execute(rate_rounds.delete().where(r.suggestion_id == e.suggestion_id, r.round == e.round))
            case RehandlingStarted():
                await tx.execute(
                    rate_rounds.insert().values(
                        suggestion_id=e.suggestion_id,
                        round=e.round,
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        due_at=utc_text(e.due_at),
                    )
                )
            case DeadlineExtended():
                await tx.execute(
                    update(rate_rounds)
                    .where(r.suggestion_id == e.suggestion_id, r.round == e.round)
                    .values(due_at=utc_text(e.new_due_at))
                )
            case SuggestionReplied():
                await tx.execute(
                    update(rate_rounds)
                    .where(r.suggestion_id == e.suggestion_id, r.round == e.round)
                    .values(replied_at=utc_text(e.replied_at))
                )
                await tx.execute(
                    rate_replies.insert().values(
                        suggestion_id=e.suggestion_id,
                        round=e.round,
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.unit_id,
                        result=e.result,
                        replied_at=utc_text(e.replied_at),
                        consultation_modes=list(e.consultation_modes),
                    )
                )
                p = rate_promises.c
                # A later reply replaces a promise not yet carried out (as the aggregate does).
                await tx.execute(
                    update(rate_promises)
                    .where(p.suggestion_id == e.suggestion_id, p.carried_out_on.is_(None), p.superseded.is_(False))
                    .values(superseded=True)
                )
                if e.result == "B" and e.promised_by is not None:
                    await tx.execute(
                        rate_promises.insert().values(
                            suggestion_id=e.suggestion_id,
                            round=e.round,
                            jurisdiction=e.jurisdiction,
                            lead_unit_id=e.unit_id,
                            promised_by=e.promised_by.isoformat(),
                            superseded=False,
                        )
                    )
            case SatisfactionEvaluated():
                await tx.execute(
                    rate_evaluations.insert().values(
                        suggestion_id=e.suggestion_id,
                        round=e.round,
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        satisfaction=e.satisfaction,
                        evaluated_at=utc_text(e.evaluated_at),
                    )
                )
            case PromiseCarriedOut():
                p = rate_promises.c
                await tx.execute(
                    update(rate_promises)
                    .where(p.suggestion_id == e.suggestion_id, p.round == e.round)
                    .values(carried_out_on=e.carried_out_on.isoformat())
                )
            case UnsatisfiedJustified():
                q = select(rate_justified.c.suggestion_id).where(rate_justified.c.suggestion_id == e.suggestion_id)
                if (await tx.execute(q)).first() is None:
                    await tx.execute(
                        rate_justified.insert().values(suggestion_id=e.suggestion_id, jurisdiction=e.jurisdiction)
                    )
