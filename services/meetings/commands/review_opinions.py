"""Handlers of the ReviewOpinion aggregate (审议意见): send after a held meeting, the unit's feedback."""

from __future__ import annotations

from dataclasses import replace

from libs.auth.access import require_act
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.web.deps import CommandContext
from services.meetings.commands import facts
from services.meetings.commands.path import (
    FEEDBACK_ROLES,
    ORGANISERS,
    meeting_scope,
    new_id,
    opinion_scope,
    require_id,
    run,
)
from services.meetings.domain import meeting as mt
from services.meetings.domain import review_opinion as ro


async def send_review_opinion(c: ro.SendReviewOpinion, ctx: CommandContext) -> Appended[ro.ReviewOpinion]:
    """``c.review_opinion_id`` is ignored: the id derives from the command."""
    meeting = (await ctx.store.load(mt.MEETING, require_id(c.meeting_id))).state
    require_act(ctx.principal, meeting_scope(meeting), ORGANISERS)
    async with ctx.runtime.engine.connect() as conn:
        await facts.visible_unit(conn, ctx.principal, c.to_unit_id.strip(), "to_unit_id", place=meeting.body)
    opinion_id = new_id(ctx.meta.command_id, "review_opinion")
    settings = ctx.runtime.settings
    command = replace(c, review_opinion_id=opinion_id)

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


async def answer_review_opinion(c: ro.AnswerReviewOpinion, ctx: CommandContext) -> Appended[ro.ReviewOpinion]:
    def check(loaded: Loaded[ro.ReviewOpinion]) -> None:
        require_act(ctx.principal, opinion_scope(loaded.state), FEEDBACK_ROLES)

    async def decide(loaded: Loaded[ro.ReviewOpinion]) -> list[Event]:
        return ro.decide_answer(loaded.state, content=c.content, now=ctx.meta.now)

    return await run(ctx, ro.REVIEW_OPINION, c.review_opinion_id, check, decide)
