"""``SuggestionFacts``: the suggestions stream into the supervision read models.

Units; each suggestion with its status history (valid-from / valid-to rows), its rounds,
extensions, replies, evaluations, B promises and justified marks (the records of
``libs/figures/rates.py``), its submitters and its history. Only facts with their times: figures
are counted when read, by ``libs/figures``, as of any moment.

A batch is applied in memory (``rows.Rows``): the rows its events change are read once, the
events applied in order, and every table written with one executemany (``apply_many``); one
event is a batch of one, so there is a single way of applying.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

import services.deputies.events  # noqa: F401  (the types register for decoding)
import services.suggestions.events as sg
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.events.projection.rows import Rows
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


class _Batch:
    """The rows one batch reads and writes."""

    def __init__(self) -> None:
        self.units = Rows(t.units)
        self.suggestions = Rows(t.suggestions)
        self.statuses = Rows(t.statuses, group="suggestion_id")
        self.rounds = Rows(t.rounds, group="suggestion_id")
        self.extensions = Rows(t.extensions)
        self.replies = Rows(t.replies)
        self.evaluations = Rows(t.evaluations)
        self.promises = Rows(t.promises, group="suggestion_id")
        self.justified = Rows(t.justified)
        self.history = Rows(t.history)
        self.submitters = Rows(t.submitters)

    async def load(self, tx: AsyncConnection, envs: list[Envelope]) -> None:
        """Read once what the batch's events change of suggestions submitted before the batch."""
        born = {e.suggestion_id for env in envs if isinstance(e := env.data, sg.SuggestionSubmitted)}
        older: dict[str, set[str]] = {}
        for env in envs:
            sid = getattr(env.data, "suggestion_id", None)
            if sid is not None and sid not in born:
                older.setdefault(type(env.data).__name__, set()).add(sid)
        if not older:
            return

        def of(*types: type) -> set[str]:
            return set().union(*(older.get(x.__name__, set()) for x in types))

        await self.statuses.load(tx, "suggestion_id", of(*STATUS_OF), t.statuses.c.valid_to.is_(None))
        await self.rounds.load(
            tx, "suggestion_id", of(sg.SuggestionReturned, sg.DeadlineExtended, sg.SuggestionReplied)
        )
        await self.promises.load(
            tx, "suggestion_id", of(sg.SuggestionReplied, sg.PromiseCarriedOut), t.promises.c.superseded_at.is_(None)
        )
        await self.justified.load(tx, "suggestion_id", of(sg.UnsatisfiedJustified))
        await self.suggestions.load(tx, "suggestion_id", of(sg.CoSubmittersAdded))

    async def flush(self, tx: AsyncConnection) -> None:
        for rows in vars(self).values():
            await rows.flush(tx)


class SuggestionFacts(Projection):
    name: ClassVar[str] = "supervision-suggestions"
    contexts: ClassVar[tuple[str, ...]] = ("suggestions",)
    metadata: ClassVar[MetaData] = t.suggestion_metadata
    version: ClassVar[int] = 2  # v2: applied in bulk; covering indexes; when things became known
    handles = ()  # every suggestion event goes into the history

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def local(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

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
        if isinstance(e, sg.OrganizerUnitRegistered):
            b.units.add(
                unit_id=e.unit_id,
                jurisdiction=e.jurisdiction,
                name=e.name,
                kind=e.kind,
                head=e.head,
                deputy_head=e.deputy_head,
                known_at=utc_text(env.occurred_at),
            )
            return
        sid = getattr(e, "suggestion_id", None)
        if sid is None or not hasattr(e, "jurisdiction"):
            return  # constituents' opinions: not part of this view
        data = {k: v for k, v in env.raw_data.items() if k not in HISTORY_DROP}
        b.history.add(
            suggestion_id=sid,
            sequence=env.sequence,
            type=env.type,
            occurred_at=utc_text(env.occurred_at),
            actor=env.actor.subject[:100],
            role=env.actor.role[:20],
            data=data,
        )
        when = utc_text(env.occurred_at)
        match e:
            case sg.SuggestionSubmitted():
                self._submitted(b, env, e)
            case sg.SuggestionAssigned() | sg.RehandlingStarted():
                opened = e.assigned_at if isinstance(e, sg.SuggestionAssigned) else e.started_at
                b.rounds.add(
                    suggestion_id=sid,
                    round=e.round,
                    opened_at=utc_text(opened),
                    jurisdiction=e.jurisdiction,
                    lead_unit_id=e.lead_unit_id,
                    first_due_at=utc_text(e.due_at),
                    due_at=utc_text(e.due_at),
                    replied_at=None,
                    withdrawn_at=None,
                )
                if isinstance(e, sg.SuggestionAssigned):
                    b.suggestions.set_by_key(
                        (sid,),
                        lead_unit_id=e.lead_unit_id,
                        co_unit_ids=list(e.co_unit_ids),
                        complexity=e.complexity,
                        responsible_leader=e.responsible_leader,
                        assigned_at=utc_text(e.assigned_at),
                    )
            case sg.SuggestionReturned():
                for r in self._open_rounds(b, sid, e.round):
                    b.rounds.set(r, withdrawn_at=utc_text(e.returned_at))
                b.suggestions.set_by_key((sid,), lead_unit_id=None, co_unit_ids=[])
            case sg.DeadlineExtended():
                b.extensions.add(
                    suggestion_id=sid,
                    round=e.round,
                    extended_at=utc_text(e.extended_at),
                    jurisdiction=e.jurisdiction,
                    new_due_at=utc_text(e.new_due_at),
                )
                for r in self._open_rounds(b, sid, e.round):
                    b.rounds.set(r, due_at=utc_text(e.new_due_at))
            case sg.SuggestionReplied():
                self._replied(b, e)
            case sg.SatisfactionEvaluated():
                b.evaluations.add(
                    suggestion_id=sid,
                    round=e.round,
                    evaluated_at=utc_text(e.evaluated_at),
                    jurisdiction=e.jurisdiction,
                    lead_unit_id=e.lead_unit_id,
                    satisfaction=e.satisfaction,
                )
            case sg.PromiseCarriedOut():
                for p in b.promises.of(sid):
                    if p["round"] == e.round and p["superseded_at"] is None:
                        b.promises.set(
                            p, carried_out_on=e.carried_out_on.isoformat(), carried_out_at=utc_text(e.recorded_at)
                        )
            case sg.UnsatisfiedJustified():
                if b.justified.get(sid) is None:
                    b.justified.add(
                        suggestion_id=sid, jurisdiction=e.jurisdiction, justified_at=utc_text(e.justified_at)
                    )
            case sg.KeySupervisionSet():
                b.suggestions.set_by_key((sid,), key_supervision=True)
            case sg.SuggestionClosed():
                b.suggestions.set_by_key((sid,), closed_because=e.because, link=e.merged_into or e.escalated_to)
            case sg.CoSubmittersAdded():
                self._co_submitters(b, e, when)
        status = STATUS_OF.get(type(e))
        if status is not None:
            self._status(b, sid, status, when, env.sequence)

    @staticmethod
    def _open_rounds(b: _Batch, sid: str, round_: int) -> list[dict[str, Any]]:
        return [r for r in b.rounds.of(sid) if r["round"] == round_ and r["withdrawn_at"] is None]

    def _submitted(self, b: _Batch, env: Envelope, e: sg.SuggestionSubmitted) -> None:
        on = self.local(e.submitted_at)
        ids = list(dict.fromkeys(e.deputy_ids))
        b.suggestions.add(
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
            lead_unit_id=None,
            co_unit_ids=[],
            complexity=None,
            responsible_leader=None,
            assigned_at=None,
            key_supervision=False,
            closed_because=None,
            link=None,
        )
        b.statuses.add(
            suggestion_id=e.suggestion_id,
            valid_from=utc_text(e.submitted_at),
            seq=env.sequence,
            jurisdiction=e.jurisdiction,
            submitted_year=on.year,
            status="submitted",
            valid_to=None,
        )
        for d in ids:
            self._submitter(b, e.suggestion_id, d, on.isoformat(), utc_text(e.submitted_at), e.jurisdiction)

    @staticmethod
    def _submitter(b: _Batch, sid: str, deputy_id: str, on: str, known_at: str, jurisdiction: str) -> None:
        b.submitters.add(
            suggestion_id=sid, deputy_id=deputy_id, submitted_on=on, known_at=known_at, jurisdiction=jurisdiction
        )

    def _co_submitters(self, b: _Batch, e: sg.CoSubmittersAdded, when: str) -> None:
        row = b.suggestions.get(e.suggestion_id)
        if row is None:
            return
        ids = list(row["deputy_ids"])
        on = self.local(datetime.fromisoformat(row["submitted_at"])).isoformat()
        for d in e.deputy_ids:
            if d in ids:
                continue
            ids.append(d)
            self._submitter(b, e.suggestion_id, d, on, when, e.jurisdiction)
        b.suggestions.set(row, deputy_ids=ids)

    @staticmethod
    def _replied(b: _Batch, e: sg.SuggestionReplied) -> None:
        sid, at = e.suggestion_id, utc_text(e.replied_at)
        for r in SuggestionFacts._open_rounds(b, sid, e.round):
            if r["replied_at"] is None:
                b.rounds.set(r, replied_at=at)
        b.replies.add(
            suggestion_id=sid,
            round=e.round,
            replied_at=at,
            jurisdiction=e.jurisdiction,
            lead_unit_id=e.unit_id,
            result=e.result,
            consultation_modes=list(e.consultation_modes),
        )
        # A later reply replaces a promise not yet carried out (as the aggregate does).
        for p in b.promises.of(sid):
            if p["carried_out_on"] is None and p["superseded_at"] is None:
                b.promises.set(p, superseded_at=at)
        if e.result == "B" and e.promised_by is not None:
            b.promises.add(
                suggestion_id=sid,
                round=e.round,
                made_at=at,
                jurisdiction=e.jurisdiction,
                lead_unit_id=e.unit_id,
                promised_by=e.promised_by.isoformat(),
                carried_out_on=None,
                carried_out_at=None,
                superseded_at=None,
            )

    @staticmethod
    def _status(b: _Batch, sid: str, status: str, when: str, seq: int) -> None:
        open_rows = [r for r in b.statuses.of(sid) if r["valid_to"] is None]
        if not open_rows:
            return
        row = open_rows[0]
        b.suggestions.set_by_key((sid,), status=status)
        if row["status"] == status:
            return
        b.statuses.set(row, valid_to=when)
        b.statuses.add(
            suggestion_id=sid,
            valid_from=when,
            seq=seq,
            jurisdiction=row["jurisdiction"],
            submitted_year=row["submitted_year"],
            status=status,
            valid_to=None,
        )
