"""The deputies context's facts that other services keep in their own database.

Meetings need the members of a congress or presidium as of a meeting's date; suggestions need
to know whether a deputy is current and whether a township is a street; supervision and notify
need names and phones. Each service runs ``reference_projection(service)`` over the deputies
stream into its own tables (prefixed with its name, so services can share one PostgreSQL
database), and reads them with the functions below.

Only published events are read, by their contract names (``JurisdictionRegistered``,
``DeputyRegistered`` …, contract "Event types") and fields: ``libs/`` imports no service. The
service that runs this projection imports ``services.deputies.events`` so the types decode.

"Holds a seat on date D" is defined once, in ``is_current``; every query below applies it.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import JSON, Column, Date, MetaData, String, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from libs.events.projection import Projection


class ReferenceTables:
    def __init__(self, service: str) -> None:
        self.metadata = MetaData()
        p = f"{service}_ref"
        self.jurisdictions = Table(
            f"{p}_jurisdictions",
            self.metadata,
            Column("code", String(12), primary_key=True),
            Column("name", String(200), nullable=False),
            Column("kind", String(10), nullable=False),
            Column("parent", String(12), nullable=True),
        )
        self.deputies = Table(
            f"{p}_deputies",
            self.metadata,
            Column("deputy_id", String(64), primary_key=True),
            Column("name", String(100), nullable=False),
            Column("level", String(12), nullable=False),
            Column("congress", String(12), nullable=False, index=True),
            Column("township", String(12), nullable=True, index=True),
            Column("elected_on", Date, nullable=True),
            Column("terminated_on", Date, nullable=True),
        )
        # Every composition the presidium has had, from the day it was formed.
        self.presidiums = Table(
            f"{p}_presidiums",
            self.metadata,
            Column("township", String(12), primary_key=True),
            Column("formed_on", Date, primary_key=True),
            Column("member_ids", JSON, nullable=False),
            Column("chair_id", String(64), nullable=False),
        )
        self.groups = Table(
            f"{p}_groups",
            self.metadata,
            Column("group_id", String(64), primary_key=True),
            Column("township", String(12), nullable=False, index=True),
            Column("name", String(200), nullable=False),
            Column("member_ids", JSON, nullable=False),
            Column("leader_ids", JSON, nullable=False),
        )


def reference_projection(service: str) -> tuple[Projection, ReferenceTables]:
    t = ReferenceTables(service)

    class Reference(Projection):
        name: ClassVar[str] = f"{service}-reference"
        contexts: ClassVar[tuple[str, ...]] = ("deputies",)
        metadata: ClassVar[MetaData] = t.metadata
        handles = (
            "JurisdictionRegistered",
            "DeputyRegistered",
            "DeputyTerminated",
            "PresidiumFormed",
            "DeputyGroupFormed",
            "DeputyGroupChanged",
        )

        async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
            e: Any = env.data
            match env.type:
                case "JurisdictionRegistered":
                    await tx.execute(
                        t.jurisdictions.insert().values(code=e.code, name=e.name, kind=e.kind, parent=e.parent)
                    )
                case "DeputyRegistered":
                    await tx.execute(
                        t.deputies.insert().values(
                            deputy_id=e.deputy_id,
                            name=e.name,
                            level=e.level,
                            congress=e.congress,
                            township=e.township,
                            elected_on=e.elected_on or env.occurred_at.date(),
                        )
                    )
                case "DeputyTerminated":
                    await tx.execute(
                        t.deputies.update()
                        .where(t.deputies.c.deputy_id == e.deputy_id)
                        .values(terminated_on=e.effective_on)
                    )
                case "PresidiumFormed":
                    await tx.execute(
                        t.presidiums.delete().where(
                            t.presidiums.c.township == e.township, t.presidiums.c.formed_on == e.formed_on
                        )
                    )
                    await tx.execute(
                        t.presidiums.insert().values(
                            township=e.township,
                            formed_on=e.formed_on,
                            member_ids=list(e.member_ids),
                            chair_id=e.chair_id,
                        )
                    )
                case "DeputyGroupFormed" | "DeputyGroupChanged":
                    await tx.execute(t.groups.delete().where(t.groups.c.group_id == e.group_id))
                    await tx.execute(
                        t.groups.insert().values(
                            group_id=e.group_id,
                            township=e.township,
                            name=e.name,
                            member_ids=list(e.member_ids),
                            leader_ids=list(e.leader_ids),
                        )
                    )

    return Reference(), t


# -- reads --------------------------------------------------------------------------------------
async def jurisdiction(conn: AsyncConnection, t: ReferenceTables, code: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(t.jurisdictions).where(t.jurisdictions.c.code == code))).mappings().first()
    return dict(row) if row else None


async def is_street(conn: AsyncConnection, t: ReferenceTables, code: str) -> bool:
    row = await jurisdiction(conn, t, code)
    return bool(row and row["kind"] == "street")


async def deputy(conn: AsyncConnection, t: ReferenceTables, deputy_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(t.deputies).where(t.deputies.c.deputy_id == deputy_id))).mappings().first()
    return dict(row) if row else None


@functools.lru_cache(maxsize=16)
def _deputies_by_id(t: ReferenceTables) -> Any:
    return select(t.deputies).where(t.deputies.c.deputy_id.in_(bindparam("ids", expanding=True)))


async def deputies(conn: AsyncConnection, t: ReferenceTables, ids: list[str]) -> dict[str, dict[str, Any]]:
    rows = (await conn.execute(_deputies_by_id(t), {"ids": list(ids)})).mappings().all()
    return {r["deputy_id"]: dict(r) for r in rows}


def is_current(row: dict[str, Any], on: date) -> bool:
    """The one definition of "holds a seat on ``on``": elected by then and not yet gone."""
    elected, terminated = row.get("elected_on"), row.get("terminated_on")
    return (elected is None or elected <= on) and (terminated is None or terminated > on)


_SEAT_COLUMNS = ("deputy_id", "elected_on", "terminated_on")


async def congress_members(conn: AsyncConnection, t: ReferenceTables, congress: str, on: date) -> frozenset[str]:
    """Deputies of ``congress`` who hold their seat on ``on`` (elected by then, not yet gone)."""
    cols = [t.deputies.c[n] for n in _SEAT_COLUMNS]
    rows = (await conn.execute(select(*cols).where(t.deputies.c.congress == congress))).mappings().all()
    return frozenset(r["deputy_id"] for r in rows if is_current(dict(r), on))


async def current_ids(conn: AsyncConnection, t: ReferenceTables, ids: list[str], on: date) -> frozenset[str]:
    """Those of ``ids`` who hold their seat on ``on``."""
    cols = [t.deputies.c[n] for n in _SEAT_COLUMNS]
    rows = (await conn.execute(select(*cols).where(t.deputies.c.deputy_id.in_(ids)))).mappings().all()
    return frozenset(r["deputy_id"] for r in rows if is_current(dict(r), on))


async def presidium_members(conn: AsyncConnection, t: ReferenceTables, township: str, on: date) -> frozenset[str]:
    """The presidium as composed on ``on`` (the latest formation on or before it), current members only."""
    q = (
        select(t.presidiums.c.member_ids)
        .where(t.presidiums.c.township == township, t.presidiums.c.formed_on <= on)
        .order_by(t.presidiums.c.formed_on.desc())
        .limit(1)
    )
    ids = (await conn.execute(q)).scalar_one_or_none() or []
    return await current_ids(conn, t, list(ids), on) if ids else frozenset()


async def group_members(conn: AsyncConnection, t: ReferenceTables, group_id: str) -> frozenset[str]:
    ids = (
        await conn.execute(select(t.groups.c.member_ids).where(t.groups.c.group_id == group_id))
    ).scalar_one_or_none()
    return frozenset(ids or [])
