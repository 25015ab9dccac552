"""HTTP routes of the deputies context: parse, authorise, call, answer. No rules, no SQL."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.deputies import commands, queries

router = APIRouter(prefix="/api/deputies", tags=["代表"])

STAFF_OVER_TOWNSHIPS = ("city_staff", "county_staff")
ANY_ROLE = ("city_staff", "county_staff", "township_staff", "deputy", "organizer")


class JurisdictionIn(BaseModel):
    code: str = Field(min_length=4, max_length=9, description="国家行政区划代码：市 4 位，县区 6 位，乡镇街道 9 位")
    name: str = Field(min_length=1, max_length=100)
    kind: Literal["city", "county", "township", "street"]
    parent: str | None = Field(default=None, max_length=9)


class JurisdictionOut(BaseModel):
    code: str
    name: str
    kind: str
    parent: str | None


@router.post("/jurisdictions", status_code=status.HTTP_201_CREATED, response_model=JurisdictionOut)
async def post_jurisdiction(
    body: JurisdictionIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_OVER_TOWNSHIPS))]
) -> JurisdictionOut:
    c = commands.RegisterJurisdiction(code=body.code, name=body.name, kind=body.kind, parent=body.parent)
    done = await commands.register_jurisdiction(c, ctx.store, ctx.principal, ctx.meta)
    ctx.answered(done)
    j = done.loaded.state
    return JurisdictionOut(code=j.code, name=j.name, kind=j.kind or body.kind, parent=j.parent)


@router.get("/jurisdictions", response_model=Page[JurisdictionOut])
async def get_jurisdictions(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    under: Annotated[str | None, Query(max_length=9, pattern=r"^\d{4}(\d{2}(\d{3})?)?$")] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[JurisdictionOut]:
    rows = await queries.jurisdictions_under(ctx.runtime.engine, ctx.principal, under, limit, cursor)
    return page([JurisdictionOut(**r) for r in rows], limit, key=lambda j: j.code)
