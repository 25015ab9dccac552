"""The duty records behind the dossiers (履职档案): facts from three contexts, per deputy.

- deputies: duty activities as recorded;
- meetings: who was invited to which meeting (on its local date), attendance as recorded
  (present / on leave / absent; ``invited`` until recorded), speeches;
- suggestions: each suggestion with its submitters (lead first, co-submitters after), whether it
  is assigned, the latest reply's result and whether a B promise was carried out; constituents'
  opinions a deputy brought in.

Only facts: the dossier figures (六个一, rates, inactivity) are computed by ``libs/figures/duty.py``
and ``libs/figures/township_duty.py`` when read. Streams are applied independently, so no table here
depends on another stream's rows. Dates are local dates in ``RENDA_TIMEZONE``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.db.bulk import insert_rows
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.events.projection.rows import Rows
from services.deputies.events import DutyActivityRecorded
from services.deputies.projections.columns import Instant
from services.meetings.events import (
    AttendanceRecorded,
    MeetingAdjourned,
    MeetingCancelled,
    MeetingChanged,
    MeetingScheduled,
    SpeechRecorded,
)
from services.suggestions.events import (
    ConstituentOpinionRecorded,
    CoSubmittersAdded,
    PromiseCarriedOut,
    SuggestionAssigned,
    SuggestionClosed,
    SuggestionReplied,
    SuggestionReturned,
    SuggestionSubmitted,
)

dossier_metadata = MetaData()
activities = Table(
    "deputies_activities",
    dossier_metadata,
    # A key in the order of recording: 4.1 M activities of a city inserted by their random ids
    # missed SQLite's page cache on nearly every row (bench.replay_scale); the id's own unique index
    # is one of the deferred ones, built sorted after a replay.
    Column("row_id", Integer, primary_key=True),
    Column("activity_id", String(64), nullable=False),
    Column("deputy_id", String(64), nullable=False, index=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("on_date", Date, nullable=False, index=True),
    Column("summary", Text, nullable=False, default=""),
    Column("people_count", Integer, nullable=False, default=0),
    Column("report_mode", String(10), nullable=True),
    Column("level", String(12), nullable=False),
    Column("congress", String(12), nullable=False),
    Column("township", String(12), nullable=True, index=True),
    Column("recorded_by", String(20), nullable=False),  # the recorder's role: deputy or staff
    Column("recorded_at", Instant(), nullable=False),
    Index("ux_deputies_activities_activity_id", "activity_id", unique=True),
)
meetings = Table(
    "deputies_dossier_meetings",
    dossier_metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("body", String(12), nullable=False),
    Column("on_date", Date, nullable=False),
    Column("group_id", String(64), nullable=True),
    Column("status", String(12), nullable=False),  # scheduled, adjourned, cancelled
)
attendance = Table(
    "deputies_dossier_attendance",
    dossier_metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("deputy_id", String(64), primary_key=True),
    Column("on_date", Date, nullable=False, index=True),
    Column("kind", String(30), nullable=False),
    Column("status", String(10), nullable=False),  # invited (not yet recorded), present, on_leave, absent
    Column("speeches", Integer, nullable=False, default=0),
)
suggestions = Table(
    "deputies_dossier_suggestions",
    dossier_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False),
    Column("submitted_on", Date, nullable=False),
    Column("deputy_ids", JSON, nullable=False),  # lead first
    Column("source", String(30), nullable=False),
    Column("assigned", Boolean, nullable=False, default=False),
    Column("result", String(1), nullable=True),  # the latest reply's
    Column("promise_carried_out", Boolean, nullable=False, default=False),
    Column("closed_because", String(20), nullable=True),
)
submitters = Table(
    "deputies_dossier_submitters",
    dossier_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("deputy_id", String(64), primary_key=True),
    Column("position", Integer, nullable=False),  # 0: the lead
    Column("submitted_on", Date, nullable=False, index=True),
)
opinions = Table(
    "deputies_dossier_opinions",
    dossier_metadata,
    Column("opinion_id", String(64), primary_key=True),
    Column("deputy_id", String(64), nullable=False, index=True),
    Column("on_date", Date, nullable=False),
    Column("people_count", Integer, nullable=False, default=0),
)


INSERT_ACTIVITY = activities.insert()  # built once: ``.values()`` per event costs more than the insert
INSERT_ATTENDANCE = attendance.insert()
SET_ATTENDANCE = (
    attendance.update()
    .where(attendance.c.meeting_id == bindparam("m"), attendance.c.deputy_id == bindparam("d"))
    .values(status=bindparam("s"))
)


def activity_row(e: DutyActivityRecorded, env: Envelope) -> dict[str, Any]:
    return {
        "activity_id": e.activity_id,
        "deputy_id": e.deputy_id,
        "jurisdiction": env.jurisdiction,
        "kind": e.kind,
        "on_date": e.on,
        "summary": e.summary,
        "people_count": e.people_count,
        "report_mode": e.report_mode,
        "level": e.level,
        "congress": e.congress,
        "township": e.township,
        "recorded_by": env.actor.role,
        "recorded_at": env.occurred_at,
    }


_SUGGESTION_EVENTS = (  # kept in the batch's rows (``_SuggestionRows``)
    SuggestionSubmitted,
    CoSubmittersAdded,
    SuggestionAssigned,
    SuggestionReturned,
    SuggestionReplied,
    PromiseCarriedOut,
    SuggestionClosed,
)


class DutyRecords(Projection):
    name: ClassVar[str] = "deputies-dossier"
    contexts: ClassVar[tuple[str, ...]] = ("deputies", "meetings", "suggestions")
    metadata: ClassVar[MetaData] = dossier_metadata
    handles = (
        DutyActivityRecorded,
        MeetingScheduled,
        MeetingChanged,
        MeetingCancelled,
        AttendanceRecorded,
        SpeechRecorded,
        MeetingAdjourned,
        *_SUGGESTION_EVENTS,
        ConstituentOpinionRecorded,
    )

    # apply never reads activities: their indexes serve the dossier's and the lists' queries
    deferred_indexes: ClassVar[tuple[str, ...]] = tuple(sorted(ix.name for ix in activities.indexes if ix.name))

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def local(self, t: datetime) -> date:
        return t.astimezone(self.tz).date()

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        """Duty activities (most of the deputies stream) as one executemany per run; the suggestions'
        rows held for the batch (``Rows``: one read, one executemany per kind of change); the rest
        one by one."""
        run: list[dict[str, Any]] = []
        held = _SuggestionRows()
        await held.load(tx, [env.data for env in envs if isinstance(env.data, CoSubmittersAdded)])
        for env in envs:
            if isinstance(env.data, DutyActivityRecorded):
                run.append(activity_row(env.data, env))
                continue
            if run:
                await insert_rows(tx, activities, run)
                run = []
            if isinstance(env.data, _SUGGESTION_EVENTS):
                held.apply(env.data, self.local)
            else:
                await self.apply(env, tx)
        if run:
            await insert_rows(tx, activities, run)
        await held.flush(tx)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        match env.data:
            case DutyActivityRecorded() as e:
                await tx.execute(INSERT_ACTIVITY, activity_row(e, env))
            case (
                MeetingScheduled()
                | MeetingChanged()
                | MeetingCancelled()
                | AttendanceRecorded()
                | SpeechRecorded()
                | MeetingAdjourned()
            ):
                await self._meeting(env.data, tx)
            case ConstituentOpinionRecorded() as e:
                await tx.execute(
                    opinions.insert().values(
                        opinion_id=e.opinion_id, deputy_id=e.deputy_id, on_date=e.on, people_count=e.people_count
                    )
                )
            case _:
                await self._suggestion(env.data, tx)

    # -- meetings ---------------------------------------------------------------------------------
    async def _meeting(self, e: Any, tx: AsyncConnection) -> None:
        m = meetings.c
        match e:
            case MeetingScheduled():
                on = self.local(e.starts_at)
                await tx.execute(
                    meetings.insert().values(
                        meeting_id=e.meeting_id,
                        kind=e.kind,
                        body=e.body,
                        on_date=on,
                        group_id=e.group_id,
                        status="scheduled",
                    )
                )
                invited = [
                    dict(meeting_id=e.meeting_id, deputy_id=d, on_date=on, kind=e.kind, status="invited", speeches=0)
                    for d in dict.fromkeys(e.invitee_ids)
                ]
                if invited:
                    await tx.execute(INSERT_ATTENDANCE, invited)
            case MeetingChanged():
                on = self.local(e.starts_at)
                await tx.execute(meetings.update().where(m.meeting_id == e.meeting_id).values(on_date=on))
                await tx.execute(attendance.update().where(attendance.c.meeting_id == e.meeting_id).values(on_date=on))
                if e.removed_invitee_ids:
                    await tx.execute(
                        attendance.delete().where(
                            attendance.c.meeting_id == e.meeting_id,
                            attendance.c.deputy_id.in_(list(e.removed_invitee_ids)),
                        )
                    )
                await self._set_statuses(tx, e.meeting_id, [(d, None) for d in e.added_invitee_ids])
            case MeetingCancelled():
                await tx.execute(meetings.update().where(m.meeting_id == e.meeting_id).values(status="cancelled"))
                await tx.execute(attendance.delete().where(attendance.c.meeting_id == e.meeting_id))
            case AttendanceRecorded():
                marks = (("present", e.present), ("on_leave", e.on_leave), ("absent", e.absent))
                await self._set_statuses(tx, e.meeting_id, [(d, status) for status, ids in marks for d in ids])
            case SpeechRecorded():
                await tx.execute(
                    attendance.update()
                    .where(attendance.c.meeting_id == e.meeting_id, attendance.c.deputy_id == e.speaker_id)
                    .values(speeches=attendance.c.speeches + 1)
                )
            case MeetingAdjourned():
                await tx.execute(meetings.update().where(m.meeting_id == e.meeting_id).values(status="adjourned"))
                await self._set_statuses(tx, e.meeting_id, [(d, "present") for d in e.present_ids])

    async def _set_statuses(self, tx: AsyncConnection, meeting_id: str, marks: list[tuple[str, str | None]]) -> None:
        """Set people's attendance at one meeting, in order (status ``None``: invited, keep any recorded one).

        A person without a row gets one, unless the meeting is unknown or cancelled. One read of
        the meeting's rows and two executemany, whatever the number of people (was two
        statements a person: most of a county's replay of this read model).
        """
        if not marks:
            return
        a = attendance.c
        held = set((await tx.execute(select(a.deputy_id).where(a.meeting_id == meeting_id))).scalars())
        changed: dict[str, str] = {}
        added: dict[str, str] = {}
        meeting: Any = None
        for deputy_id, status in marks:
            if deputy_id in held:
                if status is not None:
                    changed[deputy_id] = status
            elif deputy_id in added:
                if status is not None:
                    added[deputy_id] = status
            else:
                if meeting is None:
                    found = await tx.execute(select(meetings).where(meetings.c.meeting_id == meeting_id))
                    meeting = found.mappings().first() or {"status": "cancelled"}  # unknown: no rows
                if meeting["status"] != "cancelled":
                    added[deputy_id] = status or "invited"
        if changed:
            await tx.execute(SET_ATTENDANCE, [{"m": meeting_id, "d": d, "s": st} for d, st in changed.items()])
        if added:
            rows = [
                {
                    "meeting_id": meeting_id,
                    "deputy_id": d,
                    "on_date": meeting["on_date"],
                    "kind": meeting["kind"],
                    "status": st,
                    "speeches": 0,
                }
                for d, st in added.items()
            ]
            await tx.execute(INSERT_ATTENDANCE, rows)

    # -- suggestions ------------------------------------------------------------------------------
    async def _suggestion(self, e: Any, tx: AsyncConnection) -> None:
        held = _SuggestionRows()
        await held.load(tx, [e] if isinstance(e, CoSubmittersAdded) else [])
        held.apply(e, self.local)
        await held.flush(tx)


class _SuggestionRows:
    """A batch's changes to the suggestions and their submitters, in order, written at the end."""

    def __init__(self) -> None:
        self.suggestions = Rows(suggestions)
        self.submitters = Rows(submitters)

    async def load(self, tx: AsyncConnection, added: list[CoSubmittersAdded]) -> None:
        """The rows co-submitters are added to (their list and date are read)."""
        await self.suggestions.load(tx, "suggestion_id", {e.suggestion_id for e in added})

    def apply(self, e: Any, local: Callable[[datetime], date]) -> None:
        key = (e.suggestion_id,)
        match e:
            case SuggestionSubmitted():
                on = local(e.submitted_at)
                ids = list(dict.fromkeys(e.deputy_ids))
                self.suggestions.add(
                    suggestion_id=e.suggestion_id,
                    jurisdiction=e.jurisdiction,
                    submitted_on=on,
                    deputy_ids=ids,
                    source=e.source,
                    assigned=False,
                    result=None,
                    promise_carried_out=False,
                    closed_because=None,
                )
                for position, deputy_id in enumerate(ids):
                    self.submitters.add(
                        suggestion_id=e.suggestion_id, deputy_id=deputy_id, position=position, submitted_on=on
                    )
            case CoSubmittersAdded():
                row = self.suggestions.get(*key)
                if row is None:
                    return
                ids = list(row["deputy_ids"])
                for deputy_id in e.deputy_ids:
                    if deputy_id in ids:
                        continue
                    self.submitters.add(
                        suggestion_id=e.suggestion_id,
                        deputy_id=deputy_id,
                        position=len(ids),
                        submitted_on=row["submitted_on"],
                    )
                    ids.append(deputy_id)
                self.suggestions.set(row, deputy_ids=ids)
            case SuggestionAssigned():
                self.suggestions.set_by_key(key, assigned=True)
            case SuggestionReturned():
                self.suggestions.set_by_key(key, assigned=False)
            case SuggestionReplied():
                self.suggestions.set_by_key(key, result=e.result)
            case PromiseCarriedOut():
                self.suggestions.set_by_key(key, promise_carried_out=True)
            case SuggestionClosed():
                self.suggestions.set_by_key(key, closed_because=e.because)

    async def flush(self, tx: AsyncConnection) -> None:
        await self.suggestions.flush(tx)
        await self.submitters.flush(tx)
