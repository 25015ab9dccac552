"""Handlers of the Meeting aggregate: schedule, change, cancel, attendance, convene, vote, speech, adjourn."""

from __future__ import annotations

from dataclasses import replace

from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.web.deps import CommandContext
from libs.web.errors import Forbidden
from services.meetings.commands import facts
from services.meetings.commands.path import ORGANISERS, new_id, organiser, run
from services.meetings.domain import meeting as mt
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


async def schedule_meeting(c: ScheduleMeeting, ctx: CommandContext) -> Appended[mt.Meeting]:
    """``c.meeting_id`` is ignored: the id derives from the command. No invitees: all members
    (a group activity: the group's members)."""
    p = ctx.principal
    if p.role not in ORGANISERS:
        raise Forbidden()
    meeting_id = new_id(ctx.meta.command_id, "meeting")
    tz = ctx.runtime.settings.tz
    async with ctx.runtime.engine.connect() as conn:
        body = await facts.visible_body(conn, p, c.body)
        await facts.visible_deputies(conn, p, c.invitee_ids, "invitee_ids")
        await facts.no_foreign_deputies(conn, p, c.observers, "observers")
        invited = c.invitee_ids
        if c.group_id:
            group = await facts.visible_group(conn, p, c.group_id, c.body)
            if c.kind == "group_activity" and not invited:
                invited = tuple(group["member_ids"])
        elif not invited:
            members = await facts.members_of(conn, c.kind, c.body, facts.meeting_date(c, tz))
            invited = tuple(sorted(members or ()))
    command = replace(c, meeting_id=meeting_id, invitee_ids=invited)

    def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_schedule(loaded.state, command, is_street=body["kind"] == "street", body_kind=body["kind"])

    appended = await ctx.store.execute(mt.MEETING, meeting_id, decide, ctx.meta, jurisdiction=c.body)
    ctx.answered(appended)
    return appended


async def change_meeting(c: ChangeMeeting, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        if c.invitee_ids or c.observers:
            async with ctx.runtime.engine.connect() as conn:
                await facts.visible_deputies(conn, ctx.principal, c.invitee_ids or (), "invitee_ids")
                await facts.no_foreign_deputies(conn, ctx.principal, c.observers or (), "observers")
        return mt.decide_change(loaded.state, c)

    return await run(ctx, mt.MEETING, c.meeting_id, organiser(ctx), decide)


async def cancel_meeting(c: CancelMeeting, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_cancel(loaded.state, reason=c.reason)

    return await run(ctx, mt.MEETING, c.meeting_id, organiser(ctx), decide)


async def record_attendance(c: RecordAttendance, ctx: CommandContext) -> Appended[mt.Meeting]:
    """Only invitees who are current members as of the meeting date (the domain decides)."""

    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        m = loaded.state
        named = [*c.present, *c.on_leave, *c.absent]
        async with ctx.runtime.engine.connect() as conn:
            members = await facts.current_members(conn, m, named, facts.meeting_date(m, ctx.runtime.settings.tz))
        return mt.decide_record_attendance(m, c, current_members=members)

    return await run(ctx, mt.MEETING, c.meeting_id, organiser(ctx), decide)


async def convene_meeting(c: ConveneMeeting, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        m = loaded.state
        async with ctx.runtime.engine.connect() as conn:
            members = await facts.members_of(conn, m.kind, m.body, facts.meeting_date(m, ctx.runtime.settings.tz))
        return mt.decide_convene(m, members=members, now=ctx.meta.now)

    return await run(ctx, mt.MEETING, c.meeting_id, organiser(ctx), decide)


async def hold_vote(c: HoldVote, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_vote(loaded.state, c)

    return await run(ctx, mt.MEETING, c.meeting_id, organiser(ctx), decide)


async def record_speech(c: RecordSpeech, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_speech(loaded.state, c)

    return await run(ctx, mt.MEETING, c.meeting_id, organiser(ctx), decide)


async def adjourn_meeting(c: AdjournMeeting, ctx: CommandContext) -> Appended[mt.Meeting]:
    async def decide(loaded: Loaded[mt.Meeting]) -> list[Event]:
        return mt.decide_adjourn(loaded.state, notes=c.notes, now=ctx.meta.now, tz=ctx.runtime.settings.tz)

    return await run(ctx, mt.MEETING, c.meeting_id, organiser(ctx), decide)
