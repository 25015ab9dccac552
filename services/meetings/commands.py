"""Command handlers of the meetings context: load, check access, gather facts, decide, append.

Facts the domain needs but may not look up itself (who the members are as of the meeting
date, whether a body is a street) come from the deputies' reference tables in this service's
own database (``projections.ref``), never from a number typed in by the caller.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.auth.access import Scope, require_act, require_inside, require_visible
from libs.auth.actor import Principal
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.events.subjects import stream_name
from libs.reference import deputies as refdata
from libs.web.deps import CommandContext
from libs.web.errors import Forbidden, NotVisible
from services.meetings.domain import joint_inspection as ji
from services.meetings.domain import meeting as mt
from services.meetings.domain import review_opinion as ro
from services.meetings.domain.errors import InvalidInput
from services.meetings.domain.meeting_commands import (
    ChangeMeeting,
    HoldVote,
    RecordAttendance,
    RecordSpeech,
    ScheduleMeeting,
)
from services.meetings.events import JointInspectionLaunched
from services.meetings.projections import ref

S = TypeVar("S")
ID_NS = uuid.UUID("3c6f1e7a-9b2d-4f0e-8a1c-5d7e9f0b2a64")
ORGANISERS = ("county_staff", "township_staff")  # who runs meetings: the county, or the township's own staff
FEEDBACK_ROLES = ("organizer", "county_staff", "township_staff")


def new_id(command_id: str, what: str) -> str:
    """Ids derive from the command id: a retry with the same ``Idempotency-Key`` names the same records."""
    return str(uuid.uuid5(ID_NS, f"{command_id}/{what}"))


# -- access ----------------------------------------------------------------------------------
def meeting_scope(m: mt.Meeting) -> Scope | None:
    if m.status == "new":
        return None
    return Scope(jurisdiction=m.body, deputy_ids=(*m.invitee_ids, *m.observers))


def opinion_scope(r: ro.ReviewOpinion) -> Scope | None:
    if r.status == "new":
        return None
    return Scope(jurisdiction=r.body, lead_unit=r.to_unit_id)


def joint_visible(p: Principal, j: ji.JointInspection) -> bool:
    """County (and city) staff over the county; a participating township's own staff."""
    if j.status == "new" or not p.is_staff:
        return False
    return p.sees(j.county) or any(p.sees(i.township) for i in j.inspections)


# -- facts from the reference tables ---------------------------------------------------------
def meeting_date(m: mt.Meeting | ScheduleMeeting, tz: Any) -> date:
    assert m.starts_at is not None
    return m.starts_at.astimezone(tz).date()


async def members_of(conn: AsyncConnection, kind: str | None, body: str, on: date) -> frozenset[str] | None:
    """All members as of ``on`` for kinds with a quorum; ``None`` for the others (their invitees count)."""
    if kind == "congress_session":
        return await refdata.congress_members(conn, ref, body, on)
    if kind == "presidium_meeting":
        return await refdata.presidium_members(conn, ref, body, on)
    return None


async def current_members(conn: AsyncConnection, m: mt.Meeting, named: list[str], on: date) -> frozenset[str]:
    members = await members_of(conn, m.kind, m.body, on)
    if members is not None:
        return members
    return await refdata.current_ids(conn, ref, named, on)


async def _known_body(conn: AsyncConnection, code: str, field: str = "body") -> dict[str, Any]:
    row = await refdata.jurisdiction(conn, ref, code)
    if row is None:
        raise InvalidInput(field, f"区划 {code} 尚未登记（或刚登记、正在同步），请先在区划管理中登记。")
    return row


# -- the command path ----------------------------------------------------------------------------
async def _run(
    ctx: CommandContext,
    agg: AggregateType[S],
    aggregate_id: str,
    check: Callable[[Loaded[S]], None],
    decide: Callable[[Loaded[S]], Awaitable[list[Event]]],
) -> Appended[S]:
    """Load, check access (404 unseen, 403 seen), skip a command already applied, decide, append."""
    loaded = await ctx.store.load(agg, aggregate_id)
    check(loaded)
    if loaded.applied(ctx.meta.command_id):
        return Appended(loaded, (), stream_name(agg.context), loaded.last_stream_seq)
    appended = await ctx.store.append(loaded, await decide(loaded), ctx.meta)
    ctx.answered(appended)
    return appended


def _organiser(ctx: CommandContext) -> Callable[[Loaded[mt.Meeting]], None]:
    def check(loaded: Loaded[mt.Meeting]) -> None:
        require_act(ctx.principal, meeting_scope(loaded.state), ORGANISERS)

    return check


# -- meetings ------------------------------------------------------------------------------------
async def schedule_meeting(c: ScheduleMeeting, ctx: CommandContext) -> Appended[mt.Meeting]:
    """``c.meeting_id`` is ignored: the id derives from the command. No invitees: all members."""
    require_inside(ctx.principal, c.body, "body")
    if ctx.principal.role not in ORGANISERS:
        raise Forbidden()
    meeting_id = new_id(ctx.meta.command_id, "meeting")
    tz = ctx.runtime.settings.tz
    async with ctx.runtime.engine.connect() as conn:
        body = await _known_body(conn, c.body)
        if c.kind in mt.TOWNSHIP_ONLY and body["kind"] not in ("township", "street"):
            raise InvalidInput("body", "人民代表大会会议和主席团会议只在乡镇召开，请填写乡镇的 9 位区划代码。")
        invited = c.invitee_ids
        if c.kind == "group_activity" and c.group_id:
            group = (await conn.execute(ref.groups.select().where(ref.groups.c.group_id == c.group_id))).first()
            if group is None or group.township != c.body:
                raise InvalidInput("group_id", "找不到该代表小组，或它不属于所填的乡镇（街道）。")
            if not invited:
                invited = tuple(group.member_ids)
        elif not invited:
            members = await members_of(conn, c.kind, c.body, meeting_date(c, tz))
            invited = tuple(sorted(members or ()))
    command = ScheduleMeeting(**{**c.__dict__, "meeting_id": meeting_id, "invitee_ids": invited})

    def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_schedule(loaded.state, command, is_street=body["kind"] == "street")

    appended = await ctx.store.execute(mt.MEETING, meeting_id, decide, ctx.meta, jurisdiction=c.body)
    ctx.answered(appended)
    return appended


async def change_meeting(meeting_id: str, c: ChangeMeeting, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_change(loaded.state, c)

    return await _run(ctx, mt.MEETING, meeting_id, _organiser(ctx), decide)


async def cancel_meeting(meeting_id: str, reason: str, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_cancel(loaded.state, reason=reason)

    return await _run(ctx, mt.MEETING, meeting_id, _organiser(ctx), decide)


async def record_attendance(meeting_id: str, c: RecordAttendance, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        m = loaded.state
        named = [*c.present, *c.on_leave, *c.absent]
        async with ctx.runtime.engine.connect() as conn:
            members = await current_members(conn, m, named, meeting_date(m, ctx.runtime.settings.tz))
        return mt.decide_record_attendance(m, c, current_members=members)

    return await _run(ctx, mt.MEETING, meeting_id, _organiser(ctx), decide)


async def convene_meeting(meeting_id: str, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        m = loaded.state
        async with ctx.runtime.engine.connect() as conn:
            members = await members_of(conn, m.kind, m.body, meeting_date(m, ctx.runtime.settings.tz))
        return mt.decide_convene(m, members=members, now=ctx.meta.now)

    return await _run(ctx, mt.MEETING, meeting_id, _organiser(ctx), decide)


async def hold_vote(meeting_id: str, c: HoldVote, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_vote(loaded.state, c)

    return await _run(ctx, mt.MEETING, meeting_id, _organiser(ctx), decide)


async def record_speech(meeting_id: str, c: RecordSpeech, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_speech(loaded.state, c)

    return await _run(ctx, mt.MEETING, meeting_id, _organiser(ctx), decide)


async def adjourn_meeting(meeting_id: str, notes: str, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_adjourn(loaded.state, notes=notes, now=ctx.meta.now)

    return await _run(ctx, mt.MEETING, meeting_id, _organiser(ctx), decide)


# -- review opinions (审议意见) ---------------------------------------------------------------------
@dataclass(frozen=True)
class SendReviewOpinion:
    meeting_id: str
    agenda_index: int
    to_unit_id: str
    content: str


async def send_review_opinion(c: SendReviewOpinion, ctx: CommandContext) -> Appended[ro.ReviewOpinion]:
    meeting = (await ctx.store.load(mt.MEETING, c.meeting_id)).state
    require_act(ctx.principal, meeting_scope(meeting), ORGANISERS)
    opinion_id = new_id(ctx.meta.command_id, "review_opinion")
    settings = ctx.runtime.settings
    command = ro.SendReviewOpinion(opinion_id, c.agenda_index, c.to_unit_id, c.content)

    def decide(loaded: Loaded[ro.ReviewOpinion]) -> list[Event]:
        return ro.decide_send(
            loaded.state,
            command,
            meeting=meeting,
            deadline=settings.duration("review_opinion_deadline"),
            tz=settings.tz,
            now=ctx.meta.now,
        )

    appended = await ctx.store.execute(ro.REVIEW_OPINION, opinion_id, decide, ctx.meta, jurisdiction=meeting.body)
    ctx.answered(appended)
    return appended


async def answer_review_opinion(opinion_id: str, content: str, ctx: CommandContext) -> Appended[ro.ReviewOpinion]:
    def check(loaded: Loaded[ro.ReviewOpinion]) -> None:
        require_act(ctx.principal, opinion_scope(loaded.state), FEEDBACK_ROLES)

    async def decide(loaded: Loaded[ro.ReviewOpinion]) -> list[Event]:
        return ro.decide_answer(loaded.state, content=content, now=ctx.meta.now)

    return await _run(ctx, ro.REVIEW_OPINION, opinion_id, check, decide)


# -- joint inspections (县乡联动) ----------------------------------------------------------------------
async def launch_joint_inspection(c: ji.LaunchJointInspection, ctx: CommandContext) -> ji.JointInspection:
    """Launch, then schedule each township's own linked inspection; a retry schedules what is missing."""
    require_inside(ctx.principal, c.county, "county")
    joint_id = new_id(ctx.meta.command_id, "joint_inspection")
    townships = tuple(dict.fromkeys(t.strip() for t in c.townships if t.strip()))
    kinds: dict[str, str] = {}
    async with ctx.runtime.engine.connect() as conn:
        for code in townships:
            row = await refdata.jurisdiction(conn, ref, code)
            if row is not None and row["kind"] in ("township", "street") and code.startswith(c.county):
                kinds[code] = row["kind"]
    unknown = [t for t in townships if t not in kinds and len(t) == 9 and t.startswith(c.county)]
    if unknown:
        raise InvalidInput("townships", f"以下乡镇（街道）尚未登记：{'、'.join(unknown)}。")
    meeting_ids = {t: new_id(ctx.meta.command_id, f"inspection/{t}") for t in townships}
    command = ji.LaunchJointInspection(**{**c.__dict__, "joint_inspection_id": joint_id})

    def decide(loaded: Loaded[ji.JointInspection]) -> list[Event]:
        return ji.decide_launch(loaded.state, command, meeting_ids=meeting_ids)

    launched = await ctx.store.execute(ji.JOINT_INSPECTION, joint_id, decide, ctx.meta, jurisdiction=c.county)
    ctx.answered(launched)
    j = launched.loaded.state
    assert j.window_start is not None and j.window_end is not None
    as_event = JointInspectionLaunched(
        joint_inspection_id=j.id,
        county=j.county,
        theme=j.theme,
        law=j.law,
        window_start=j.window_start,
        window_end=j.window_end,
        requirements=j.requirements,
        steps=j.steps,
        inspections=j.inspections,
    )
    for link in j.inspections:
        schedule = ji.township_inspection(as_event, link, tz=ctx.runtime.settings.tz)
        street = kinds.get(link.township) == "street"

        def decide_meeting(loaded: Loaded[mt.Meeting], s: ScheduleMeeting = schedule, st: bool = street) -> list[Event]:
            return mt.decide_schedule(loaded.state, s, is_street=st) if loaded.state.status == "new" else []

        ctx.answered(
            await ctx.store.execute(mt.MEETING, link.meeting_id, decide_meeting, ctx.meta, jurisdiction=link.township)
        )
    return j


async def record_finding(joint_id: str, c: ji.RecordFinding, ctx: CommandContext) -> tuple[Appended[Any], str]:
    finding_id = new_id(ctx.meta.command_id, "finding")

    def check(loaded: Loaded[ji.JointInspection]) -> None:
        p = ctx.principal
        if not joint_visible(p, loaded.state):
            raise NotVisible()
        if p.role not in ORGANISERS or not p.sees(c.township):
            raise Forbidden("只能登记本辖区内乡镇（街道）的检查发现。")

    async def decide(loaded: Loaded[ji.JointInspection]) -> list[Event]:
        return ji.decide_record_finding(loaded.state, c, finding_id=finding_id, now=ctx.meta.now)

    return await _run(ctx, ji.JOINT_INSPECTION, joint_id, check, decide), finding_id


def require_meeting_visible(p: Principal, m: mt.Meeting) -> None:
    require_visible(p, meeting_scope(m))
