"""HTTP routes of deputy groups (代表小组)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from libs.auth.access import STAFF_ROLES
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.deputies import queries
from services.deputies.api.deps import STAFF_AND_DEPUTY, Ids, Township, TownshipQuery
from services.deputies.commands.context import new_id
from services.deputies.commands.groups import change_group, form_group
from services.deputies.domain import group as group_
from services.deputies.domain.group import DeputyGroup

router = APIRouter(prefix="/api/deputies", tags=["代表小组、主席团、联络站"])


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    township: Township
    name: str = Field(min_length=1, max_length=100)
    leader_ids: Ids = Field(min_length=1, description="组长（至少一名）")
    member_ids: Ids = Field(default_factory=list, description="成员（组长自动计入）")
    central: bool = Field(default=False, description="中心代表小组（每个乡镇一个）")


class GroupChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    leader_ids: Ids = Field(min_length=1)
    member_ids: Ids = Field(default_factory=list)
    central: bool = False


class GroupOut(BaseModel):
    group_id: str
    township: str
    name: str
    leader_ids: list[str]
    member_ids: list[str]
    central: bool
    size: int
    names: dict[str, str] = Field(default_factory=dict, description="代表 id → 姓名")

    @classmethod
    def of_state(cls, g: DeputyGroup) -> GroupOut:
        return cls(
            group_id=g.id,
            township=g.township,
            name=g.name,
            leader_ids=list(g.leader_ids),
            member_ids=list(g.member_ids),
            central=g.central,
            size=len(g.member_ids),
        )

    @classmethod
    def of_row(cls, r: dict[str, Any]) -> GroupOut:
        return cls(**r, size=len(r["member_ids"]))


@router.post("/groups", status_code=status.HTTP_201_CREATED, response_model=GroupOut)
async def post_group(body: GroupIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]) -> GroupOut:
    c = group_.FormDeputyGroup(
        group_id=new_id(ctx.meta, "group"),
        township=body.township,
        name=body.name,
        leader_ids=tuple(body.leader_ids),
        member_ids=tuple(body.member_ids),
        central=body.central,
    )
    done = await form_group(c, ctx)
    return GroupOut.of_state(done.loaded.state)


@router.put("/groups/{group_id}", response_model=GroupOut)
async def put_group(
    group_id: str, body: GroupChangeIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]
) -> GroupOut:
    c = group_.ChangeDeputyGroup(
        group_id=group_id,
        name=body.name,
        leader_ids=tuple(body.leader_ids),
        member_ids=tuple(body.member_ids),
        central=body.central,
    )
    done = await change_group(c, ctx)
    return GroupOut.of_state(done.loaded.state)


@router.get("/groups", response_model=Page[GroupOut])
async def get_groups(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))],
    township: TownshipQuery = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[GroupOut]:
    rows = await queries.groups_list(ctx.runtime.engine, ctx.principal, township, limit, cursor)
    return page([GroupOut.of_row(r) for r in rows], limit, key=lambda g: [g.township, g.name, g.group_id])


@router.get("/groups/{group_id}", response_model=GroupOut)
async def get_group(group_id: str, ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))]) -> GroupOut:
    return GroupOut.of_row(await queries.group(ctx.runtime.engine, ctx.principal, group_id))
