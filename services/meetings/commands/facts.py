"""Facts a command needs but the caller may not type in, read from this service's own tables.

- Who the members are as of the meeting date, whether a body is a street: the deputies'
  reference tables (``projections.ref``).
- Every id a body names (a body's code, invitees, a group, units, deputies, townships) must
  exist and be visible to the caller; an unknown and a foreign one get the same 422 naming the
  field, so nothing about other jurisdictions leaks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.auth.actor import Principal
from libs.domain.errors import UnknownReference
from libs.domain.field_labels import label
from libs.reference import deputies as refdata
from libs.web.errors import Forbidden
from services.meetings.commands.path import VALID_ID
from services.meetings.domain import meeting as mt
from services.meetings.domain.errors import InvalidInput
from services.meetings.domain.meeting_commands import ScheduleMeeting
from services.meetings.projections import ref
from services.meetings.projections.reference import unit as unit_row


def refuse(field: str, bad: Iterable[str], what: str = "编号") -> InvalidInput:
    """One answer for unknown and foreign alike: it names the field and what the caller typed."""
    return UnknownReference(field, what, bad)


# -- members as of a date ------------------------------------------------------------------------
def meeting_date(m: mt.Meeting | ScheduleMeeting, tz: Any) -> date:
    assert m.starts_at is not None
    return m.starts_at.astimezone(tz).date()


async def members_of(conn: AsyncConnection, kind: str | None, body: str, on: date) -> frozenset[str] | None:
    """All members as of ``on`` for kinds with a quorum; ``None`` for the others (their invitees count)."""
    if kind == "congress_session":
        return await refdata.congress_members(conn, ref, body, on)
    if kind == "presidium_meeting":
        return await refdata.presidium_members(conn, ref, body, on)
    return None


async def current_members(conn: AsyncConnection, m: mt.Meeting, named: list[str], on: date) -> frozenset[str]:
    members = await members_of(conn, m.kind, m.body, on)
    if members is not None:
        return members
    return await refdata.current_ids(conn, ref, named, on)


async def current_in_order(conn: AsyncConnection, ids: tuple[str, ...], on: date) -> tuple[str, ...]:
    """Those of ``ids`` who hold their seat on ``on``, in the order given."""
    current = await refdata.current_ids(conn, ref, list(ids), on) if ids else frozenset()
    return tuple(i for i in ids if i in current)


# -- ids named in a body -------------------------------------------------------------------------
async def visible_body(conn: AsyncConnection, p: Principal, code: str, field: str = "body") -> dict[str, Any]:
    """A jurisdiction code is public (the national division codes): one outside the caller's own is
    refused as outside its jurisdiction (403, contract "Identity and access"); an unknown one is 422."""
    if not p.sees(code):
        raise Forbidden(f"「{label(field)}」{code} 不在您的辖区内。")
    row = await refdata.jurisdiction(conn, ref, code)
    if row is None:
        raise refuse(field, [code], "区划")
    return row


def _sees_deputy(p: Principal, row: dict[str, Any]) -> bool:
    return p.sees(row.get("township")) or p.sees(row.get("congress"))


async def visible_deputies(conn: AsyncConnection, p: Principal, ids: Iterable[str], field: str) -> None:
    wanted = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if not wanted:
        return
    valid = [i for i in wanted if VALID_ID.match(i)]
    rows = await refdata.deputies(conn, ref, valid) if valid else {}
    bad = [i for i in wanted if i not in rows or not _sees_deputy(p, rows[i])]
    if bad:
        raise refuse(field, bad, "代表编号")


async def no_foreign_deputies(conn: AsyncConnection, p: Principal, names: Iterable[str], field: str) -> None:
    """Observers (列席) are named in free text ("镇长"); one that names a deputy must be a deputy the
    caller sees, since an observer may read the meeting."""
    valid = [n.strip() for n in names if VALID_ID.match(n.strip())]
    rows = await refdata.deputies(conn, ref, valid) if valid else {}
    bad = [i for i, row in rows.items() if not _sees_deputy(p, row)]
    if bad:
        raise refuse(field, bad, "代表编号")


async def visible_group(conn: AsyncConnection, p: Principal, group_id: str, body: str) -> dict[str, Any]:
    """A group of the meeting's own township (or street) that the caller sees."""
    row = None
    if VALID_ID.match(group_id):
        q = select(ref.groups).where(ref.groups.c.group_id == group_id)
        row = (await conn.execute(q)).mappings().first()
    if row is None or row["township"] != body or not p.sees(row["township"]):
        raise refuse("group_id", [group_id], "代表小组")
    return dict(row)


def _related(a: str, b: str) -> bool:
    """One code lies inside the other (a township and its county, or the same place)."""
    return a.startswith(b) or b.startswith(a)


async def visible_unit(
    conn: AsyncConnection, p: Principal, unit_id: str, field: str, *, place: str, county: str | None = None
) -> dict[str, Any]:
    """A registered organizer unit of ``place`` or of a level above it (a county department for a
    township), that the caller sees or stands below; inside ``county`` when given."""
    row = await unit_row(conn, unit_id) if VALID_ID.match(unit_id) else None
    ok = (
        row is not None
        and _related(row["jurisdiction"], place)
        and (p.sees(row["jurisdiction"]) or p.jurisdiction.startswith(row["jurisdiction"]))
        and (county is None or row["jurisdiction"].startswith(county))
    )
    if not ok or row is None:
        raise refuse(field, [unit_id], "承办单位")
    return row


async def participating_places(
    conn: AsyncConnection, p: Principal, county: str, townships: tuple[str, ...]
) -> dict[str, str]:
    """Code → kind of each township or street named, all registered in ``county`` and seen by the caller."""
    kinds: dict[str, str] = {}
    for code in townships:
        row = await refdata.jurisdiction(conn, ref, code) if code.isdigit() and len(code) == 9 else None
        if row is not None and row["kind"] in ("township", "street") and code.startswith(county) and p.sees(code):
            kinds[code] = row["kind"]
    bad = [t for t in townships if t not in kinds]
    if bad:
        raise refuse("townships", bad, "乡镇（街道）")
    return kinds


def today(tz: Any, now: datetime) -> date:
    return now.astimezone(tz).date()
