"""Routes of review opinions (审议意见): send after a held meeting, list, read, the unit's feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field, StrictInt

from libs.domain.times import LocalTime
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.meetings import commands, queries
from services.meetings.api.deps import CODE, STAFF, In, Run, after_writes
from services.meetings.domain.review_opinion import AnswerReviewOpinion, SendReviewOpinion

router = APIRouter()


class ReviewOpinionIn(In):
    agenda_index: StrictInt = Field(ge=0)
    to_unit_id: str = Field(min_length=1, max_length=64)
    content: str = Field(min_length=1, max_length=20000)


class FeedbackIn(In):
    content: str = Field(min_length=1, max_length=20000)


class ReviewOpinionSentOut(BaseModel):
    review_opinion_id: str
    meeting_id: str
    status: str
    due_at: LocalTime


class FeedbackOut(BaseModel):
    review_opinion_id: str
    status: str
    on_time: bool | None


class ReviewOpinionRow(BaseModel):
    review_opinion_id: str
    meeting_id: str
    meeting_kind: str
    body: str
    joint_inspection_id: str | None
    agenda_index: int
    to_unit_id: str
    content: str
    sent_at: LocalTime
    due_at: LocalTime
    status: str
    reminded: list[str]
    overdue: bool
    overdue_for: timedelta | None = None
    answered_at: LocalTime | None
    on_time: bool | None
    feedback: str | None


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
    return page([ReviewOpinionRow(**r) for r in rows], limit, key=queries.opinion_key)


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
    done = await commands.answer_review_opinion(AnswerReviewOpinion(opinion_id, body.content), ctx)
    r = done.loaded.state
    return FeedbackOut(review_opinion_id=r.id, status=r.status, on_time=r.on_time)


@router.post("/{meeting_id}/review-opinions", status_code=status.HTTP_201_CREATED, response_model=ReviewOpinionSentOut)
async def post_review_opinion(
    meeting_id: str, body: ReviewOpinionIn, request: Request, ctx: Annotated[CommandContext, Run()]
) -> ReviewOpinionSentOut:
    """``to_unit_id``: a registered organizer unit of the meeting's place (or above it) the caller sees."""
    await after_writes(request, ctx)
    c = SendReviewOpinion("", body.agenda_index, body.to_unit_id, body.content, meeting_id=meeting_id)
    done = await commands.send_review_opinion(c, ctx)
    r = done.loaded.state
    assert r.due_at is not None
    return ReviewOpinionSentOut(review_opinion_id=r.id, meeting_id=meeting_id, status=r.status, due_at=r.due_at)
