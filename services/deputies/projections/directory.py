"""The user directory as a read model (``GET /api/auth/users``): accounts, roles, contact data.

No credential is here or in the events (the credential store keeps the hashes)."""

from __future__ import annotations

from typing import ClassVar

from sqlalchemy import Boolean, Column, MetaData, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection
from services.deputies.events import RoleGranted, UserCreated, UserDisabled
from services.deputies.projections.columns import Instant

directory_metadata = MetaData()
users = Table(
    "deputies_users",
    directory_metadata,
    Column("username", String(64), primary_key=True),
    Column("display_name", String(100), nullable=False, default=""),
    Column("role", String(20), nullable=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("deputy_id", String(100), nullable=True),
    Column("unit_id", String(100), nullable=True),
    Column("email", String(200), nullable=True),  # contact data: where notifications go
    Column("phone", String(40), nullable=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", Instant(), nullable=False),
    Column("role_since", Instant(), nullable=True),
)


class Directory(Projection):
    name: ClassVar[str] = "deputies-directory"
    contexts: ClassVar[tuple[str, ...]] = ("deputies",)
    metadata: ClassVar[MetaData] = directory_metadata
    handles = (UserCreated, RoleGranted, UserDisabled)

    async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
        match env.data:
            case UserCreated() as e:
                await tx.execute(
                    users.insert().values(
                        username=e.username,
                        display_name=e.display_name,
                        email=e.email,
                        phone=e.phone,
                        jurisdiction=env.jurisdiction,
                        disabled=False,
                        created_at=env.occurred_at,
                    )
                )
            case RoleGranted() as e:
                await tx.execute(
                    users.update()
                    .where(users.c.username == e.username)
                    .values(
                        role=e.role,
                        jurisdiction=e.jurisdiction,
                        deputy_id=e.deputy_id,
                        unit_id=e.unit_id,
                        role_since=env.occurred_at,
                    )
                )
            case UserDisabled() as e:
                await tx.execute(users.update().where(users.c.username == e.username).values(disabled=True))
