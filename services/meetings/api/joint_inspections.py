"""Routes of joint inspections (县乡联动): launch, list, progress, findings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from libs.domain.times import DeadlineTime, StartTime, local
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.meetings import commands, queries
from services.meetings.api.deps import CODE, STAFF, In, Run, after_writes
from services.meetings.domain import joint_inspection as ji

router = APIRouter()


class JointInspectionIn(In):
    county: str = Field(pattern=r"^\d{6}$")
    theme: str = Field(min_length=1, max_length=300)
    law: str | None = Field(default=None, max_length=300)
    window_start: StartTime = Field(description="检查时段开始：日期（当天零时）或带时区的时间")
    window_end: DeadlineTime = Field(description="检查时段结束：日期（当天结束）或带时区的时间")
    requirements: str = Field(default="", max_length=20000)
    steps: list[str] = Field(default_factory=list, max_length=50)
    townships: list[str] = Field(min_length=1, max_length=200)


class FindingIn(In):
    township: str = Field(pattern=r"^\d{9}$")
    description: str = Field(min_length=1, max_length=20000)
    unit_id: str | None = Field(default=None, max_length=64)
    deputy_ids: list[str] = Field(
        default_factory=list, max_length=100, description="不填：该乡镇（街道）视察的出席代表（未登记出席时为受邀代表）"
    )


class Linked(BaseModel):
    township: str
    meeting_id: str


class JointLaunched(BaseModel):
    joint_inspection_id: str
    inspections: list[Linked]


class FindingOut(BaseModel):
    joint_inspection_id: str
    finding_id: str
    township: str
    unit_id: str | None
    deputy_ids: list[str]


@router.post("/joint-inspections", status_code=status.HTTP_201_CREATED, response_model=JointLaunched)
async def post_joint_inspection(
    body: JointInspectionIn,
    request: Request,
    ctx: Annotated[CommandContext, Depends(command_context("county_staff"))],
) -> JointLaunched:
    """The window is whole local days: from the day of ``window_start`` to the day of ``window_end``."""
    await after_writes(request, ctx)
    c = ji.LaunchJointInspection(
        joint_inspection_id="",
        county=body.county,
        theme=body.theme,
        window_start=local(body.window_start).date(),
        window_end=local(body.window_end).date(),
        requirements=body.requirements,
        steps=tuple(body.steps),
        townships=tuple(body.townships),
        law=body.law,
    )
    j = await commands.launch_joint_inspection(c, ctx)
    return JointLaunched(
        joint_inspection_id=j.id,
        inspections=[Linked(township=i.township, meeting_id=i.meeting_id) for i in j.inspections],
    )


@router.get("/joint-inspections")
async def get_joint_inspections(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF))],
    county: Annotated[str | None, Query(pattern=CODE)] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    rows = await queries.list_joint_inspections(
        ctx.runtime.engine, ctx.principal, county=county, limit=limit, cursor=cursor
    )
    return page(rows, limit, key=queries.joint_key)


@router.get("/joint-inspections/{joint_id}")
async def get_joint_inspection(
    joint_id: str, ctx: Annotated[ReadContext, Depends(read_context(*STAFF))]
) -> dict[str, Any]:
    """Progress per township: scheduled, held, findings, suggestions raised and their handling, review opinions."""
    return await queries.joint_progress(ctx.runtime.engine, ctx.principal, joint_id)


@router.post("/joint-inspections/{joint_id}/findings", status_code=status.HTTP_201_CREATED, response_model=FindingOut)
async def post_finding(
    joint_id: str, body: FindingIn, request: Request, ctx: Annotated[CommandContext, Run()]
) -> FindingOut:
    """A finding with a unit becomes a suggestion assigned to it, in the names of ``deputy_ids`` (or of the
    deputies present at the township's inspection, else its invitees; none: 422 ``deputy_ids``)."""
    await after_writes(request, ctx)
    c = ji.RecordFinding(
        township=body.township,
        description=body.description,
        unit_id=body.unit_id,
        deputy_ids=tuple(body.deputy_ids),
        joint_inspection_id=joint_id,
    )
    done, finding_id = await commands.record_finding(c, ctx)
    recorded = next((f for f in done.loaded.state.findings if f.finding_id == finding_id), None)
    return FindingOut(
        joint_inspection_id=joint_id,
        finding_id=finding_id,
        township=body.township,
        unit_id=(body.unit_id or None),
        deputy_ids=list(recorded.deputy_ids) if recorded is not None else [],
    )
