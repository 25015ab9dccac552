"""HTTP routes of constituents' opinions (群众意见). Mounted before ``suggestions.py`` (static paths first)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field, StrictInt

from libs.auth.access import ANY_ROLE
from libs.domain.times import DateInRange
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.suggestions.api import CodeQuery, OpinionId
from services.suggestions.api.units import fresh_id
from services.suggestions.api.views import local_times
from services.suggestions.commands import opinions as handlers
from services.suggestions.commands.context import STAFF_ACTORS, Context
from services.suggestions.domain import commands as dc
from services.suggestions.projections.tables import from_text
from services.suggestions.queries import opinions as queries

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])
CodeParam = Annotated[str | None, Query(max_length=9, pattern=CodeQuery)]
OPINION_RECORDERS = ("deputy", "city_staff", "county_staff", "township_staff")


class OpinionIn(BaseModel):
    deputy_id: str = Field(min_length=1, max_length=64, description="收集意见的代表（须为该乡镇的代表）")
    township: str = Field(min_length=9, max_length=9)
    on: DateInRange
    place: str = Field(min_length=1, max_length=300)
    content: str = Field(min_length=1, max_length=20_000)
    people_count: StrictInt = Field(ge=1, le=100_000)  # ``false`` or ``"3"`` are not a count


@router.post("/opinions", status_code=status.HTTP_201_CREATED)
async def post_opinion(
    ctx: Annotated[CommandContext, Depends(command_context(*OPINION_RECORDERS))], body: OpinionIn
) -> dict[str, Any]:
    c = dc.RecordOpinion(
        opinion_id=fresh_id(ctx, "opinion"),
        jurisdiction=body.township,
        deputy_id=body.deputy_id,
        on=body.on,
        place=body.place,
        content=body.content,
        people_count=body.people_count,
    )
    done = await handlers.record_opinion(c, Context.of(ctx))
    ctx.answered(done)
    return {"opinion_id": done.loaded.id, "status": done.loaded.state.status}


@router.get("/opinions", response_model=Page[dict[str, Any]])
async def get_opinions(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    township: CodeParam = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    rows = await queries.opinions_under(ctx.runtime.engine, ctx.principal, township, limit, cursor)
    for r in rows:
        r["township"] = r["jurisdiction"]
        r["recorded_at"] = local_times(from_text(r["recorded_at"]))
    return page(rows, limit, key=lambda r: r["opinion_id"])


class ConvertIn(BaseModel):
    title: str | None = Field(default=None, max_length=300)


@router.post("/opinions/{opinion_id}/convert", status_code=status.HTTP_201_CREATED)
async def post_convert(
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))],
    opinion_id: OpinionId,
    body: ConvertIn | None = None,
) -> dict[str, Any]:
    c = dc.ConvertOpinion(opinion_id=opinion_id, title=body.title if body else None)
    first, second = await handlers.convert_opinion(c, Context.of(ctx))
    ctx.answered(first)
    ctx.answered(second)
    return {
        "opinion_id": opinion_id,
        "status": "converted",
        "suggestion_id": second.loaded.id,
        "suggestion_status": second.loaded.state.status,
    }


class AnswerIn(BaseModel):
    content: str = Field(min_length=1, max_length=20_000)


@router.post("/opinions/{opinion_id}/answer")
async def post_answer(
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))], opinion_id: OpinionId, body: AnswerIn
) -> dict[str, Any]:
    done = await handlers.answer_opinion(dc.AnswerOpinion(opinion_id, body.content), Context.of(ctx))
    ctx.answered(done)
    return {"opinion_id": opinion_id, "status": done.loaded.state.status}
