"""Routes of meetings: schedule, list, one meeting, change, cancel, attendance, convene, votes,
speeches, adjourn. Parse, call, answer: no rules, no SQL."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field, StrictInt

from libs.domain.times import LocalTime, StartTime
from libs.web.deps import CommandContext, ReadContext, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.meetings import commands, queries
from services.meetings.api.deps import CODE, READS, In, Run, after_writes
from services.meetings.domain.meeting import quorum_of
from services.meetings.domain.meeting_commands import (
    AdjournMeeting,
    CancelMeeting,
    ChangeMeeting,
    ConveneMeeting,
    HoldVote,
    RecordAttendance,
    RecordSpeech,
    ScheduleMeeting,
)
from services.meetings.events import MeetingKind

router = APIRouter()
# ``/{meeting_id}`` routes: included last, after every static path of the other routers.
one = APIRouter()


class AgendaIn(In):
    title: str = Field(min_length=1, max_length=300)


class MeetingIn(In):
    kind: MeetingKind
    body: str = Field(pattern=CODE, description="召开会议的乡镇（街道）或县区代码")
    group_id: str | None = Field(default=None, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    starts_at: StartTime
    ends_at: StartTime
    venue: str = Field(default="", max_length=300)
    agenda: list[AgendaIn] = Field(default_factory=list, max_length=200)
    invitee_ids: list[str] = Field(default_factory=list, max_length=2000, description="不填：全体组成人员")
    observers: list[str] = Field(default_factory=list, max_length=500)


class MeetingChangeIn(In):
    title: str | None = Field(default=None, max_length=300)
    starts_at: StartTime | None = None
    ends_at: StartTime | None = None
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
    agenda_index: StrictInt = Field(ge=0)
    yes: StrictInt = Field(ge=0)
    no: StrictInt = Field(ge=0)
    abstain: StrictInt = Field(ge=0)
    motion: str = Field(default="", max_length=300)
    resolution_title: str = Field(default="", max_length=300)


class SpeechIn(In):
    speaker_id: str = Field(min_length=1, max_length=64)
    summary: str = Field(min_length=1, max_length=5000)
    agenda_index: StrictInt | None = Field(default=None, ge=0)


class AdjournIn(In):
    minutes: str = Field(default="", max_length=20000, description="记录人补充的文字记录")


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


class MeetingRow(BaseModel):
    meeting_id: str
    kind: str
    body: str
    group_id: str | None
    joint_inspection_id: str | None
    title: str
    venue: str
    starts_at: LocalTime
    ends_at: LocalTime
    year: int
    status: str
    invited: int
    present: int
    resolutions: int
    convened_at: LocalTime | None
    adjourned_at: LocalTime | None
    minutes_sha256: str | None


def _state(done: Any) -> MeetingState:
    m = done.loaded.state
    return MeetingState(meeting_id=m.id, status=m.status)


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


# -- one meeting -----------------------------------------------------------------------------------
@one.get("/{meeting_id}")
async def get_meeting(meeting_id: str, ctx: Annotated[ReadContext, Depends(read_context(*READS))]) -> dict[str, Any]:
    """With the live quorum ``{present, members, needed}`` and, once adjourned, the minutes and their SHA-256."""
    return await queries.meeting_detail(ctx.runtime, ctx.principal, meeting_id)


@one.patch("/{meeting_id}", response_model=MeetingState)
async def patch_meeting(
    meeting_id: str, body: MeetingChangeIn, request: Request, ctx: Annotated[CommandContext, Run()]
) -> MeetingState:
    await after_writes(request, ctx)
    c = ChangeMeeting(
        meeting_id=meeting_id,
        title=body.title,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        venue=body.venue,
        agenda=None if body.agenda is None else tuple(a.title for a in body.agenda),
        invitee_ids=None if body.invitee_ids is None else tuple(body.invitee_ids),
        observers=None if body.observers is None else tuple(body.observers),
    )
    return _state(await commands.change_meeting(c, ctx))


@one.post("/{meeting_id}/cancel", response_model=MeetingState)
async def post_cancel(meeting_id: str, body: CancelIn, ctx: Annotated[CommandContext, Run()]) -> MeetingState:
    return _state(await commands.cancel_meeting(CancelMeeting(meeting_id, body.reason), ctx))


@one.post("/{meeting_id}/attendance", response_model=MeetingState)
async def post_attendance(
    meeting_id: str, body: AttendanceIn, request: Request, ctx: Annotated[CommandContext, Run()]
) -> MeetingState:
    await after_writes(request, ctx)
    c = RecordAttendance(
        present=tuple(body.present), on_leave=tuple(body.on_leave), absent=tuple(body.absent), meeting_id=meeting_id
    )
    return _state(await commands.record_attendance(c, ctx))


@one.post("/{meeting_id}/convene", response_model=MeetingState)
async def post_convene(meeting_id: str, request: Request, ctx: Annotated[CommandContext, Run()]) -> MeetingState:
    """409 ``quorum_not_met`` below two thirds of all members as of the meeting date."""
    await after_writes(request, ctx)
    done = await commands.convene_meeting(ConveneMeeting(meeting_id), ctx)
    m = done.loaded.state
    q = quorum_of(m)
    return MeetingState(meeting_id=m.id, status=m.status, quorum=q.as_dict())


@one.post("/{meeting_id}/votes", response_model=VoteOut)
async def post_vote(meeting_id: str, body: VoteIn, ctx: Annotated[CommandContext, Run()]) -> VoteOut:
    """Passes by more than half of ALL members; a tally larger than those present is refused (422)."""
    c = HoldVote(
        agenda_index=body.agenda_index,
        yes=body.yes,
        no=body.no,
        abstain=body.abstain,
        motion=body.motion,
        resolution_title=body.resolution_title,
        meeting_id=meeting_id,
    )
    done = await commands.hold_vote(c, ctx)
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


@one.get("/{meeting_id}/resolutions")
async def get_resolutions(
    meeting_id: str, ctx: Annotated[ReadContext, Depends(read_context(*READS))]
) -> Page[dict[str, Any]]:
    detail = await queries.meeting_detail(ctx.runtime, ctx.principal, meeting_id)
    return Page(items=detail["resolutions"], next_cursor=None)


@one.post("/{meeting_id}/speeches", status_code=status.HTTP_201_CREATED, response_model=MeetingState)
async def post_speech(meeting_id: str, body: SpeechIn, ctx: Annotated[CommandContext, Run()]) -> MeetingState:
    c = RecordSpeech(
        speaker_id=body.speaker_id, summary=body.summary, agenda_index=body.agenda_index, meeting_id=meeting_id
    )
    return _state(await commands.record_speech(c, ctx))


@one.post("/{meeting_id}/adjourn")
async def post_adjourn(meeting_id: str, body: AdjournIn, ctx: Annotated[CommandContext, Run()]) -> dict[str, Any]:
    """Closes the meeting; the answer holds the generated minutes (local times with offset) and their SHA-256."""
    done = await commands.adjourn_meeting(AdjournMeeting(meeting_id, body.minutes), ctx)
    m = done.loaded.state
    return {"meeting_id": m.id, "status": m.status, "minutes": m.minutes, "minutes_sha256": m.minutes_sha256}
