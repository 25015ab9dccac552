"""HTTP routes of the meetings context: parse, authorise, call, answer. No rules, no SQL.

Static paths (review opinions, joint inspections, compliance) are declared before
``/{meeting_id}`` so they are never taken for a meeting id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from libs.web.deps import CommandContext, ReadContext, command_context, parse_positions, read_context
from libs.web.errors import ReadModelBehind
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.meetings import commands, queries
from services.meetings.domain import joint_inspection as ji
from services.meetings.domain.meeting_commands import (
    ChangeMeeting,
    HoldVote,
    RecordAttendance,
    RecordSpeech,
    ScheduleMeeting,
)
from services.meetings.events import MeetingKind

router = APIRouter(prefix="/api/meetings", tags=["会议与活动"])

STAFF = ("city_staff", "county_staff", "township_staff")
RUNS = commands.ORGANISERS  # county staff, township (street) staff
READS = (*STAFF, "deputy")
CODE = r"^\d{4}(\d{2}(\d{3})?)?$"


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


async def after_writes(request: Request, ctx: CommandContext) -> None:
    """Commands honour ``Renda-After`` too: facts (members, jurisdictions) read from the reference tables."""
    positions = parse_positions(request.headers.get("renda-after"))
    if positions and not await ctx.runtime.caught_up(positions, ctx.runtime.settings.read_wait_seconds):
        raise ReadModelBehind()


def Run() -> Any:
    return Depends(command_context(*RUNS))


# -- schemas -----------------------------------------------------------------------------------------
class AgendaIn(In):
    title: str = Field(min_length=1, max_length=300)


class MeetingIn(In):
    kind: MeetingKind
    body: str = Field(pattern=CODE, description="召开会议的乡镇（街道）或县区代码")
    group_id: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    starts_at: datetime
    ends_at: datetime
    venue: str = Field(default="", max_length=300)
    agenda: list[AgendaIn] = Field(default_factory=list, max_length=200)
    invitee_ids: list[str] = Field(default_factory=list, max_length=2000, description="不填：全体组成人员")
    observers: list[str] = Field(default_factory=list, max_length=500)


class MeetingChangeIn(In):
    title: str | None = Field(default=None, max_length=300)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    venue: str | None = Field(default=None, max_length=300)
    agenda: list[AgendaIn] | None = None
    invitee_ids: list[str] | None = None
    observers: list[str] | None = None


class CancelIn(In):
    reason: str = Field(default="", max_length=1000)


class AttendanceIn(In):
    present: list[str] = Field(default_factory=list, max_length=2000)
    on_leave: list[str] = Field(default_factory=list, max_length=2000)
    absent: list[str] = Field(default_factory=list, max_length=2000)


class VoteIn(In):
    agenda_index: int = Field(ge=0)
    yes: int = Field(ge=0)
    no: int = Field(ge=0)
    abstain: int = Field(ge=0)
    motion: str = Field(default="", max_length=300)
    resolution_title: str = Field(default="", max_length=300)


class SpeechIn(In):
    speaker_id: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=5000)
    agenda_index: int | None = Field(default=None, ge=0)


class AdjournIn(In):
    minutes: str = Field(default="", max_length=20000, description="记录人补充的文字记录")


class ReviewOpinionIn(In):
    agenda_index: int = Field(ge=0)
    to_unit_id: str = Field(min_length=1, max_length=64)
    content: str = Field(min_length=1, max_length=20000)


class FeedbackIn(In):
    content: str = Field(min_length=1, max_length=20000)


class JointInspectionIn(In):
    county: str = Field(pattern=r"^\d{6}$")
    theme: str = Field(min_length=1, max_length=300)
    law: str | None = Field(default=None, max_length=300)
    window_start: date
    window_end: date
    requirements: str = Field(default="", max_length=20000)
    steps: list[str] = Field(default_factory=list, max_length=50)
    townships: list[str] = Field(min_length=1, max_length=200)


class FindingIn(In):
    township: str = Field(pattern=r"^\d{9}$")
    description: str = Field(min_length=1, max_length=20000)
    unit_id: str | None = Field(default=None, max_length=64)
    deputy_ids: list[str] = Field(default_factory=list, max_length=100)


# -- answers ---------------------------------------------------------------------------------------
class MeetingCreated(BaseModel):
    meeting_id: str
    status: str


class MeetingState(BaseModel):
    meeting_id: str
    status: str
    quorum: dict[str, int] | None = None


class VoteOut(BaseModel):
    meeting_id: str
    vote_index: int
    passed: bool
    yes: int
    no: int
    abstain: int
    present: int
    members: int
    resolution_index: int | None = None


class ReviewOpinionSentOut(BaseModel):
    review_opinion_id: str
    meeting_id: str
    status: str
    due_at: datetime


class FeedbackOut(BaseModel):
    review_opinion_id: str
    status: str
    on_time: bool | None


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


class MeetingRow(BaseModel):
    meeting_id: str
    kind: str
    body: str
    group_id: str | None
    joint_inspection_id: str | None
    title: str
    venue: str
    starts_at: datetime
    ends_at: datetime
    year: int
    status: str
    invited: int
    present: int
    resolutions: int
    convened_at: datetime | None
    adjourned_at: datetime | None
    minutes_sha256: str | None


class ReviewOpinionRow(BaseModel):
    review_opinion_id: str
    meeting_id: str
    meeting_kind: str
    body: str
    joint_inspection_id: str | None
    agenda_index: int
    to_unit_id: str
    content: str
    sent_at: datetime
    due_at: datetime
    status: str
    reminded: list[str]
    overdue: bool
    overdue_for: Any = None
    answered_at: datetime | None
    on_time: bool | None
    feedback: str | None


def _state(done: Any) -> MeetingState:
    m = done.loaded.state
    return MeetingState(meeting_id=m.id, status=m.status)


# -- meetings: create and list ---------------------------------------------------------------------
@router.post("", status_code=status.HTTP_201_CREATED, response_model=MeetingCreated)
async def post_meeting(body: MeetingIn, request: Request, ctx: Annotated[CommandContext, Run()]) -> MeetingCreated:
    await after_writes(request, ctx)
    c = ScheduleMeeting(
        meeting_id="",
        kind=body.kind,
        body=body.body,
        title=body.title,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        venue=body.venue,
        agenda=tuple(a.title for a in body.agenda),
        invitee_ids=tuple(body.invitee_ids),
        observers=tuple(body.observers),
        group_id=body.group_id,
    )
    done = await commands.schedule_meeting(c, ctx)
    return MeetingCreated(meeting_id=done.loaded.id, status=done.loaded.state.status)


@router.get("", response_model=Page[MeetingRow])
async def get_meetings(
    ctx: Annotated[ReadContext, Depends(read_context(*READS))],
    body: Annotated[str | None, Query(pattern=CODE)] = None,
    year: Annotated[int | None, Query(ge=1949, le=2200)] = None,
    kind: MeetingKind | None = None,
    status_: Annotated[Literal["scheduled", "convened", "adjourned", "cancelled"] | None, Query(alias="status")] = None,
    joint_inspection_id: str | None = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[MeetingRow]:
    rows = await queries.list_meetings(
        ctx.runtime.engine,
        ctx.principal,
        body=body,
        year=year,
        kind=kind,
        status=status_,
        joint_inspection_id=joint_inspection_id,
        limit=limit,
        cursor=cursor,
    )
    return page([MeetingRow(**r) for r in rows], limit, key=queries.meeting_key)


# -- compliance facts ------------------------------------------------------------------------------
@router.get("/compliance")
async def get_compliance(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF))],
    year: Annotated[int, Query(ge=1949, le=2200)],
    township: Annotated[str | None, Query(pattern=r"^\d{9}$")] = None,
    under: Annotated[str | None, Query(pattern=CODE)] = None,
    as_of: date | None = None,
) -> dict[str, Any]:
    """Sessions per township and year, presidium meetings per quarter and the longest gap, group activities."""
    if as_of is None:
        today = datetime.now(UTC).astimezone(ctx.runtime.settings.tz).date()
        as_of = today if today.year == year else None
    items = await queries.compliance(ctx.runtime, ctx.principal, under=township or under or "", year=year, as_of=as_of)
    if township:
        items = [i for i in items if i["township"] == township]
    return {"year": year, "as_of": as_of or date(year, 12, 31), "items": items}


# -- review opinions -------------------------------------------------------------------------------
@router.get("/review-opinions", response_model=Page[ReviewOpinionRow])
async def get_review_opinions(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF, "organizer"))],
    body: Annotated[str | None, Query(pattern=CODE)] = None,
    meeting_id: str | None = None,
    status_: Annotated[Literal["sent", "answered"] | None, Query(alias="status")] = None,
    overdue: bool | None = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[ReviewOpinionRow]:
    rows = await queries.list_review_opinions(
        ctx.runtime.engine,
        ctx.principal,
        body=body,
        meeting_id=meeting_id,
        status=status_,
        overdue=overdue,
        now=datetime.now(UTC),
        limit=limit,
        cursor=cursor,
    )
    items = [ReviewOpinionRow(**r) for r in rows]
    return page(items, limit, key=lambda r: [r.due_at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"), r.review_opinion_id])


@router.get("/review-opinions/{opinion_id}", response_model=ReviewOpinionRow)
async def get_review_opinion(
    opinion_id: str, ctx: Annotated[ReadContext, Depends(read_context(*STAFF, "organizer"))]
) -> ReviewOpinionRow:
    return ReviewOpinionRow(
        **await queries.review_opinion(ctx.runtime.engine, ctx.principal, opinion_id, datetime.now(UTC))
    )


@router.post("/review-opinions/{opinion_id}/feedback", response_model=FeedbackOut)
async def post_feedback(
    opinion_id: str,
    body: FeedbackIn,
    ctx: Annotated[CommandContext, Depends(command_context(*commands.FEEDBACK_ROLES))],
) -> FeedbackOut:
    done = await commands.answer_review_opinion(opinion_id, body.content, ctx)
    r = done.loaded.state
    return FeedbackOut(review_opinion_id=r.id, status=r.status, on_time=r.on_time)


# -- joint inspections (县乡联动) ---------------------------------------------------------------------
@router.post("/joint-inspections", status_code=status.HTTP_201_CREATED, response_model=JointLaunched)
async def post_joint_inspection(
    body: JointInspectionIn,
    request: Request,
    ctx: Annotated[CommandContext, Depends(command_context("county_staff"))],
) -> JointLaunched:
    await after_writes(request, ctx)
    c = ji.LaunchJointInspection(
        joint_inspection_id="",
        county=body.county,
        theme=body.theme,
        window_start=body.window_start,
        window_end=body.window_end,
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
    return page(rows, limit, key=lambda r: [r["launched_at"], r["joint_inspection_id"]])


@router.get("/joint-inspections/{joint_id}")
async def get_joint_inspection(
    joint_id: str, ctx: Annotated[ReadContext, Depends(read_context(*STAFF))]
) -> dict[str, Any]:
    """Progress per township: scheduled, held, findings, suggestions raised and their handling, review opinions."""
    return await queries.joint_progress(ctx.runtime.engine, ctx.principal, joint_id)


@router.post("/joint-inspections/{joint_id}/findings", status_code=status.HTTP_201_CREATED, response_model=FindingOut)
async def post_finding(joint_id: str, body: FindingIn, ctx: Annotated[CommandContext, Run()]) -> FindingOut:
    c = ji.RecordFinding(
        township=body.township, description=body.description, unit_id=body.unit_id, deputy_ids=tuple(body.deputy_ids)
    )
    _done, finding_id = await commands.record_finding(joint_id, c, ctx)
    return FindingOut(
        joint_inspection_id=joint_id, finding_id=finding_id, township=body.township, unit_id=(body.unit_id or None)
    )


# -- one meeting -----------------------------------------------------------------------------------
@router.get("/{meeting_id}")
async def get_meeting(meeting_id: str, ctx: Annotated[ReadContext, Depends(read_context(*READS))]) -> dict[str, Any]:
    """With the live quorum ``{present, members, needed}`` and, once adjourned, the minutes and their SHA-256."""
    return await queries.meeting_detail(ctx.runtime, ctx.principal, meeting_id)


@router.patch("/{meeting_id}", response_model=MeetingState)
async def patch_meeting(meeting_id: str, body: MeetingChangeIn, ctx: Annotated[CommandContext, Run()]) -> MeetingState:
    c = ChangeMeeting(
        title=body.title,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        venue=body.venue,
        agenda=None if body.agenda is None else tuple(a.title for a in body.agenda),
        invitee_ids=None if body.invitee_ids is None else tuple(body.invitee_ids),
        observers=None if body.observers is None else tuple(body.observers),
    )
    return _state(await commands.change_meeting(meeting_id, c, ctx))


@router.post("/{meeting_id}/cancel", response_model=MeetingState)
async def post_cancel(meeting_id: str, body: CancelIn, ctx: Annotated[CommandContext, Run()]) -> MeetingState:
    return _state(await commands.cancel_meeting(meeting_id, body.reason, ctx))


@router.post("/{meeting_id}/attendance", response_model=MeetingState)
async def post_attendance(
    meeting_id: str, body: AttendanceIn, request: Request, ctx: Annotated[CommandContext, Run()]
) -> MeetingState:
    await after_writes(request, ctx)
    c = RecordAttendance(present=tuple(body.present), on_leave=tuple(body.on_leave), absent=tuple(body.absent))
    return _state(await commands.record_attendance(meeting_id, c, ctx))


@router.post("/{meeting_id}/convene", response_model=MeetingState)
async def post_convene(meeting_id: str, request: Request, ctx: Annotated[CommandContext, Run()]) -> MeetingState:
    """409 ``quorum_not_met`` below two thirds of all members as of the meeting date."""
    await after_writes(request, ctx)
    done = await commands.convene_meeting(meeting_id, ctx)
    m = done.loaded.state
    q = commands.mt.quorum_of(m)
    return MeetingState(meeting_id=m.id, status=m.status, quorum=q.as_dict())


@router.post("/{meeting_id}/votes", response_model=VoteOut)
async def post_vote(meeting_id: str, body: VoteIn, ctx: Annotated[CommandContext, Run()]) -> VoteOut:
    """Passes by more than half of ALL members; a tally larger than those present is refused (422)."""
    c = HoldVote(
        agenda_index=body.agenda_index,
        yes=body.yes,
        no=body.no,
        abstain=body.abstain,
        motion=body.motion,
        resolution_title=body.resolution_title,
    )
    done = await commands.hold_vote(meeting_id, c, ctx)
    m = done.loaded.state
    v = m.votes[-1]
    resolution = next((r.resolution_index for r in m.resolutions if r.vote_index == v.vote_index), None)
    return VoteOut(
        meeting_id=m.id,
        vote_index=v.vote_index,
        passed=v.passed,
        yes=v.yes,
        no=v.no,
        abstain=v.abstain,
        present=v.present,
        members=v.members,
        resolution_index=resolution,
    )


@router.get("/{meeting_id}/resolutions")
async def get_resolutions(
    meeting_id: str, ctx: Annotated[ReadContext, Depends(read_context(*READS))]
) -> Page[dict[str, Any]]:
    detail = await queries.meeting_detail(ctx.runtime, ctx.principal, meeting_id)
    return Page(items=detail["resolutions"], next_cursor=None)


@router.post("/{meeting_id}/speeches", status_code=status.HTTP_201_CREATED, response_model=MeetingState)
async def post_speech(meeting_id: str, body: SpeechIn, ctx: Annotated[CommandContext, Run()]) -> MeetingState:
    c = RecordSpeech(speaker_id=body.speaker_id, summary=body.summary, agenda_index=body.agenda_index)
    return _state(await commands.record_speech(meeting_id, c, ctx))


@router.post("/{meeting_id}/adjourn")
async def post_adjourn(meeting_id: str, body: AdjournIn, ctx: Annotated[CommandContext, Run()]) -> dict[str, Any]:
    """Closes the meeting; the answer holds the generated minutes and their SHA-256."""
    done = await commands.adjourn_meeting(meeting_id, body.minutes, ctx)
    m = done.loaded.state
    return {"meeting_id": m.id, "status": m.status, "minutes": m.minutes, "minutes_sha256": m.minutes_sha256}


@router.post("/{meeting_id}/review-opinions", status_code=status.HTTP_201_CREATED, response_model=ReviewOpinionSentOut)
async def post_review_opinion(
    meeting_id: str, body: ReviewOpinionIn, ctx: Annotated[CommandContext, Run()]
) -> ReviewOpinionSentOut:
    c = commands.SendReviewOpinion(meeting_id, body.agenda_index, body.to_unit_id, body.content)
    done = await commands.send_review_opinion(c, ctx)
    r = done.loaded.state
    assert r.due_at is not None
    return ReviewOpinionSentOut(review_opinion_id=r.id, meeting_id=meeting_id, status=r.status, due_at=r.due_at)
