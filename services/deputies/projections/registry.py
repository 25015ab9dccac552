"""Read models of the deputies context: the jurisdiction tree and the registry.

The registry holds facts as the events state them: deputies (with the phone, shown only to
staff of their jurisdiction), deputy groups, the current presidium of each township, liaison
stations and fixed contacts. Duty records and dossiers are in ``projections/dossier.py``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, Column, Date, Integer, MetaData, String, Table, Text
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from services.deputies.events import (
    ContactRecorded,
    DeputyContactChanged,
    DeputyGroupChanged,
    DeputyGroupFormed,
    DeputyQualificationConfirmed,
    DeputyRegistered,
    DeputyTerminated,
    JurisdictionRegistered,
    LiaisonStationRegistered,
    LiaisonStationUpdated,
    PresidiumFormed,
)
from services.deputies.projections.columns import Instant

tree_metadata = MetaData()
jurisdictions = Table(
    "deputies_jurisdictions",
    tree_metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("parent", String(12), nullable=True, index=True),
)


class JurisdictionTree(Projection):
    name: ClassVar[str] = "deputies-jurisdictions"
    contexts: ClassVar[tuple[str, ...]] = ("deputies",)
    metadata: ClassVar[MetaData] = tree_metadata
    handles = (JurisdictionRegistered,)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        match env.data:
            case JurisdictionRegistered() as e:
                await tx.execute(jurisdictions.insert().values(code=e.code, name=e.name, kind=e.kind, parent=e.parent))


registry_metadata = MetaData()
deputies = Table(
    "deputies_deputies",
    registry_metadata,
    Column("deputy_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),  # where the record lives
    Column("name", String(100), nullable=False),
    Column("gender", String(10), nullable=False),
    Column("level", String(12), nullable=False),
    Column("congress", String(12), nullable=False, index=True),
    Column("township", String(12), nullable=True, index=True),
    Column("constituency", String(200), nullable=False),
    Column("term", Integer, nullable=False),
    Column("sector", String(100), nullable=False, default=""),
    Column("phone", String(40), nullable=True),  # personal data: staff of the jurisdiction only
    Column("by_election", Boolean, nullable=False, default=False),
    Column("elected_on", Date, nullable=True),
    Column("qualification_confirmed_on", Date, nullable=True),
    Column("terminated_on", Date, nullable=True),
    Column("termination_reason", String(20), nullable=True),
    Column("termination_note", Text, nullable=True),
    Column("registered_at", Instant(), nullable=False),
)
groups = Table(
    "deputies_groups",
    registry_metadata,
    Column("group_id", String(64), primary_key=True),
    Column("township", String(12), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("leader_ids", JSON, nullable=False),
    Column("member_ids", JSON, nullable=False),
    Column("central", Boolean, nullable=False, default=False),
    Column("formed_at", Instant(), nullable=False),
    Column("changed_at", Instant(), nullable=False),
)
presidiums = Table(
    "deputies_presidiums",
    registry_metadata,
    Column("township", String(12), primary_key=True),  # the current composition only
    Column("member_ids", JSON, nullable=False),
    Column("chair_id", String(64), nullable=False),
    Column("formed_on", Date, nullable=False),
    Column("formations", Integer, nullable=False, default=1),
)
stations = Table(
    "deputies_stations",
    registry_metadata,
    Column("station_id", String(64), primary_key=True),
    Column("township", String(12), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("address", String(300), nullable=False, default=""),
    Column("six_haves", JSON, nullable=False),
    Column("reception_days", JSON, nullable=False),
    Column("registered_at", Instant(), nullable=False),
)
contacts = Table(
    "deputies_contacts",
    registry_metadata,
    Column("contact_id", String(64), primary_key=True),
    Column("deputy_id", String(64), nullable=False, index=True),
    Column("township", String(12), nullable=True, index=True),
    Column("kind", String(20), nullable=False),
    Column("contact_deputy_id", String(64), nullable=True),
    Column("constituent_name", String(100), nullable=True),  # personal data: never shown in lists
    Column("village", String(200), nullable=True),
    Column("contacted_on", Date, nullable=False),
)


class DeputyRegistry(Projection):
    name: ClassVar[str] = "deputies-registry"
    contexts: ClassVar[tuple[str, ...]] = ("deputies",)
    metadata: ClassVar[MetaData] = registry_metadata
    handles = (
        DeputyRegistered,
        DeputyTerminated,
        DeputyQualificationConfirmed,
        DeputyContactChanged,
        DeputyGroupFormed,
        DeputyGroupChanged,
        PresidiumFormed,
        LiaisonStationRegistered,
        LiaisonStationUpdated,
        ContactRecorded,
    )

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        match env.data:
            case DeputyRegistered() as e:
                await tx.execute(
                    deputies.insert().values(
                        deputy_id=e.deputy_id,
                        jurisdiction=env.jurisdiction,
                        name=e.name,
                        gender=e.gender,
                        level=e.level,
                        congress=e.congress,
                        township=e.township,
                        constituency=e.constituency,
                        term=e.term,
                        sector=e.sector,
                        phone=e.phone,
                        by_election=e.by_election,
                        elected_on=e.elected_on,
                        registered_at=env.occurred_at,
                    )
                )
            case DeputyTerminated() as e:
                await tx.execute(
                    deputies.update()
                    .where(deputies.c.deputy_id == e.deputy_id)
                    .values(terminated_on=e.effective_on, termination_reason=e.reason, termination_note=e.reason_text)
                )
            case DeputyContactChanged() as e:
                changed = {k: v for k, v in (("phone", e.phone), ("sector", e.sector)) if v is not None}
                await tx.execute(deputies.update().where(deputies.c.deputy_id == e.deputy_id).values(**changed))
            case DeputyQualificationConfirmed() as e:
                await tx.execute(
                    deputies.update()
                    .where(deputies.c.deputy_id == e.deputy_id)
                    .values(qualification_confirmed_on=e.confirmed_on)
                )
            case DeputyGroupFormed() as e:
                await tx.execute(
                    groups.insert().values(**_group(e), formed_at=env.occurred_at, changed_at=env.occurred_at)
                )
            case DeputyGroupChanged() as e:
                await tx.execute(
                    groups.update()
                    .where(groups.c.group_id == e.group_id)
                    .values(**_group(e), changed_at=env.occurred_at)
                )
            case PresidiumFormed() as e:
                await self._presidium(e, tx)
            case LiaisonStationRegistered() as e:
                await tx.execute(stations.insert().values(**_station(e), registered_at=env.occurred_at))
            case LiaisonStationUpdated() as e:
                await tx.execute(stations.update().where(stations.c.station_id == e.station_id).values(**_station(e)))
            case ContactRecorded() as e:
                await tx.execute(
                    contacts.insert().values(
                        contact_id=e.contact_id,
                        deputy_id=e.deputy_id,
                        township=e.township,
                        kind=e.kind,
                        contact_deputy_id=e.contact_deputy_id,
                        constituent_name=e.constituent_name,
                        village=e.village,
                        contacted_on=e.on,
                    )
                )

    async def _presidium(self, e: PresidiumFormed, tx: AsyncConnection) -> None:
        found = (await tx.execute(presidiums.select().where(presidiums.c.township == e.township))).mappings().first()
        values = {"member_ids": list(e.member_ids), "chair_id": e.chair_id, "formed_on": e.formed_on}
        if found is None:
            await tx.execute(presidiums.insert().values(township=e.township, formations=1, **values))
        else:
            await tx.execute(
                presidiums.update()
                .where(presidiums.c.township == e.township)
                .values(formations=found["formations"] + 1, **values)
            )


def _group(e: DeputyGroupFormed | DeputyGroupChanged) -> dict[str, Any]:
    return {
        "group_id": e.group_id,
        "township": e.township,
        "name": e.name,
        "leader_ids": list(e.leader_ids),
        "member_ids": list(e.member_ids),
        "central": e.central,
    }


def _station(e: LiaisonStationRegistered | LiaisonStationUpdated) -> dict[str, Any]:
    return {
        "station_id": e.station_id,
        "township": e.township,
        "name": e.name,
        "address": e.address,
        "six_haves": e.six_haves.model_dump(),
        "reception_days": list(e.reception_days),
    }
