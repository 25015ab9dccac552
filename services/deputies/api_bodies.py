"""HTTP routes of the township's bodies: deputy groups, the presidium, liaison stations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from libs.auth.access import STAFF_ROLES
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.deputies import commands, commands_bodies, queries
from services.deputies.config import DeputiesSettings
from services.deputies.domain import group as group_
from services.deputies.domain import presidium as presidium_
from services.deputies.domain import station as station_
from services.deputies.domain.group import DeputyGroup
from services.deputies.domain.station import LiaisonStation
from services.deputies.events import SixHaves

router = APIRouter(prefix="/api/deputies", tags=["代表小组、主席团、联络站"])
STAFF_AND_DEPUTY = (*STAFF_ROLES, "deputy")
Township = Annotated[str, Field(min_length=9, max_length=9, pattern=r"^\d{9}$", description="乡镇（街道）9 位区划代码")]
TownshipQuery = Annotated[str | None, Query(pattern=r"^\d{9}$")]
Ids = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=1000)]


def deputies_config(request: Request) -> DeputiesSettings:
    found = getattr(request.app.state, "deputies_config", None)
    return found if found is not None else DeputiesSettings()


# -- groups ---------------------------------------------------------------------------------------
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
        group_id=commands.new_id(ctx.meta, "group"),
        township=body.township,
        name=body.name,
        leader_ids=tuple(body.leader_ids),
        member_ids=tuple(body.member_ids),
        central=body.central,
    )
    done = await commands_bodies.form_group(c, ctx)
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
    done = await commands_bodies.change_group(c, ctx)
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


# -- presidium ------------------------------------------------------------------------------------
class PresidiumIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    township: Township
    member_ids: Ids = Field(min_length=1)
    chair_id: str = Field(min_length=1, max_length=64, description="人大主席（主席团主席）")
    formed_on: date | None = Field(default=None, description="选举产生的日期，默认今天")


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
    config: Annotated[DeputiesSettings, Depends(deputies_config)],
) -> PresidiumOut:
    c = presidium_.FormPresidium(
        township=body.township,
        member_ids=tuple(body.member_ids),
        chair_id=body.chair_id,
        formed_on=body.formed_on or commands.today(ctx),
    )
    done = await commands_bodies.form_presidium(c, ctx, config)
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


# -- liaison stations -----------------------------------------------------------------------------
class StationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    township: Township
    name: str = Field(min_length=1, max_length=100, description="例如 某某村代表联络站 / 代表之家")
    address: str = Field(default="", max_length=300)
    six_haves: SixHaves = Field(default_factory=SixHaves, description="六有：场所、标牌、制度、资料、记录、名册")
    reception_days: list[Annotated[str, Field(max_length=12)]] = Field(
        default_factory=list, max_length=62, description="接待日：monday…sunday（每周）或 1–31（每月几号）"
    )


class StationChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    address: str = Field(default="", max_length=300)
    six_haves: SixHaves = Field(default_factory=SixHaves)
    reception_days: list[Annotated[str, Field(max_length=12)]] = Field(default_factory=list, max_length=62)


class StationOut(BaseModel):
    station_id: str
    township: str
    name: str
    address: str
    six_haves: SixHaves
    reception_days: list[str]
    six_haves_met: bool
    missing: list[str]
    missing_zh: list[str]
    registered_at: datetime | None = None

    @classmethod
    def of_state(cls, s: LiaisonStation) -> StationOut:
        row = {
            "station_id": s.id,
            "township": s.township,
            "name": s.name,
            "address": s.address,
            "six_haves": s.six_haves.model_dump(),
            "reception_days": list(s.reception_days),
        }
        return cls(**queries.station_view(row))


@router.post("/stations", status_code=status.HTTP_201_CREATED, response_model=StationOut)
async def post_station(
    body: StationIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]
) -> StationOut:
    c = station_.RegisterLiaisonStation(
        station_id=commands.new_id(ctx.meta, "station"),
        township=body.township,
        name=body.name,
        address=body.address,
        six_haves=body.six_haves,
        reception_days=tuple(body.reception_days),
    )
    return StationOut.of_state((await commands_bodies.register_station(c, ctx)).loaded.state)


@router.put("/stations/{station_id}", response_model=StationOut)
async def put_station(
    station_id: str, body: StationChangeIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]
) -> StationOut:
    c = station_.UpdateLiaisonStation(
        station_id=station_id,
        name=body.name,
        address=body.address,
        six_haves=body.six_haves,
        reception_days=tuple(body.reception_days),
    )
    return StationOut.of_state((await commands_bodies.update_station(c, ctx)).loaded.state)


@router.get("/stations", response_model=Page[StationOut])
async def get_stations(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))],
    township: TownshipQuery = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[StationOut]:
    rows = await queries.stations_list(ctx.runtime.engine, ctx.principal, township, limit, cursor)
    return page([StationOut(**r) for r in rows], limit, key=lambda s: [s.township, s.name, s.station_id])


@router.get("/stations/{station_id}", response_model=StationOut)
async def get_station(
    station_id: str, ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))]
) -> StationOut:
    return StationOut(**await queries.station(ctx.runtime.engine, ctx.principal, station_id))
