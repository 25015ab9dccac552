"""HTTP routes of liaison stations (代表联络站 / 代表之家)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field

from libs.auth.access import STAFF_ROLES
from libs.domain.times import LocalTime
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.deputies import queries
from services.deputies.api.deps import STAFF_AND_DEPUTY, Township, TownshipQuery
from services.deputies.commands.context import new_id
from services.deputies.commands.stations import register_station, update_station
from services.deputies.domain import station as station_
from services.deputies.domain.station import LiaisonStation
from services.deputies.events import SixHaves

router = APIRouter(prefix="/api/deputies", tags=["代表小组、主席团、联络站"])


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
    registered_at: LocalTime | None = None

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
        station_id=new_id(ctx.meta, "station"),
        township=body.township,
        name=body.name,
        address=body.address,
        six_haves=body.six_haves,
        reception_days=tuple(body.reception_days),
    )
    return StationOut.of_state((await register_station(c, ctx)).loaded.state)


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
    return StationOut.of_state((await update_station(c, ctx)).loaded.state)


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
