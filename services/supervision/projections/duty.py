"""``DutyFacts``: the deputies stream into the supervision read models.

Duty activities, and when each jurisdiction, deputy and group became known (and when a
termination was recorded), so a view as of a past day shows only what was known then. The
deputies' facts themselves come from ``libs/reference/deputies.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.db.bulk import insert_rows
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.events.projection.rows import Rows
from services.deputies.events import DeputyTerminated
from services.supervision import tables as t
from services.supervision.tables import utc_text


class DutyFacts(Projection):
    name: ClassVar[str] = "supervision-duty"
    contexts: ClassVar[tuple[str, ...]] = ("deputies",)
    metadata: ClassVar[MetaData] = t.duty_metadata
    version: ClassVar[int] = 2  # v2: applied in bulk; covering indexes; when things became known
    handles = (
        "DutyActivityRecorded",
        "JurisdictionRegistered",
        "DeputyRegistered",
        "DeputyTerminated",
        "DeputyGroupFormed",
    )
    # apply only inserts activities: their indexes serve the view's queries
    deferred_indexes: ClassVar[tuple[str, ...]] = tuple(sorted(ix.name for ix in t.activities.indexes if ix.name))

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        await self.apply_many([env], tx)

    async def apply_many(self, envs: list[Envelope], tx: AsyncConnection) -> None:
        activities: list[dict[str, Any]] = []  # only inserted, in the order of recording
        known = Rows(t.known)
        ended: set[str] = {t_.deputy_id for env in envs if isinstance(t_ := env.data, DeputyTerminated)}
        await known.load(tx, "id", ended, t.known.c.kind == "deputy")
        for env in envs:
            e: Any = env.data
            when = utc_text(env.occurred_at)
            match env.type:
                case "DutyActivityRecorded":
                    activities.append(
                        {
                            "activity_id": e.activity_id,
                            "deputy_id": e.deputy_id,
                            "township": e.township,
                            "kind": e.kind,
                            "on_date": e.on.isoformat(),
                            "people_count": e.people_count,
                            "report_mode": e.report_mode,
                            "known_at": when,
                        }
                    )
                case "JurisdictionRegistered":
                    self._known(known, "jurisdiction", e.code, when)
                case "DeputyRegistered":
                    self._known(known, "deputy", e.deputy_id, when)
                case "DeputyGroupFormed":
                    self._known(known, "group", e.group_id, when)
                case "DeputyTerminated":
                    row = known.get("deputy", e.deputy_id)
                    if row is not None and row["ended_at"] is None:
                        known.set(row, ended_at=when, ended_on=e.effective_on.isoformat())
        await insert_rows(tx, t.activities, activities)
        await known.flush(tx)

    @staticmethod
    def _known(known: Rows, kind: str, id_: str, when: str) -> None:
        if known.get(kind, id_) is None:
            known.add(kind=kind, id=id_, known_at=when, ended_at=None, ended_on=None)
