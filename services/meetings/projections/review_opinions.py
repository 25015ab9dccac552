"""Review opinions in the ``meetings-index`` projection: one row per opinion (lists, and the due
index of the feedback watcher)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Integer, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import on
from services.meetings.events import (
    ReviewOpinionAnswered,
    ReviewOpinionOverdue,
    ReviewOpinionReminderDue,
    ReviewOpinionSent,
)
from services.meetings.projections.storage import index_metadata, utc_text

opinions = Table(
    "meetings_review_opinions",
    index_metadata,
    Column("review_opinion_id", String(64), primary_key=True),
    Column("meeting_id", String(64), nullable=False, index=True),
    Column("meeting_kind", String(30), nullable=False),
    Column("body", String(12), nullable=False, index=True),
    Column("joint_inspection_id", String(64), nullable=True, index=True),
    Column("agenda_index", Integer, nullable=False),
    Column("to_unit_id", String(64), nullable=False, index=True),
    Column("content", Text, nullable=False),
    Column("sent_at", String(40), nullable=False),
    Column("due_at", String(40), nullable=False, index=True),
    Column("status", String(12), nullable=False),  # sent | answered
    Column("reminded", JSON, nullable=False),  # lead times reminded
    Column("overdue", Boolean, nullable=False, default=False),
    Column("answered_at", String(40), nullable=True),
    Column("on_time", Boolean, nullable=True),
    Column("feedback", Text, nullable=True),
)
o = opinions.c


class ReviewOpinionRows:
    """The review-opinion handlers of the ``meetings-index`` projection (a mixin of ``MeetingsIndex``)."""

    @on(ReviewOpinionSent)
    async def opinion_sent(self, e: ReviewOpinionSent, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            opinions.insert().values(
                review_opinion_id=e.review_opinion_id,
                meeting_id=e.meeting_id,
                meeting_kind=e.meeting_kind,
                body=e.body,
                joint_inspection_id=e.joint_inspection_id,
                agenda_index=e.agenda_index,
                to_unit_id=e.to_unit_id,
                content=e.content,
                sent_at=utc_text(e.sent_at),
                due_at=utc_text(e.due_at),
                status="sent",
                reminded=[],
                overdue=False,
            )
        )

    @on(ReviewOpinionReminderDue)
    async def opinion_reminded(self, e: ReviewOpinionReminderDue, env: Envelope, tx: AsyncConnection) -> None:
        where = o.review_opinion_id == e.review_opinion_id
        had = (await tx.execute(select(o.reminded).where(where))).scalar_one_or_none() or []
        await tx.execute(opinions.update().where(where).values(reminded=sorted({*had, *e.leads})))

    @on(ReviewOpinionOverdue)
    async def opinion_overdue(self, e: ReviewOpinionOverdue, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(opinions.update().where(o.review_opinion_id == e.review_opinion_id).values(overdue=True))

    @on(ReviewOpinionAnswered)
    async def opinion_answered(self, e: ReviewOpinionAnswered, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            opinions.update()
            .where(o.review_opinion_id == e.review_opinion_id)
            .values(status="answered", answered_at=utc_text(e.answered_at), on_time=e.on_time, feedback=e.content)
        )
