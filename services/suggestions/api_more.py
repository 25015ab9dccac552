"""HTTP routes for organizer units (承办单位) and constituents' opinions (群众意见).

Included before ``api.router``, whose ``/{suggestion_id}`` would otherwise catch these paths.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from libs.auth.access import ANY_ROLE
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.suggestions import opinion_commands, queries
from services.suggestions.commands import STAFF_ACTORS
from services.suggestions.domain import commands as dc

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])
CodeParam = Annotated[str | None, Query(max_length=9, pattern=r"^\d{4}(\d{2}(\d{3})?)?$")]
OpinionId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_\-]{1,64}$", description="群众意见编号")]
OPINION_RECORDERS = ("deputy", "city_staff", "county_staff", "township_staff")


def fresh_id(ctx: CommandContext, kind: str) -> str:
    """A new aggregate id, the same on a retry with the same Idempotency-Key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{ctx.meta.command_id}"))


class UnitIn(BaseModel):
    jurisdiction: str = Field(min_length=6, max_length=9)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=60, description="例如 township_office、station、county_department")
    head: str = Field(min_length=1, max_length=100, description="单位负责人")
    deputy_head: str = Field(min_length=1, max_length=100, description="主管副职")


@router.post("/units", status_code=status.HTTP_201_CREATED)
async def post_unit(
    body: UnitIn, ctx: Annotated[CommandContext, Depends(command_context(*opinion_commands.UNIT_REGISTRARS))]
) -> dict[str, Any]:
    c = dc.RegisterOrganizerUnit(
        unit_id=fresh_id(ctx, "unit"),
        jurisdiction=body.jurisdiction,
        name=body.name,
        kind=body.kind,
        head=body.head,
        deputy_head=body.deputy_head,
    )
    done = await opinion_commands.register_unit(ctx.runtime, c, ctx.meta, ctx.principal)
    ctx.answered(done)
    u = done.loaded.state
    return {
        "unit_id": u.id,
        "jurisdiction": u.jurisdiction,
        "name": u.name,
        "kind": u.kind,
        "head": u.head,
        "deputy_head": u.deputy_head,
    }


@router.get("/units", response_model=Page[dict[str, Any]])
async def get_units(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    under: CodeParam = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    rows = await queries.units_under(ctx.runtime.engine, ctx.principal, under, limit, cursor)
    return page(rows, limit, key=lambda r: r["unit_id"])


class OpinionIn(BaseModel):
    deputy_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    township: str = Field(min_length=9, max_length=9)
    on: date
    place: str = Field(min_length=1, max_length=300)
    content: str = Field(min_length=1, max_length=20_000)
    people_count: int = Field(ge=1, le=100_000)


@router.post("/opinions", status_code=status.HTTP_201_CREATED)
async def post_opinion(
    body: OpinionIn, ctx: Annotated[CommandContext, Depends(command_context(*OPINION_RECORDERS))]
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
    done = await opinion_commands.record_opinion(ctx.runtime, c, ctx.meta, ctx.principal)
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
    return page(rows, limit, key=lambda r: r["opinion_id"])


class ConvertIn(BaseModel):
    title: str | None = Field(default=None, max_length=300)


@router.post("/opinions/{opinion_id}/convert", status_code=status.HTTP_201_CREATED)
async def post_convert(
    opinion_id: OpinionId,
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))],
    body: ConvertIn | None = None,
) -> dict[str, Any]:
    first, second = await opinion_commands.convert_opinion(
        ctx.runtime, opinion_id, ctx.meta, ctx.principal, title=body.title if body else None
    )
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
    opinion_id: OpinionId, body: AnswerIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))]
) -> dict[str, Any]:
    done = await opinion_commands.answer_opinion(
        ctx.runtime, dc.AnswerOpinion(opinion_id, body.content), ctx.meta, ctx.principal
    )
    ctx.answered(done)
    return {"opinion_id": opinion_id, "status": done.loaded.state.status}
