"""The ``meetings-index`` projection: one row per meeting (lists, compliance facts), its invitees
(what a deputy may read) and, from ``review_opinions``, one row per review opinion.

Attendance is not kept here (a meeting's live attendance is read from its events; the row's
``present`` is fixed when it convenes and adjourns), so ``AttendanceRecorded`` is not subscribed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, Integer, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection, on
from services.meetings.events import (
    MeetingAdjourned,
    MeetingCancelled,
    MeetingChanged,
    MeetingConvened,
    MeetingScheduled,
    ResolutionAdopted,
)
from services.meetings.projections.review_opinions import ReviewOpinionRows
from services.meetings.projections.storage import index_metadata, utc_text

meetings = Table(
    "meetings_meetings",
    index_metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("body", String(12), nullable=False, index=True),
    Column("group_id", String(64), nullable=True, index=True),
    Column("joint_inspection_id", String(64), nullable=True),
    Column("title", String(300), nullable=False),
    Column("venue", String(300), nullable=False, default=""),
    Column("starts_at", String(40), nullable=False, index=True),
    Column("ends_at", String(40), nullable=False),
    Column("year", Integer, nullable=False, index=True),  # local year of ``starts_at``
    Column("status", String(12), nullable=False),
    Column("invited", Integer, nullable=False, default=0),
    Column("present", Integer, nullable=False, default=0),
    Column("resolutions", Integer, nullable=False, default=0),
    Column("convened_at", String(40), nullable=True),
    Column("adjourned_at", String(40), nullable=True),
    Column("minutes_sha256", String(64), nullable=True),
)
invitees = Table(
    "meetings_invitees",
    index_metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("person_id", String(64), primary_key=True, index=True),
)
m = meetings.c


async def _invite(tx: AsyncConnection, meeting_id: str, ids: tuple[str, ...], observers: tuple[str, ...]) -> None:
    people = list(dict.fromkeys((*ids, *observers)))
    if people:
        await tx.execute(invitees.insert(), [{"meeting_id": meeting_id, "person_id": p} for p in people])


class MeetingsIndex(ReviewOpinionRows, Projection):
    name: ClassVar[str] = "meetings-index"
    contexts: ClassVar[tuple[str, ...]] = ("meetings",)
    metadata: ClassVar[MetaData] = index_metadata
    version: ClassVar[int] = 2  # v2: times of any year stored at one width (a year 0013 broke every list)

    def __init__(self, tz: Any) -> None:
        self.tz = tz

    @on(MeetingScheduled)
    async def scheduled(self, e: MeetingScheduled, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            meetings.insert().values(
                meeting_id=e.meeting_id,
                kind=e.kind,
                body=e.body,
                group_id=e.group_id,
                joint_inspection_id=e.joint_inspection_id,
                title=e.title,
                venue=e.venue,
                starts_at=utc_text(e.starts_at),
                ends_at=utc_text(e.ends_at),
                year=e.starts_at.astimezone(self.tz).year,
                status="scheduled",
                invited=len(e.invitee_ids),
                present=0,
                resolutions=0,
            )
        )
        await _invite(tx, e.meeting_id, e.invitee_ids, e.observers)

    @on(MeetingChanged)
    async def changed(self, e: MeetingChanged, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            meetings.update()
            .where(m.meeting_id == e.meeting_id)
            .values(
                title=e.title,
                venue=e.venue,
                starts_at=utc_text(e.starts_at),
                ends_at=utc_text(e.ends_at),
                year=e.starts_at.astimezone(self.tz).year,
                invited=len(e.invitee_ids),
            )
        )
        await tx.execute(invitees.delete().where(invitees.c.meeting_id == e.meeting_id))
        await _invite(tx, e.meeting_id, e.invitee_ids, e.observers)

    @on(MeetingCancelled)
    async def cancelled(self, e: MeetingCancelled, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(meetings.update().where(m.meeting_id == e.meeting_id).values(status="cancelled"))

    @on(MeetingConvened)
    async def convened(self, e: MeetingConvened, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            meetings.update()
            .where(m.meeting_id == e.meeting_id)
            .values(status="convened", convened_at=utc_text(e.convened_at), present=e.present)
        )

    @on(ResolutionAdopted)
    async def resolution(self, e: ResolutionAdopted, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(meetings.update().where(m.meeting_id == e.meeting_id).values(resolutions=m.resolutions + 1))

    @on(MeetingAdjourned)
    async def adjourned(self, e: MeetingAdjourned, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            meetings.update()
            .where(m.meeting_id == e.meeting_id)
            .values(
                status="adjourned",
                adjourned_at=utc_text(e.adjourned_at),
                minutes_sha256=e.minutes_sha256,
                present=len(e.present_ids),
            )
        )
