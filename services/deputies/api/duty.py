"""HTTP routes of duty records: activities, contacts, the dossier, inactive deputies, reports to voters."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from libs.auth.access import STAFF_ROLES
from libs.domain.errors import InvalidInput
from libs.domain.times import DateInRange
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.errors import NotVisible
from libs.web.lists import CursorParam, LimitParam, Page, decode_cursor, page
from services.deputies.api.deps import STAFF_AND_DEPUTY, PolicyDep, TownshipParam, read_today
from services.deputies.commands.context import new_id, today
from services.deputies.commands.deputies import record_activity, record_contact
from services.deputies.domain import deputy as deputy_
from services.deputies.domain.vocabulary import ActivityKind, ContactKind, Count, ReportMode
from services.deputies.events import DutyActivityRecorded
from services.deputies.queries import dossier as dossier_queries

router = APIRouter(prefix="/api/deputies", tags=["履职"])
Year = Annotated[int | None, Query(ge=1949, le=2200, description="年度，默认今年")]


# -- activities -----------------------------------------------------------------------------------
class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ActivityKind = Field(
        description="constituent_visit | reception | report_to_voters | mediation | training | "
        "good_deed | household_help | constituent_meeting（也可填中文，如 走访选民）"
    )
    on: DateInRange
    summary: str = Field(default="", max_length=2000)
    people_count: Count = Field(default=0, description="参加或走访的群众人数")
    report_mode: ReportMode | None = Field(
        default=None, description="述职方式：written 书面 | meeting 会议（仅述职，默认 meeting）"
    )


class ActivityOut(BaseModel):
    activity_id: str
    deputy_id: str
    kind: str
    on: date
    summary: str
    people_count: int
    report_mode: str | None
    recorded_by: str | None = None


@router.post("/{deputy_id}/activities", status_code=status.HTTP_201_CREATED, response_model=ActivityOut)
async def post_activity(
    deputy_id: str, body: ActivityIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_AND_DEPUTY))]
) -> ActivityOut:
    c = deputy_.RecordDutyActivity(
        deputy_id=deputy_id,
        activity_id=new_id(ctx.meta, "activity"),
        kind=body.kind,
        on=body.on,
        summary=body.summary,
        people_count=body.people_count,
        report_mode=body.report_mode,
    )
    done = await record_activity(c, ctx)
    recorded = [e.data for e in done.envelopes if isinstance(e.data, DutyActivityRecorded)]
    return ActivityOut(
        activity_id=c.activity_id,
        deputy_id=deputy_id,
        kind=c.kind,
        on=c.on,
        summary=c.summary.strip(),
        people_count=c.people_count,
        report_mode=recorded[0].report_mode if recorded else c.report_mode,
        recorded_by=ctx.principal.role,
    )


@router.get("/{deputy_id}/activities", response_model=Page[ActivityOut])
async def get_activities(
    deputy_id: str,
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))],
    year: Year = None,
    kind: ActivityKind | None = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[ActivityOut]:
    rows = await dossier_queries.activities_of(
        ctx.runtime.engine, ctx.principal, deputy_id, year=year, kind=kind, limit=limit, cursor=cursor
    )
    items = [ActivityOut(**r, on=r["on_date"]) for r in rows]
    return page(items, limit, key=lambda a: [a.on.isoformat(), a.activity_id])


# -- contacts -------------------------------------------------------------------------------------
class ConstituentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    village: str = Field(min_length=1, max_length=100, description="所在村（社区）")


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ContactKind = Field(description="presidium_member：主席团成员联系代表；constituent：代表联系选民")
    contact: str | ConstituentIn = Field(
        description='presidium_member：所联系代表的 id；constituent：{"name", "village"}，或「姓名，村名」'
    )
    on: DateInRange | None = Field(default=None, description="建立联系的日期，默认今天")


class ContactOut(BaseModel):
    contact_id: str | None
    deputy_id: str
    kind: str
    contact_deputy_id: str | None = None
    village: str | None = None
    recorded: bool = Field(description="false：同一联系已登记过，本次未重复登记")


def _constituent(contact: str | ConstituentIn) -> tuple[str, str]:
    if isinstance(contact, ConstituentIn):
        return contact.name, contact.village
    for sep in ("，", ",", "、", "/", "|"):
        name, found, village = contact.partition(sep)
        if found and name.strip() and village.strip():
            return name.strip(), village.strip()
    raise InvalidInput(
        "contact", '请填写所联系群众的姓名和所在村（社区），例如 {"name": "张三", "village": "李庄村"}。'
    )


@router.post("/{deputy_id}/contacts", status_code=status.HTTP_201_CREATED, response_model=ContactOut)
async def post_contact(
    deputy_id: str, body: ContactIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_AND_DEPUTY))]
) -> ContactOut:
    on = body.on or today(ctx)
    if body.kind == "presidium_member":
        if not isinstance(body.contact, str):
            raise InvalidInput("contact", "主席团成员联系代表时，contact 填所联系代表的 id。")
        c = deputy_.RecordContact(
            deputy_id=deputy_id,
            contact_id=new_id(ctx.meta, "contact"),
            kind="presidium_member",
            on=on,
            contact_deputy_id=body.contact.strip(),
        )
    else:
        name, village = _constituent(body.contact)
        c = deputy_.RecordContact(
            deputy_id=deputy_id,
            contact_id=new_id(ctx.meta, "contact"),
            kind="constituent",
            on=on,
            constituent_name=name,
            village=village,
        )
    done = await record_contact(c, ctx)
    return ContactOut(
        contact_id=c.contact_id if done.envelopes else None,
        deputy_id=deputy_id,
        kind=c.kind,
        contact_deputy_id=c.contact_deputy_id,
        village=c.village,
        recorded=bool(done.envelopes),
    )


@router.get("/contacts")
async def get_contacts(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_ROLES))],
    township: TownshipParam,
    on: DateInRange | None = None,
) -> dict[str, Any]:
    """Fixed contacts of a township: presidium members ↔ ≥10 deputies, deputies ↔ ≥3 constituents."""
    found = await dossier_queries.contact_check(ctx.runtime.engine, ctx.principal, township, on=on or read_today(ctx))
    if found is None:
        raise NotVisible()
    return found


# -- the dossier ----------------------------------------------------------------------------------
@router.get("/{deputy_id}/dossier")
async def get_dossier(
    deputy_id: str, ctx: Annotated[ReadContext, Depends(read_context(*STAFF_AND_DEPUTY))], year: Year = None
) -> dict[str, Any]:
    """履职档案: activities per kind, meetings invited / attended, suggestions, the "六个一" met and missing."""
    return await dossier_queries.dossier(ctx.runtime.engine, ctx.principal, deputy_id, year or read_today(ctx).year)


# -- township figures -----------------------------------------------------------------------------
@router.get("/inactive")
async def get_inactive(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_ROLES))],
    policy: PolicyDep,
    township: TownshipParam,
    months: Annotated[
        int | None, Query(ge=1, le=60, description="不活跃期限（月），默认 RENDA_INACTIVE_MONTHS")
    ] = None,
    as_of: DateInRange | None = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> dict[str, Any]:
    """Deputies of the township with no activity of any kind in the period (default two quarters)."""
    report = await dossier_queries.inactive(
        ctx.runtime.engine,
        ctx.principal,
        township,
        on=as_of or read_today(ctx),
        months=months or policy.inactive_months,
    )
    items = report["items"]
    after = decode_cursor(cursor)
    if after is not None:
        items = [i for i in items if i["deputy_id"] > str(after)]
    paged = page(sorted(items, key=lambda i: i["deputy_id"]), limit, key=lambda i: i["deputy_id"])
    return {**report, "items": paged.items, "next_cursor": paged.next_cursor}


@router.get("/reports")
async def get_reports(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_ROLES))],
    township: TownshipParam,
    year: Year = None,
    term_start: DateInRange | None = Query(default=None, description="本届任期开始日期，默认本乡镇代表最早的当选日期"),
    as_of: DateInRange | None = None,
) -> dict[str, Any]:
    """Reports to voters (述职): who reported this year, the meeting share (≥30 %), term coverage."""
    found = await dossier_queries.report_coverage(
        ctx.runtime.engine,
        ctx.principal,
        township,
        year=year or read_today(ctx).year,
        term_start=term_start,
        as_of=as_of,
    )
    if found is None:
        raise NotVisible()
    return found
