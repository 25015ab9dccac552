"""HTTP routes of the township presidium (乡镇人大主席团)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from libs.auth.access import STAFF_ROLES
from libs.domain.times import DateInRange
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from services.deputies import queries
from services.deputies.api.deps import STAFF_AND_DEPUTY, DeputyId, Ids, Township
from services.deputies.commands.context import today
from services.deputies.commands.presidium import form_presidium
from services.deputies.domain import presidium as presidium_

router = APIRouter(prefix="/api/deputies", tags=["代表小组、主席团、联络站"])


class PresidiumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    township: Township
    member_ids: Ids = Field(min_length=1)
    chair_id: DeputyId = Field(description="人大主席（主席团主席）")
    formed_on: DateInRange | None = Field(default=None, description="选举产生的日期，默认今天")


class PresidiumOut(BaseModel):
    township: str
    member_ids: list[str]
    chair_id: str
    formed_on: date
    size: int
    names: dict[str, str] = Field(default_factory=dict)


@router.post("/presidium", status_code=status.HTTP_201_CREATED, response_model=PresidiumOut)
async def post_presidium(
    body: PresidiumIn,
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))],
) -> PresidiumOut:
    c = presidium_.FormPresidium(
        township=body.township,
        member_ids=tuple(body.member_ids),
        chair_id=body.chair_id,
        formed_on=body.formed_on or today(ctx),
    )
    done = await form_presidium(c, ctx)
    p = done.loaded.state
    assert p.chair_id is not None and p.formed_on is not None
    return PresidiumOut(
        township=p.township,
        member_ids=list(p.member_ids),
        chair_id=p.chair_id,
        formed_on=p.formed_on,
        size=len(p.member_ids),
    )


@router.get("/presidium", response_model=PresidiumOut)
async def get_presidium(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))],
    township: Annotated[str, Query(pattern=r"^\d{9}$")],
) -> PresidiumOut:
    r = await queries.presidium(ctx.runtime.engine, ctx.principal, township)
    return PresidiumOut(**r, size=len(r["member_ids"]))
