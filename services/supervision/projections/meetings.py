"""``MeetingFacts``: the meetings stream into the supervision read models.

Meetings with the times they were convened, adjourned or cancelled, attendance, review opinions,
joint inspections and their findings. Applied per batch in memory and written in bulk, as
``suggestions.py`` (one event is a batch of one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

import services.meetings.events as mt
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.events.projection.rows import Rows
from services.supervision import tables as t
from services.supervision.tables import utc_text

PRESENCE_EVENTS = (mt.MeetingChanged, mt.MeetingCancelled, mt.MeetingAdjourned, mt.AttendanceRecorded)


class _Batch:
    def __init__(self) -> None:
        self.meetings = Rows(t.meetings)
        self.presence = Rows(t.presence, group="meeting_id")
        self.review_opinions = Rows(t.review_opinions)
        self.joint_inspections = Rows(t.joint_inspections)
        self.joint_townships = Rows(t.joint_townships)
        self.findings = Rows(t.findings)

    async def load(self, tx: AsyncConnection, envs: list[Envelope]) -> None:
        born = {e.meeting_id for env in envs if isinstance(e := env.data, mt.MeetingScheduled)}
        touched = {e.meeting_id for env in envs if isinstance(e := env.data, PRESENCE_EVENTS)}
        await self.meetings.load(tx, "meeting_id", touched - born)
        await self.presence.load(tx, "meeting_id", touched - born)

    async def flush(self, tx: AsyncConnection) -> None:
        for rows in vars(self).values():
            await rows.flush(tx)


class MeetingFacts(Projection):
    name: ClassVar[str] = "supervision-meetings"
    contexts: ClassVar[tuple[str, ...]] = ("meetings",)
    metadata: ClassVar[MetaData] = t.meeting_metadata
    version: ClassVar[int] = 2  # v2: applied in bulk; covering indexes; when things became known
    handles = (
        mt.MeetingScheduled,
        mt.MeetingChanged,
        mt.MeetingCancelled,
        mt.AttendanceRecorded,
        mt.MeetingConvened,
        mt.MeetingAdjourned,
        mt.ReviewOpinionSent,
        mt.ReviewOpinionAnswered,
        mt.JointInspectionLaunched,
        mt.InspectionFindingRecorded,
    )

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).date().isoformat()

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        await self.apply_many([env], tx)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        b = _Batch()
        await b.load(tx, envs)
        for env in envs:
            self._one(b, env)
        await b.flush(tx)

    def _one(self, b: _Batch, env: Envelope) -> None:
        e: Any = env.data
        when = utc_text(env.occurred_at)
        match e:
            case mt.MeetingScheduled():
                b.meetings.add(
                    meeting_id=e.meeting_id,
                    kind=e.kind,
                    body=e.body,
                    group_id=e.group_id,
                    title=e.title[:300],
                    starts_at=utc_text(e.starts_at),
                    ends_at=utc_text(e.ends_at),
                    scheduled_at=when,
                    convened_at=None,
                    adjourned_at=None,
                    cancelled_at=None,
                    joint_inspection_id=e.joint_inspection_id,
                )
            case mt.MeetingChanged():
                b.meetings.set_by_key(
                    (e.meeting_id,), title=e.title[:300], starts_at=utc_text(e.starts_at), ends_at=utc_text(e.ends_at)
                )
                for p in b.presence.of(e.meeting_id):
                    b.presence.set(p, on_date=self.local(e.starts_at))
            case mt.MeetingCancelled():
                b.meetings.set_by_key((e.meeting_id,), cancelled_at=when)
                for p in b.presence.of(e.meeting_id):
                    b.presence.delete(p)
            case mt.MeetingConvened():
                b.meetings.set_by_key((e.meeting_id,), convened_at=utc_text(e.convened_at))
            case mt.MeetingAdjourned():
                b.meetings.set_by_key((e.meeting_id,), adjourned_at=utc_text(e.adjourned_at))
                for deputy_id in e.present_ids:
                    self._presence(b, e.meeting_id, deputy_id, "present", when)
            case mt.AttendanceRecorded():
                for status, ids in (("present", e.present), ("on_leave", e.on_leave), ("absent", e.absent)):
                    for deputy_id in ids:
                        self._presence(b, e.meeting_id, deputy_id, status, when)
            case mt.ReviewOpinionSent():
                b.review_opinions.add(
                    review_opinion_id=e.review_opinion_id,
                    meeting_id=e.meeting_id,
                    body=e.body,
                    to_unit_id=e.to_unit_id,
                    content=e.content[:500],
                    sent_at=utc_text(e.sent_at),
                    due_at=utc_text(e.due_at),
                    answered_at=None,
                )
            case mt.ReviewOpinionAnswered():
                b.review_opinions.set_by_key((e.review_opinion_id,), answered_at=utc_text(e.answered_at))
            case mt.JointInspectionLaunched():
                b.joint_inspections.add(
                    joint_inspection_id=e.joint_inspection_id,
                    county=e.county,
                    theme=e.theme[:300],
                    law=e.law,
                    window_start=e.window_start.isoformat(),
                    window_end=e.window_end.isoformat(),
                    requirements=e.requirements,
                    steps=list(e.steps),
                    launched_at=when,
                )
                for i in e.inspections:
                    b.joint_townships.add(
                        joint_inspection_id=e.joint_inspection_id, township=i.township, meeting_id=i.meeting_id
                    )
            case mt.InspectionFindingRecorded():
                b.findings.add(
                    finding_id=e.finding_id,
                    joint_inspection_id=e.joint_inspection_id,
                    township=e.township,
                    description=e.description[:1000],
                    unit_id=e.unit_id,
                    recorded_at=utc_text(e.recorded_at),
                )

    def _presence(self, b: _Batch, meeting_id: str, deputy_id: str, status: str, when: str) -> None:
        held = b.presence.get(meeting_id, deputy_id)
        if held is not None:
            b.presence.set(held, status=status, known_at=when)
            return
        meeting = b.meetings.get(meeting_id)
        if meeting is None or meeting["cancelled_at"] is not None:
            return
        on = self.local(datetime.fromisoformat(meeting["starts_at"]))
        b.presence.add(
            meeting_id=meeting_id, deputy_id=deputy_id, body=meeting["body"], on_date=on, status=status, known_at=when
        )
