"""HTTP routes of the deputies registry: jurisdictions and deputies. Parse, authorise, call, answer.

The ``/{deputy_id}`` route is in ``record_router``, mounted last so that fixed paths win.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from libs.auth.access import ANY_ROLE, OVER_TOWNSHIPS, STAFF_ROLES
from libs.domain.times import DateInRange, LocalTime
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.deputies import queries
from services.deputies.api.deps import STAFF_AND_DEPUTY, read_today
from services.deputies.commands.context import new_id, today
from services.deputies.commands.deputies import (
    change_contact,
    confirm_qualification,
    register_deputy,
    terminate_deputy,
)
from services.deputies.commands.jurisdictions import RegisterJurisdiction, register_jurisdiction
from services.deputies.domain import deputy as deputy_
from services.deputies.domain.contact_details import ChangeContact
from services.deputies.domain.deputy import Deputy
from services.deputies.domain.vocabulary import Gender, Level, Term, TerminationReason

router = APIRouter(prefix="/api/deputies", tags=["代表"])
record_router = APIRouter(prefix="/api/deputies", tags=["代表"])

CodeQuery = Annotated[str | None, Query(max_length=9, pattern=r"^\d{2}(\d{2}(\d{2}(\d{3})?)?)?$")]


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
    body: JurisdictionIn, ctx: Annotated[CommandContext, Depends(command_context(*OVER_TOWNSHIPS))]
) -> JurisdictionOut:
    c = RegisterJurisdiction(code=body.code, name=body.name, kind=body.kind, parent=body.parent)
    done = await register_jurisdiction(c, ctx)
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


# -- deputies -------------------------------------------------------------------------------------
class DeputyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    gender: Gender = Field(description="male | female（也可填 男 / 女）")
    level: Level = Field(
        description="township | county | city | province | national（也可填 乡镇 / 县 / 市 / 省 / 全国）"
    )
    congress: str = Field(min_length=1, max_length=12, description="选举产生该代表的人大的区划代码")
    township: str | None = Field(default=None, max_length=9, description="编组所在乡镇（街道）代码")
    constituency: str = Field(min_length=1, max_length=200, description="选区或选举单位")
    term: Term = Field(description="届次：18，或按书写习惯填「第十八届」")
    sector: str = Field(default="", max_length=100, description="代表构成，例如 农民、工人、专业技术人员")
    phone: str | None = Field(default=None, max_length=30)
    by_election: bool = Field(default=False, description="补选产生")
    elected_on: DateInRange | None = None

    def command(self, deputy_id: str) -> deputy_.RegisterDeputy:
        return deputy_.RegisterDeputy(
            deputy_id=deputy_id,
            name=self.name,
            gender=self.gender,
            level=self.level,
            congress=self.congress.strip(),
            township=self.township.strip() if self.township else None,
            constituency=self.constituency,
            term=self.term,
            sector=self.sector,
            phone=self.phone,
            by_election=self.by_election,
            elected_on=self.elected_on,
        )


class DeputyOut(BaseModel):
    deputy_id: str
    name: str
    gender: str
    level: str
    congress: str
    township: str | None
    constituency: str
    term: int
    sector: str
    phone: str | None = Field(default=None, description="仅本辖区工作人员可见")
    by_election: bool
    elected_on: date | None
    qualification_confirmed_on: date | None
    status: Literal["active", "terminated"]
    terminated_on: date | None
    termination_reason: str | None
    registered_at: LocalTime | None = None


class DeputyStateOut(BaseModel):
    deputy_id: str
    name: str
    level: str
    congress: str
    township: str | None
    status: str
    by_election: bool
    elected_on: date | None
    qualification_confirmed_on: date | None
    terminated_on: date | None
    termination_reason: str | None

    @classmethod
    def of(cls, d: Deputy, on: date) -> DeputyStateOut:
        return cls(
            deputy_id=d.id,
            name=d.name,
            level=d.level,
            congress=d.congress,
            township=d.township,
            status="terminated" if d.terminated_on is not None and d.terminated_on <= on else "active",
            by_election=d.by_election,
            elected_on=d.elected_on,
            qualification_confirmed_on=d.qualification_confirmed_on,
            terminated_on=d.terminated_on,
            termination_reason=d.termination_reason,
        )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=DeputyOut)
async def post_deputy(
    body: DeputyIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]
) -> DeputyOut:
    c = body.command(new_id(ctx.meta, "deputy"))
    done = await register_deputy(c, ctx)
    d = done.loaded.state
    return DeputyOut(
        **DeputyStateOut.of(d, today(ctx)).model_dump(),
        gender=c.gender,
        constituency=c.constituency.strip(),
        term=c.term,
        sector=c.sector.strip(),
        phone=d.phone,  # the registering clerk is staff of this jurisdiction
        registered_at=ctx.meta.now,
    )


@router.get("", response_model=Page[DeputyOut])
async def get_deputies(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))],
    township: CodeQuery = None,
    status_: Annotated[Literal["active", "terminated"] | None, Query(alias="status")] = None,
    level: Level | None = None,
    congress: CodeQuery = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[DeputyOut]:
    rows = await queries.deputies_list(
        ctx.runtime.engine,
        ctx.principal,
        today=read_today(ctx),
        township=township,
        status=status_,
        level=level,
        congress=congress,
        limit=limit,
        cursor=cursor,
    )
    return page([DeputyOut(**r) for r in rows], limit, key=lambda d: [d.name, d.deputy_id])


class TerminateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: TerminationReason = Field(
        description="resigned | recalled | moved | deceased | term_ended（也可填 辞职 / 罢免 / 迁出 / 去世 / 任期届满）"
    )
    effective_on: DateInRange
    note: str = Field(default="", max_length=2000, description="说明，例如 主席团接受辞职的会议")


@router.post("/{deputy_id}/terminate", response_model=DeputyStateOut)
async def post_terminate(
    deputy_id: str, body: TerminateIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]
) -> DeputyStateOut:
    c = deputy_.TerminateDeputy(
        deputy_id=deputy_id, reason=body.reason, effective_on=body.effective_on, reason_text=body.note
    )
    done = await terminate_deputy(c, ctx)
    return DeputyStateOut.of(done.loaded.state, today(ctx))


class QualificationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    confirmed_on: DateInRange | None = Field(default=None, description="主席团（常委会）确认代表资格的日期，默认今天")


@router.post("/{deputy_id}/qualification", response_model=DeputyStateOut)
async def post_qualification(
    deputy_id: str, body: QualificationIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]
) -> DeputyStateOut:
    c = deputy_.ConfirmQualification(deputy_id=deputy_id, confirmed_on=body.confirmed_on or today(ctx))
    done = await confirm_qualification(c, ctx)
    return DeputyStateOut.of(done.loaded.state, today(ctx))


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(default=None, max_length=30, description="新的联系电话（短信通知发往此号码）")
    sector: str | None = Field(default=None, max_length=100, description="代表构成，例如 农民、工人")


class ContactOut(DeputyStateOut):
    phone: str | None = Field(default=None, description="仅本辖区工作人员可见")
    sector: str


@record_router.patch("/{deputy_id}", response_model=ContactOut)
async def patch_deputy(
    deputy_id: str, body: ContactIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES))]
) -> ContactOut:
    done = await change_contact(ChangeContact(deputy_id=deputy_id, phone=body.phone, sector=body.sector), ctx)
    d = done.loaded.state
    return ContactOut(**DeputyStateOut.of(d, today(ctx)).model_dump(), phone=d.phone, sector=d.sector)


@record_router.get("/{deputy_id}", response_model=DeputyOut)
async def get_deputy(
    deputy_id: str, ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))]
) -> DeputyOut:
    return DeputyOut(**await queries.deputy(ctx.runtime.engine, ctx.principal, deputy_id, read_today(ctx)))
