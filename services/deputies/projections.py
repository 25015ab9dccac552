"""Read models of the deputies context."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Column, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from services.deputies.domain.events import JurisdictionRegistered

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
