"""The ``meetings-joint-progress`` projection: the county's view of a joint inspection township by
township. It reads the suggestions stream too, for the suggestions raised from findings and their
handling (kept by suggestion: the two streams are followed separately, so a suggestion may arrive
before its finding)."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Column, Integer, MetaData, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

import services.suggestions.events as sug  # the suggestions' published types
from libs.events.envelope import Envelope
from libs.events.projection import Projection, on
from libs.events.projection.rows import chunks
from services.meetings.events import (
    InspectionFindingRecorded,
    JointInspectionLaunched,
    MeetingAdjourned,
    MeetingCancelled,
    MeetingConvened,
    ReviewOpinionAnswered,
    ReviewOpinionOverdue,
    ReviewOpinionSent,
)
from services.meetings.projections.storage import utc_text

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
# Suggestions raised from findings (source "joint_inspection", source_id = finding id).
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
t = joint_townships.c


# -- the joint inspection and its townships' inspections ---------------------------------------------


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


async def _suggestion(tx: AsyncConnection, suggestion_id: str, **values: Any) -> None:
    where = joint_suggestions.c.suggestion_id == suggestion_id
    await tx.execute(joint_suggestions.update().where(where).values(**values))


_FOLLOWED = (sug.ReplyOverdue, sug.DeadlineExtended, *_SUGGESTION_STATES)  # changes to a raised suggestion


def _about(e: Any) -> str:
    return str(e.suggestion_id)


class JointInspectionProgress(Projection):
    name: ClassVar[str] = "meetings-joint-progress"
    contexts: ClassVar[tuple[str, ...]] = ("meetings", "suggestions")
    metadata: ClassVar[MetaData] = progress_metadata

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """The batch in order, skipping changes to suggestions not raised from a finding.

        Few suggestions come from joint inspections, but every suggestion's handling is on the
        stream: one read per batch finds the raised ones (the rest would be updates of no row,
        which were most of this read model's replay: 12 s of a county's 65, profiled).
        """
        ids = {_about(env.data) for env in envs if isinstance(env.data, _FOLLOWED)}
        raised: set[str] = set()
        key = joint_suggestions.c.suggestion_id
        for part in chunks(ids):
            raised.update((await tx.execute(select(key).where(key.in_(part)))).scalars())
        for env in envs:
            e = env.data
            if isinstance(e, _FOLLOWED) and _about(e) not in raised:
                continue
            if isinstance(e, sug.SuggestionSubmitted) and e.source == "joint_inspection" and e.source_id:
                raised.add(e.suggestion_id)  # inserted below (``submitted``)
            await self.apply(env, tx)

    @on(JointInspectionLaunched)
    async def launched(self, e: JointInspectionLaunched, env: Envelope, tx: AsyncConnection) -> None:
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
                launched_at=utc_text(env.occurred_at),
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

    @on(InspectionFindingRecorded)
    async def finding(self, e: InspectionFindingRecorded, env: Envelope, tx: AsyncConnection) -> None:
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

    @on(MeetingConvened)
    async def convened(self, e: MeetingConvened, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            joint_townships.update()
            .where(t.meeting_id == e.meeting_id)
            .values(status="convened", held_at=utc_text(e.convened_at), present=e.present)
        )

    @on(MeetingAdjourned)
    async def adjourned(self, e: MeetingAdjourned, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            joint_townships.update()
            .where(t.meeting_id == e.meeting_id)
            .values(status="adjourned", present=len(e.present_ids))
        )

    @on(MeetingCancelled)
    async def cancelled(self, e: MeetingCancelled, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(joint_townships.update().where(t.meeting_id == e.meeting_id).values(status="cancelled"))

    # -- review opinions of a joint inspection ---------------------------------------------------------------
    @on(ReviewOpinionSent)
    async def opinion_sent(self, e: ReviewOpinionSent, env: Envelope, tx: AsyncConnection) -> None:
        if not e.joint_inspection_id:
            return  # an opinion after a meeting of no joint inspection
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

    @on(ReviewOpinionOverdue)
    async def opinion_overdue(self, e: ReviewOpinionOverdue, env: Envelope, tx: AsyncConnection) -> None:
        where = joint_opinions.c.review_opinion_id == e.review_opinion_id
        await tx.execute(joint_opinions.update().where(where).values(overdue=True))

    @on(ReviewOpinionAnswered)
    async def opinion_answered(self, e: ReviewOpinionAnswered, env: Envelope, tx: AsyncConnection) -> None:
        where = joint_opinions.c.review_opinion_id == e.review_opinion_id
        await tx.execute(joint_opinions.update().where(where).values(status="answered", on_time=e.on_time))

    # -- suggestions raised from findings --------------------------------------------------------------------
    @on(sug.SuggestionSubmitted)
    async def submitted(self, e: sug.SuggestionSubmitted, env: Envelope, tx: AsyncConnection) -> None:
        if e.source != "joint_inspection" or not e.source_id:
            return
        await tx.execute(
            joint_suggestions.insert().values(
                suggestion_id=e.suggestion_id,
                finding_id=e.source_id,
                jurisdiction=e.jurisdiction,
                state="submitted",
                overdue=False,
                updated_at=utc_text(env.occurred_at),
            )
        )

    @on(sug.ReplyOverdue)
    async def reply_overdue(self, e: sug.ReplyOverdue, env: Envelope, tx: AsyncConnection) -> None:
        await _suggestion(tx, e.suggestion_id, overdue=True, updated_at=utc_text(env.occurred_at))

    @on(sug.DeadlineExtended)
    async def extended(self, e: sug.DeadlineExtended, env: Envelope, tx: AsyncConnection) -> None:
        at = utc_text(env.occurred_at)
        await _suggestion(tx, e.suggestion_id, due_at=utc_text(e.new_due_at), overdue=False, updated_at=at)

    @on(*_SUGGESTION_STATES)
    async def suggestion_state(self, e: Any, env: Envelope, tx: AsyncConnection) -> None:
        values: dict[str, Any] = {"state": _SUGGESTION_STATES[type(e)], "updated_at": utc_text(env.occurred_at)}
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
        await _suggestion(tx, e.suggestion_id, **values)
