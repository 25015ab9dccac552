"""The facts the rates are counted from: one row per handling round, reply, evaluation, B promise.

Read models hold facts; ``libs/figures/rates.py`` counts the figures. Each row carries the
suggestion's jurisdiction and the lead unit at the time, so the read side can group by
township, county or unit.
"""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import MetaData, bindparam, select, update
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

# Built once: building a statement per event cost more than running it (bench/suggestions.py).
_r, _p = rate_rounds.c, rate_promises.c
INSERT_ROUND = rate_rounds.insert()
DELETE_ROUND = rate_rounds.delete().where(_r.suggestion_id == bindparam("sid"), _r.round == bindparam("rnd"))
ROUND_DUE = (
    update(rate_rounds)
    .where(_r.suggestion_id == bindparam("sid"), _r.round == bindparam("rnd"))
    .values(due_at=bindparam("at"))
)
ROUND_REPLIED = (
    update(rate_rounds)
    .where(_r.suggestion_id == bindparam("sid"), _r.round == bindparam("rnd"))
    .values(replied_at=bindparam("at"))
)
INSERT_REPLY = rate_replies.insert()
SUPERSEDE = (
    update(rate_promises)
    .where(_p.suggestion_id == bindparam("sid"), _p.carried_out_on.is_(None), _p.superseded.is_(False))
    .values(superseded=True)
)
INSERT_PROMISE = rate_promises.insert()
INSERT_EVALUATION = rate_evaluations.insert()
CARRIED_OUT = (
    update(rate_promises)
    .where(_p.suggestion_id == bindparam("sid"), _p.round == bindparam("rnd"))
    .values(carried_out_on=bindparam("on"))
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
        match e:
            case SuggestionAssigned() | RehandlingStarted():
                await tx.execute(
                    INSERT_ROUND,
                    {
                        "suggestion_id": e.suggestion_id,
                        "round": e.round,
                        "jurisdiction": e.jurisdiction,
                        "lead_unit_id": e.lead_unit_id,
                        "due_at": utc_text(e.due_at),
                    },
                )
            case SuggestionReturned():  # the withdrawn round never counts
                await tx.execute(DELETE_ROUND, {"sid": e.suggestion_id, "rnd": e.round})
            case DeadlineExtended():
                await tx.execute(ROUND_DUE, {"sid": e.suggestion_id, "rnd": e.round, "at": utc_text(e.new_due_at)})
            case SuggestionReplied():
                at = utc_text(e.replied_at)
                await tx.execute(ROUND_REPLIED, {"sid": e.suggestion_id, "rnd": e.round, "at": at})
                await tx.execute(
                    INSERT_REPLY,
                    {
                        "suggestion_id": e.suggestion_id,
                        "round": e.round,
                        "jurisdiction": e.jurisdiction,
                        "lead_unit_id": e.unit_id,
                        "result": e.result,
                        "replied_at": at,
                        "consultation_modes": list(e.consultation_modes),
                    },
                )
                # A later reply replaces a promise not yet carried out (as the aggregate does).
                await tx.execute(SUPERSEDE, {"sid": e.suggestion_id})
                if e.result == "B" and e.promised_by is not None:
                    await tx.execute(
                        INSERT_PROMISE,
                        {
                            "suggestion_id": e.suggestion_id,
                            "round": e.round,
                            "jurisdiction": e.jurisdiction,
                            "lead_unit_id": e.unit_id,
                            "promised_by": e.promised_by.isoformat(),
                            "carried_out_on": None,
                            "superseded": False,
                        },
                    )
            case SatisfactionEvaluated():
                await tx.execute(
                    INSERT_EVALUATION,
                    {
                        "suggestion_id": e.suggestion_id,
                        "round": e.round,
                        "jurisdiction": e.jurisdiction,
                        "lead_unit_id": e.lead_unit_id,
                        "satisfaction": e.satisfaction,
                        "evaluated_at": utc_text(e.evaluated_at),
                    },
                )
            case PromiseCarriedOut():
                await tx.execute(
                    CARRIED_OUT, {"sid": e.suggestion_id, "rnd": e.round, "on": e.carried_out_on.isoformat()}
                )
            case UnsatisfiedJustified():
                q = select(rate_justified.c.suggestion_id).where(rate_justified.c.suggestion_id == e.suggestion_id)
                if (await tx.execute(q)).first() is None:
                    await tx.execute(
                        rate_justified.insert().values(suggestion_id=e.suggestion_id, jurisdiction=e.jurisdiction)
                    )
