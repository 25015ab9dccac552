"""Read models of the meetings context (tables prefixed ``meetings_``: services may share one database).

- ``MeetingsIndex``: one row per meeting (lists, compliance facts), its invitees (what a deputy
  may read) and one row per review opinion (lists, and the due index of the feedback watcher).
- ``JointInspectionProgress``: the county's view of a joint inspection township by township; it
  reads the suggestions stream too, for the suggestions raised from findings and their handling.

Times are stored as UTC ISO-8601 text of one fixed width, so text order is time order on SQLite
and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

import services.deputies.events  # noqa: F401  (the deputies' published types decode in this service)
import services.suggestions.events as sug  # registers the suggestions' event types
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.reference.deputies import reference_projection
from services.meetings.events import (
    AttendanceRecorded,
    InspectionFindingRecorded,
    JointInspectionLaunched,
    MeetingAdjourned,
    MeetingCancelled,
    MeetingChanged,
    MeetingConvened,
    MeetingScheduled,
    ResolutionAdopted,
    ReviewOpinionAnswered,
    ReviewOpinionOverdue,
    ReviewOpinionReminderDue,
    ReviewOpinionSent,
)

# Jurisdictions, deputies (elected / terminated), presidium compositions and groups, from the
# deputies' events: quorum and attendance are checked against these as of the meeting date.
reference, ref = reference_projection("meetings")

UTC_TEXT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def utc_text(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).strftime(UTC_TEXT)


def from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# -- meetings and review opinions ----------------------------------------------------------------
index_metadata = MetaData()
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


class MeetingsIndex(Projection):
    name: ClassVar[str] = "meetings-index"
    contexts: ClassVar[tuple[str, ...]] = ("meetings",)
    metadata: ClassVar[MetaData] = index_metadata
    handles = (
        MeetingScheduled,
        MeetingChanged,
        MeetingCancelled,
        AttendanceRecorded,
        MeetingConvened,
        ResolutionAdopted,
        MeetingAdjourned,
        ReviewOpinionSent,
        ReviewOpinionReminderDue,
        ReviewOpinionOverdue,
        ReviewOpinionAnswered,
    )

    def __init__(self, tz: Any) -> None:
        self.tz = tz

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        m = meetings.c
        match env.data:
            case MeetingScheduled() as e:
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
                await self._invite(tx, e.meeting_id, e.invitee_ids, e.observers)
            case MeetingChanged() as e:
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
                await self._invite(tx, e.meeting_id, e.invitee_ids, e.observers)
            case MeetingCancelled() as e:
                await tx.execute(meetings.update().where(m.meeting_id == e.meeting_id).values(status="cancelled"))
            case MeetingConvened() as e:
                await tx.execute(
                    meetings.update()
                    .where(m.meeting_id == e.meeting_id)
                    .values(status="convened", convened_at=utc_text(e.convened_at), present=e.present)
                )
            case ResolutionAdopted() as e:
                await tx.execute(
                    meetings.update().where(m.meeting_id == e.meeting_id).values(resolutions=m.resolutions + 1)
                )
            case MeetingAdjourned() as e:
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
            case ReviewOpinionSent() as e:
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
            case ReviewOpinionReminderDue() as e:
                o = opinions.c
                where = o.review_opinion_id == e.review_opinion_id
                had = (await tx.execute(select(o.reminded).where(where))).scalar_one_or_none() or []
                await tx.execute(opinions.update().where(where).values(reminded=sorted({*had, *e.leads})))
            case ReviewOpinionOverdue() as e:
                await tx.execute(
                    opinions.update().where(opinions.c.review_opinion_id == e.review_opinion_id).values(overdue=True)
                )
            case ReviewOpinionAnswered() as e:
                await tx.execute(
                    opinions.update()
                    .where(opinions.c.review_opinion_id == e.review_opinion_id)
                    .values(
                        status="answered",
                        answered_at=utc_text(e.answered_at),
                        on_time=e.on_time,
                        feedback=e.content,
                    )
                )

    @staticmethod
    async def _invite(tx: AsyncConnection, meeting_id: str, ids: tuple[str, ...], observers: tuple[str, ...]) -> None:
        people = list(dict.fromkeys((*ids, *observers)))
        if people:
            await tx.execute(invitees.insert(), [{"meeting_id": meeting_id, "person_id": p} for p in people])


# -- joint inspections -----------------------------------------------------------------------------
progress_metadata = MetaData()
joint = Table(
    "meetings_joint_inspections",
    progress_metadata,
    Column("joint_inspection_id", String(64), primary_key=True),
    Column("county", String(12), nullable=False, index=True),
    Column("theme", String(300), nullable=False),
    Column("law", String(300), nullable=True),
    Column("window_start", String(10), nullable=False),
    Column("window_end", String(10), nullable=False),
    Column("requirements", Text, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("launched_at", String(40), nullable=False),
)
joint_townships = Table(
    "meetings_joint_townships",
    progress_metadata,
    Column("joint_inspection_id", String(64), primary_key=True),
    Column("township", String(12), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("meeting_id", String(64), nullable=False, unique=True),
    Column("status", String(12), nullable=False),  # the linked meeting: scheduled | convened | adjourned | cancelled
    Column("held_at", String(40), nullable=True),
    Column("present", Integer, nullable=False, default=0),
)
joint_findings = Table(
    "meetings_joint_findings",
    progress_metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("joint_inspection_id", String(64), nullable=False, index=True),
    Column("township", String(12), nullable=False),
    Column("description", Text, nullable=False),
    Column("unit_id", String(64), nullable=True),
    Column("recorded_at", String(40), nullable=False),
)
joint_opinions = Table(
    "meetings_joint_opinions",
    progress_metadata,
    Column("review_opinion_id", String(64), primary_key=True),
    Column("joint_inspection_id", String(64), nullable=False, index=True),
    Column("township", String(12), nullable=False),
    Column("to_unit_id", String(64), nullable=False),
    Column("due_at", String(40), nullable=False),
    Column("status", String(12), nullable=False),  # sent | answered
    Column("overdue", Boolean, nullable=False, default=False),
    Column("on_time", Boolean, nullable=True),
)
# Suggestions raised from findings (source "joint_inspection", source_id = finding id), kept by
# suggestion: the two streams are followed separately, so a suggestion may arrive before its finding.
joint_suggestions = Table(
    "meetings_joint_suggestions",
    progress_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("finding_id", String(64), nullable=False, index=True),
    Column("jurisdiction", String(12), nullable=False),
    Column("state", String(20), nullable=False),
    Column("lead_unit_id", String(64), nullable=True),
    Column("due_at", String(40), nullable=True),
    Column("result", String(1), nullable=True),
    Column("satisfaction", String(24), nullable=True),
    Column("overdue", Boolean, nullable=False, default=False),
    Column("updated_at", String(40), nullable=False),
)

_SUGGESTION_STATES: dict[type, str] = {
    sug.SuggestionAssigned: "assigned",
    sug.SuggestionAcknowledged: "acknowledged",
    sug.SuggestionReturned: "returned",
    sug.ConsultationHeld: "consulted",
    sug.SuggestionReplied: "replied",
    sug.SatisfactionEvaluated: "evaluated",
    sug.RehandlingStarted: "rehandling",
    sug.SuggestionClosed: "closed",
}
_SUGGESTION_DEADLINES = (sug.ReplyOverdue, sug.DeadlineExtended)


class JointInspectionProgress(Projection):
    name: ClassVar[str] = "meetings-joint-progress"
    contexts: ClassVar[tuple[str, ...]] = ("meetings", "suggestions")
    metadata: ClassVar[MetaData] = progress_metadata
    handles = (
        JointInspectionLaunched,
        InspectionFindingRecorded,
        MeetingConvened,
        MeetingAdjourned,
        MeetingCancelled,
        ReviewOpinionSent,
        ReviewOpinionOverdue,
        ReviewOpinionAnswered,
        sug.SuggestionSubmitted,
        *_SUGGESTION_DEADLINES,
        *_SUGGESTION_STATES,
    )

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        t = joint_townships.c
        at = utc_text(env.occurred_at)
        match env.data:
            case JointInspectionLaunched() as e:
                await tx.execute(
                    joint.insert().values(
                        joint_inspection_id=e.joint_inspection_id,
                        county=e.county,
                        theme=e.theme,
                        law=e.law,
                        window_start=e.window_start.isoformat(),
                        window_end=e.window_end.isoformat(),
                        requirements=e.requirements,
                        steps=list(e.steps),
                        launched_at=at,
                    )
                )
                await tx.execute(
                    joint_townships.insert(),
                    [
                        {
                            "joint_inspection_id": e.joint_inspection_id,
                            "township": link.township,
                            "position": i,
                            "meeting_id": link.meeting_id,
                            "status": "scheduled",
                            "present": 0,
                        }
                        for i, link in enumerate(e.inspections)
                    ],
                )
            case InspectionFindingRecorded() as e:
                await tx.execute(
                    joint_findings.insert().values(
                        finding_id=e.finding_id,
                        joint_inspection_id=e.joint_inspection_id,
                        township=e.township,
                        description=e.description,
                        unit_id=e.unit_id,
                        recorded_at=utc_text(e.recorded_at),
                    )
                )
            case MeetingConvened() as e:
                await tx.execute(
                    joint_townships.update()
                    .where(t.meeting_id == e.meeting_id)
                    .values(status="convened", held_at=utc_text(e.convened_at), present=e.present)
                )
            case MeetingAdjourned() as e:
                await tx.execute(
                    joint_townships.update()
                    .where(t.meeting_id == e.meeting_id)
                    .values(status="adjourned", present=len(e.present_ids))
                )
            case MeetingCancelled() as e:
                await tx.execute(
                    joint_townships.update().where(t.meeting_id == e.meeting_id).values(status="cancelled")
                )
            case ReviewOpinionSent() as e if e.joint_inspection_id:
                await tx.execute(
                    joint_opinions.insert().values(
                        review_opinion_id=e.review_opinion_id,
                        joint_inspection_id=e.joint_inspection_id,
                        township=e.body,
                        to_unit_id=e.to_unit_id,
                        due_at=utc_text(e.due_at),
                        status="sent",
                        overdue=False,
                    )
                )
            case ReviewOpinionOverdue() as e:
                await tx.execute(
                    joint_opinions.update()
                    .where(joint_opinions.c.review_opinion_id == e.review_opinion_id)
                    .values(overdue=True)
                )
            case ReviewOpinionAnswered() as e:
                await tx.execute(
                    joint_opinions.update()
                    .where(joint_opinions.c.review_opinion_id == e.review_opinion_id)
                    .values(status="answered", on_time=e.on_time)
                )
            case sug.SuggestionSubmitted() as e if e.source == "joint_inspection" and e.source_id:
                await tx.execute(
                    joint_suggestions.insert().values(
                        suggestion_id=e.suggestion_id,
                        finding_id=e.source_id,
                        jurisdiction=e.jurisdiction,
                        state="submitted",
                        overdue=False,
                        updated_at=at,
                    )
                )
            case sug.ReplyOverdue() as e:
                await self._suggestion(tx, e.suggestion_id, overdue=True, updated_at=at)
            case sug.DeadlineExtended() as e:
                await self._suggestion(tx, e.suggestion_id, due_at=utc_text(e.new_due_at), overdue=False, updated_at=at)
            case _ if type(env.data) in _SUGGESTION_STATES:
                await self._suggestion_state(tx, env.data, at)

    async def _suggestion_state(self, tx: AsyncConnection, e: Any, at: str) -> None:
        values: dict[str, Any] = {"state": _SUGGESTION_STATES[type(e)], "updated_at": at}
        match e:
            case sug.SuggestionAssigned():
                values.update(lead_unit_id=e.lead_unit_id, due_at=utc_text(e.due_at), overdue=False)
            case sug.SuggestionReturned():
                values.update(lead_unit_id=None)
            case sug.SuggestionReplied():
                values.update(result=e.result)
            case sug.SatisfactionEvaluated():
                values.update(satisfaction=e.satisfaction)
            case sug.RehandlingStarted():
                values.update(due_at=utc_text(e.due_at), overdue=False)
            case sug.SuggestionClosed():
                if e.satisfaction:
                    values.update(satisfaction=e.satisfaction)
        await self._suggestion(tx, e.suggestion_id, **values)

    @staticmethod
    async def _suggestion(tx: AsyncConnection, suggestion_id: str, **values: Any) -> None:
        await tx.execute(
            joint_suggestions.update().where(joint_suggestions.c.suggestion_id == suggestion_id).values(**values)
        )
