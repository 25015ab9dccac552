"""The read models of the joint-supervision view, from the published events of every context.

- ``SuggestionFacts`` (suggestions stream): units; each suggestion with its status history
  (valid-from / valid-to rows), its rounds, extensions, replies, evaluations, B promises and
  justified marks (the records of ``libs/figures/rates.py``), its submitters and its history.
- ``MeetingFacts`` (meetings stream): meetings with the times they were convened, adjourned or
  cancelled, attendance, review opinions, joint inspections and their findings.
- ``DutyFacts`` (deputies stream): duty activities; the deputies themselves come from
  ``libs/reference/deputies.py``.

Only facts with their times: figures are counted when read, by ``libs/figures``, as of any moment.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData, and_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

import services.deputies.events  # noqa: F401  (the types register for decoding)
import services.meetings.events as mt
import services.suggestions.events as sg
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from services.supervision import tables as t
from services.supervision.tables import utc_text

STATUS_OF: dict[type, str] = {
    sg.SuggestionAssigned: "assigned",
    sg.SuggestionReturned: "submitted",
    sg.SuggestionReplied: "replied",
    sg.RehandlingStarted: "rehandling",
    sg.SuggestionClosed: "closed",
}
# What the history keeps of an event's data (free text stays short; no phone numbers exist here).
HISTORY_DROP = frozenset({"jurisdiction", "suggestion_id", "content"})


class SuggestionFacts(Projection):
    name: ClassVar[str] = "supervision-suggestions"
    contexts: ClassVar[tuple[str, ...]] = ("suggestions",)
    metadata: ClassVar[MetaData] = t.suggestion_metadata
    handles = ()  # every suggestion event goes into the history

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def local(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        e: Any = env.data
        if isinstance(e, sg.OrganizerUnitRegistered):
            await tx.execute(
                t.units.insert().values(
                    unit_id=e.unit_id,
                    jurisdiction=e.jurisdiction,
                    name=e.name,
                    kind=e.kind,
                    head=e.head,
                    deputy_head=e.deputy_head,
                )
            )
            return
        sid = getattr(e, "suggestion_id", None)
        if sid is None or not hasattr(e, "jurisdiction"):
            return  # constituents' opinions: not part of this view
        await self._history(env, sid, tx)
        when = utc_text(env.occurred_at)
        match e:
            case sg.SuggestionSubmitted():
                await self._submitted(env, e, tx)
            case sg.SuggestionAssigned():
                await tx.execute(
                    t.rounds.insert().values(
                        suggestion_id=sid,
                        round=e.round,
                        opened_at=utc_text(e.assigned_at),
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        first_due_at=utc_text(e.due_at),
                        due_at=utc_text(e.due_at),
                    )
                )
                await self._set(
                    tx,
                    sid,
                    lead_unit_id=e.lead_unit_id,
                    co_unit_ids=list(e.co_unit_ids),
                    complexity=e.complexity,
                    responsible_leader=e.responsible_leader,
                    assigned_at=utc_text(e.assigned_at),
                )
            case sg.SuggestionReturned():
                r = t.rounds.c
                await tx.execute(
                    update(t.rounds)
                    .where(r.suggestion_id == sid, r.round == e.round, r.withdrawn_at.is_(None))
                    .values(withdrawn_at=utc_text(e.returned_at))
                )
                await self._set(tx, sid, lead_unit_id=None, co_unit_ids=[])
            case sg.RehandlingStarted():
                await tx.execute(
                    t.rounds.insert().values(
                        suggestion_id=sid,
                        round=e.round,
                        opened_at=utc_text(e.started_at),
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        first_due_at=utc_text(e.due_at),
                        due_at=utc_text(e.due_at),
                    )
                )
            case sg.DeadlineExtended():
                r = t.rounds.c
                await tx.execute(
                    t.extensions.insert().values(
                        suggestion_id=sid,
                        round=e.round,
                        extended_at=utc_text(e.extended_at),
                        jurisdiction=e.jurisdiction,
                        new_due_at=utc_text(e.new_due_at),
                    )
                )
                await tx.execute(
                    update(t.rounds)
                    .where(r.suggestion_id == sid, r.round == e.round, r.withdrawn_at.is_(None))
                    .values(due_at=utc_text(e.new_due_at))
                )
            case sg.SuggestionReplied():
                await self._replied(e, tx)
            case sg.SatisfactionEvaluated():
                await tx.execute(
                    t.evaluations.insert().values(
                        suggestion_id=sid,
                        round=e.round,
                        evaluated_at=utc_text(e.evaluated_at),
                        jurisdiction=e.jurisdiction,
                        lead_unit_id=e.lead_unit_id,
                        satisfaction=e.satisfaction,
                    )
                )
            case sg.PromiseCarriedOut():
                p = t.promises.c
                await tx.execute(
                    update(t.promises)
                    .where(p.suggestion_id == sid, p.round == e.round, p.superseded_at.is_(None))
                    .values(carried_out_on=e.carried_out_on.isoformat(), carried_out_at=utc_text(e.recorded_at))
                )
            case sg.UnsatisfiedJustified():
                found = await tx.execute(select(t.justified.c.suggestion_id).where(t.justified.c.suggestion_id == sid))
                if found.first() is None:
                    await tx.execute(
                        t.justified.insert().values(
                            suggestion_id=sid, jurisdiction=e.jurisdiction, justified_at=utc_text(e.justified_at)
                        )
                    )
            case sg.KeySupervisionSet():
                await self._set(tx, sid, key_supervision=True)
            case sg.SuggestionClosed():
                await self._set(tx, sid, closed_because=e.because, link=e.merged_into or e.escalated_to)
            case sg.CoSubmittersAdded():
                await self._co_submitters(e, when, tx)
        status = STATUS_OF.get(type(e))
        if status is not None:
            await self._status(tx, sid, status, when, env.sequence)

    async def _history(self, env: Envelope, sid: str, tx: AsyncConnection) -> None:
        data = {k: v for k, v in env.raw_data.items() if k not in HISTORY_DROP}
        await tx.execute(
            t.history.insert().values(
                suggestion_id=sid,
                sequence=env.sequence,
                type=env.type,
                occurred_at=utc_text(env.occurred_at),
                actor=env.actor.subject[:100],
                role=env.actor.role[:20],
                data=data,
            )
        )

    async def _submitted(self, env: Envelope, e: sg.SuggestionSubmitted, tx: AsyncConnection) -> None:
        on = self.local(e.submitted_at)
        ids = list(dict.fromkeys(e.deputy_ids))
        await tx.execute(
            t.suggestions.insert().values(
                suggestion_id=e.suggestion_id,
                jurisdiction=e.jurisdiction,
                title=e.title[:300],
                category=e.category[:100],
                source=e.source,
                source_id=e.source_id,
                deputy_ids=ids,
                submitted_at=utc_text(e.submitted_at),
                submitted_year=on.year,
                status="submitted",
                co_unit_ids=[],
                key_supervision=False,
            )
        )
        await tx.execute(
            t.statuses.insert().values(
                suggestion_id=e.suggestion_id,
                valid_from=utc_text(e.submitted_at),
                seq=env.sequence,
                jurisdiction=e.jurisdiction,
                submitted_year=on.year,
                status="submitted",
            )
        )
        if ids:
            await tx.execute(
                t.submitters.insert(),
                [
                    {
                        "suggestion_id": e.suggestion_id,
                        "deputy_id": d,
                        "submitted_on": on.isoformat(),
                        "known_at": utc_text(e.submitted_at),
                        "jurisdiction": e.jurisdiction,
                    }
                    for d in ids
                ],
            )

    async def _co_submitters(self, e: sg.CoSubmittersAdded, when: str, tx: AsyncConnection) -> None:
        row = (
            await tx.execute(
                select(t.suggestions.c.deputy_ids, t.suggestions.c.submitted_at).where(
                    t.suggestions.c.suggestion_id == e.suggestion_id
                )
            )
        ).first()
        if row is None:
            return
        ids = list(row[0])
        on = self.local(datetime.fromisoformat(row[1])).isoformat()
        for d in e.deputy_ids:
            if d in ids:
                continue
            ids.append(d)
            await tx.execute(
                t.submitters.insert().values(
                    suggestion_id=e.suggestion_id,
                    deputy_id=d,
                    submitted_on=on,
                    known_at=when,
                    jurisdiction=e.jurisdiction,
                )
            )
        await self._set(tx, e.suggestion_id, deputy_ids=ids)

    async def _replied(self, e: sg.SuggestionReplied, tx: AsyncConnection) -> None:
        sid, at = e.suggestion_id, utc_text(e.replied_at)
        r = t.rounds.c
        await tx.execute(
            update(t.rounds)
            .where(r.suggestion_id == sid, r.round == e.round, r.withdrawn_at.is_(None), r.replied_at.is_(None))
            .values(replied_at=at)
        )
        await tx.execute(
            t.replies.insert().values(
                suggestion_id=sid,
                round=e.round,
                replied_at=at,
                jurisdiction=e.jurisdiction,
                lead_unit_id=e.unit_id,
                result=e.result,
                consultation_modes=list(e.consultation_modes),
            )
        )
        p = t.promises.c
        # A later reply replaces a promise not yet carried out (as the aggregate does).
        await tx.execute(
            update(t.promises)
            .where(p.suggestion_id == sid, p.carried_out_on.is_(None), p.superseded_at.is_(None))
            .values(superseded_at=at)
        )
        if e.result == "B" and e.promised_by is not None:
            await tx.execute(
                t.promises.insert().values(
                    suggestion_id=sid,
                    round=e.round,
                    made_at=at,
                    jurisdiction=e.jurisdiction,
                    lead_unit_id=e.unit_id,
                    promised_by=e.promised_by.isoformat(),
                )
            )

    async def _set(self, tx: AsyncConnection, sid: str, **values: Any) -> None:
        await tx.execute(update(t.suggestions).where(t.suggestions.c.suggestion_id == sid).values(**values))

    async def _status(self, tx: AsyncConnection, sid: str, status: str, when: str, seq: int) -> None:
        s = t.statuses.c
        row = (
            await tx.execute(
                select(s.jurisdiction, s.submitted_year, s.status).where(s.suggestion_id == sid, s.valid_to.is_(None))
            )
        ).first()
        if row is None:
            return
        await self._set(tx, sid, status=status)
        if row[2] == status:
            return
        await tx.execute(update(t.statuses).where(s.suggestion_id == sid, s.valid_to.is_(None)).values(valid_to=when))
        await tx.execute(
            t.statuses.insert().values(
                suggestion_id=sid, valid_from=when, seq=seq, jurisdiction=row[0], submitted_year=row[1], status=status
            )
        )


class MeetingFacts(Projection):
    name: ClassVar[str] = "supervision-meetings"
    contexts: ClassVar[tuple[str, ...]] = ("meetings",)
    metadata: ClassVar[MetaData] = t.meeting_metadata
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
        e: Any = env.data
        m = t.meetings.c
        when = utc_text(env.occurred_at)
        match e:
            case mt.MeetingScheduled():
                await tx.execute(
                    t.meetings.insert().values(
                        meeting_id=e.meeting_id,
                        kind=e.kind,
                        body=e.body,
                        group_id=e.group_id,
                        title=e.title[:300],
                        starts_at=utc_text(e.starts_at),
                        ends_at=utc_text(e.ends_at),
                        scheduled_at=when,
                        joint_inspection_id=e.joint_inspection_id,
                    )
                )
            case mt.MeetingChanged():
                await tx.execute(
                    update(t.meetings)
                    .where(m.meeting_id == e.meeting_id)
                    .values(title=e.title[:300], starts_at=utc_text(e.starts_at), ends_at=utc_text(e.ends_at))
                )
                await tx.execute(
                    update(t.presence)
                    .where(t.presence.c.meeting_id == e.meeting_id)
                    .values(on_date=self.local(e.starts_at))
                )
            case mt.MeetingCancelled():
                await tx.execute(update(t.meetings).where(m.meeting_id == e.meeting_id).values(cancelled_at=when))
                await tx.execute(t.presence.delete().where(t.presence.c.meeting_id == e.meeting_id))
            case mt.MeetingConvened():
                await tx.execute(
                    update(t.meetings).where(m.meeting_id == e.meeting_id).values(convened_at=utc_text(e.convened_at))
                )
            case mt.MeetingAdjourned():
                await tx.execute(
                    update(t.meetings).where(m.meeting_id == e.meeting_id).values(adjourned_at=utc_text(e.adjourned_at))
                )
                for deputy_id in e.present_ids:
                    await self._presence(tx, e.meeting_id, deputy_id, "present", when)
            case mt.AttendanceRecorded():
                for status, ids in (("present", e.present), ("on_leave", e.on_leave), ("absent", e.absent)):
                    for deputy_id in ids:
                        await self._presence(tx, e.meeting_id, deputy_id, status, when)
            case mt.ReviewOpinionSent():
                await tx.execute(
                    t.review_opinions.insert().values(
                        review_opinion_id=e.review_opinion_id,
                        meeting_id=e.meeting_id,
                        body=e.body,
                        to_unit_id=e.to_unit_id,
                        content=e.content[:500],
                        sent_at=utc_text(e.sent_at),
                        due_at=utc_text(e.due_at),
                    )
                )
            case mt.ReviewOpinionAnswered():
                ro = t.review_opinions.c
                await tx.execute(
                    update(t.review_opinions)
                    .where(ro.review_opinion_id == e.review_opinion_id)
                    .values(answered_at=utc_text(e.answered_at))
                )
            case mt.JointInspectionLaunched():
                await tx.execute(
                    t.joint_inspections.insert().values(
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
                )
                if e.inspections:
                    await tx.execute(
                        t.joint_townships.insert(),
                        [
                            {
                                "joint_inspection_id": e.joint_inspection_id,
                                "township": i.township,
                                "meeting_id": i.meeting_id,
                            }
                            for i in e.inspections
                        ],
                    )
            case mt.InspectionFindingRecorded():
                await tx.execute(
                    t.findings.insert().values(
                        finding_id=e.finding_id,
                        joint_inspection_id=e.joint_inspection_id,
                        township=e.township,
                        description=e.description[:1000],
                        unit_id=e.unit_id,
                        recorded_at=utc_text(e.recorded_at),
                    )
                )

    async def _presence(self, tx: AsyncConnection, meeting_id: str, deputy_id: str, status: str, when: str) -> None:
        p = t.presence.c
        where = and_(p.meeting_id == meeting_id, p.deputy_id == deputy_id)
        if (await tx.execute(select(p.status).where(where))).first() is not None:
            await tx.execute(update(t.presence).where(where).values(status=status, known_at=when))
            return
        row = (
            await tx.execute(
                select(t.meetings.c.body, t.meetings.c.starts_at, t.meetings.c.cancelled_at).where(
                    t.meetings.c.meeting_id == meeting_id
                )
            )
        ).first()
        if row is None or row[2] is not None:
            return
        on = self.local(datetime.fromisoformat(row[1]))
        await tx.execute(
            t.presence.insert().values(
                meeting_id=meeting_id, deputy_id=deputy_id, body=row[0], on_date=on, status=status, known_at=when
            )
        )


class DutyFacts(Projection):
    name: ClassVar[str] = "supervision-duty"
    contexts: ClassVar[tuple[str, ...]] = ("deputies",)
    metadata: ClassVar[MetaData] = t.duty_metadata
    handles = ("DutyActivityRecorded",)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        e: Any = env.data
        await tx.execute(
            t.activities.insert().values(
                activity_id=e.activity_id,
                deputy_id=e.deputy_id,
                township=e.township,
                kind=e.kind,
                on_date=e.on.isoformat(),
                people_count=e.people_count,
                report_mode=e.report_mode,
                known_at=utc_text(env.occurred_at),
            )
        )
