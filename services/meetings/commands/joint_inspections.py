"""Handlers of the JointInspection aggregate (县乡联动): launch (and each township's own inspection), findings."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from libs.auth.access import require_inside
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.web.deps import CommandContext
from libs.web.errors import Forbidden, NotVisible
from services.meetings.commands import facts
from services.meetings.commands.path import ORGANISERS, joint_visible, new_id, run
from services.meetings.domain import joint_inspection as ji
from services.meetings.domain import meeting as mt
from services.meetings.domain.errors import InvalidInput
from services.meetings.domain.meeting_commands import ScheduleMeeting
from services.meetings.events import JointInspectionLaunched


async def launch_joint_inspection(c: ji.LaunchJointInspection, ctx: CommandContext) -> ji.JointInspection:
    """Launch, then schedule each township's own linked inspection; a retry schedules what is missing."""
    p = ctx.principal
    require_inside(p, c.county, "county")
    joint_id = new_id(ctx.meta.command_id, "joint_inspection")
    townships = tuple(dict.fromkeys(t.strip() for t in c.townships if t.strip()))
    async with ctx.runtime.engine.connect() as conn:
        await facts.visible_body(conn, p, c.county, "county")
        kinds = await facts.participating_places(conn, p, c.county, townships)
    meeting_ids = {t: new_id(ctx.meta.command_id, f"inspection/{t}") for t in townships}
    command = replace(c, joint_inspection_id=joint_id)

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


async def record_finding(c: ji.RecordFinding, ctx: CommandContext) -> tuple[Appended[Any], str]:
    """Named units and deputies must exist and be seen; without deputies, those present at the
    township's inspection (else its invitees) raised it, current deputies only."""
    finding_id = new_id(ctx.meta.command_id, "finding")
    p = ctx.principal
    tz = ctx.runtime.settings.tz

    def check(loaded: Loaded[ji.JointInspection]) -> None:
        if not joint_visible(p, loaded.state):
            raise NotVisible()
        if p.role not in ORGANISERS or not p.sees(c.township):
            raise Forbidden("只能登记本辖区内乡镇（街道）的检查发现。")

    async def decide(loaded: Loaded[ji.JointInspection]) -> list[Event]:
        j = loaded.state
        command = c
        meeting_id = j.meeting_of(c.township)
        if meeting_id is not None:  # else the domain refuses: the township does not take part
            unit_id = (c.unit_id or "").strip()
            async with ctx.runtime.engine.connect() as conn:
                if unit_id:
                    await facts.visible_unit(conn, p, unit_id, "unit_id", place=c.township, county=j.county)
                await facts.visible_deputies(conn, p, c.deputy_ids, "deputy_ids")
                m = (await ctx.store.load(mt.MEETING, meeting_id)).state
                on = facts.today(tz, ctx.meta.now)
                present = await facts.current_in_order(conn, m.with_status("present"), on)
                invited = await facts.current_in_order(conn, m.invitee_ids, on)
                named = tuple(d.strip() for d in c.deputy_ids if d.strip())
                current = await facts.current_in_order(conn, named, on)
            gone = [d for d in named if d not in current]
            if gone and unit_id:  # the suggestion would be refused downstream: say so now, never drop it
                raise InvalidInput("deputy_ids", f"以下代表今天已不在任，不能提出代表建议：{'、'.join(gone)}。")
            present = tuple(i for i in invited if i in present) or present  # the invitees' order: lead first
            deputies = ji.submitters(c, present=present, invitees=invited, recorded=bool(m.attendance))
            command = replace(c, deputy_ids=deputies)
        return ji.decide_record_finding(j, command, finding_id=finding_id, now=ctx.meta.now)

    return await run(ctx, ji.JOINT_INSPECTION, c.joint_inspection_id, check, decide), finding_id
