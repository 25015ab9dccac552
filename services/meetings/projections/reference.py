"""Other contexts' facts this service keeps in its own tables, built from their published events.

- The deputies' facts (jurisdictions, deputies elected / terminated, presidium compositions and
  groups): quorum, attendance and invitees are checked against these as of the meeting date.
- The suggestions context's organizer units (``OrganizerUnitRegistered``): a review opinion's
  ``to_unit_id`` and a finding's ``unit_id`` must name a registered unit the caller may see.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

import services.deputies.events  # noqa: F401  (the deputies' published types decode in this service)
import services.suggestions.events as sug  # the suggestions' published types (units)
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.reference.deputies import reference_projection

reference, ref = reference_projection("meetings")

units_metadata = MetaData()
units = Table(
    "meetings_units",
    units_metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("name", String(200), nullable=False),
)


class OrganizerUnits(Projection):
    """Registered organizer units: id, jurisdiction, name (nothing else of the unit is needed here)."""

    name: ClassVar[str] = "meetings-units"
    contexts: ClassVar[tuple[str, ...]] = ("suggestions",)
    metadata: ClassVar[MetaData] = units_metadata
    handles = (sug.OrganizerUnitRegistered,)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        e: Any = env.data
        if isinstance(e, sug.OrganizerUnitRegistered):
            await tx.execute(units.delete().where(units.c.unit_id == e.unit_id))
            await tx.execute(units.insert().values(unit_id=e.unit_id, jurisdiction=e.jurisdiction, name=e.name))


async def unit(conn: AsyncConnection, unit_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(units).where(units.c.unit_id == unit_id))).mappings().first()
    return dict(row) if row else None
