"""Where each meeting lies, from the meetings context's published events: a suggestion's
``meeting_id`` must name a meeting on its line of jurisdictions (``commands/references.py``)."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Column, MetaData, String, Table, delete
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from services.meetings.events import MeetingScheduled

metadata = MetaData()
places = Table(
    "suggestions_meeting_places",
    metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False),
)


class MeetingPlaces(Projection):
    name: ClassVar[str] = "suggestions-meeting-places"
    contexts: ClassVar[tuple[str, ...]] = ("meetings",)
    metadata: ClassVar[MetaData] = metadata
    handles = (MeetingScheduled,)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        e = env.data
        if isinstance(e, MeetingScheduled):
            await tx.execute(delete(places).where(places.c.meeting_id == e.meeting_id))  # a redelivery
            await tx.execute(places.insert().values(meeting_id=e.meeting_id, jurisdiction=env.jurisdiction or e.body))
