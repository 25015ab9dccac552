"""Ids named in a body: each must exist and be visible to the caller, or the command is refused.

Contract "Lists, times and identifiers": an unknown and a foreign id get the same 422 naming the
field (``UnknownReference``), so nothing leaks, and nothing is recorded. What "visible" means here:

- **units** (``lead_unit_id``, ``co_unit_ids``): a registered organizer unit of the suggestion's own
  jurisdiction tree — registered at the suggestion's township (street) or at the county or city
  above it (a county department, 县直部门, handles a township's suggestion too). A unit of a
  neighbouring township or of another county is foreign. Units are this context's own aggregate:
  read from the event store (always current); a registered unit's place never changes, so it is
  kept in memory once seen.
- **deputies** (``deputy_ids`` on submit, an opinion's ``deputy_id``): known to the deputies
  context and belonging to the township named (grouped there, or elected to its congress); for a
  county-level suggestion, to a township or congress of that county. From the reference read model
  (``libs/reference/deputies.py``); an id not found there yet waits once for that read model to
  reach the deputies' stream head, so a deputy registered a moment ago is not refused.
- **a meeting** (``meeting_id``): a meeting scheduled on the suggestion's line of jurisdictions (its
  township, the county or city above, or for a county-level suggestion a township below), from this
  service's own read model of the meetings' published events.
- **a merge target** (``into_id``): a suggestion the caller sees (checked in ``oversight.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from libs.db.engine import reading
from libs.events import jetstream as jsapi
from libs.events.subjects import stream_name
from libs.reference import deputies as refdata
from libs.service.runtime import ServiceRuntime
from services.suggestions.domain.commands import AssignSuggestion
from services.suggestions.domain.errors import UnknownReference
from services.suggestions.domain.state import Suggestion
from services.suggestions.domain.unit import ORGANIZER_UNIT
from services.suggestions.projections import meetings as meeting_places
from services.suggestions.projections import ref, reference

ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")  # what an aggregate id can be (it names a NATS subject)
UNITS_KEPT = 50_000
DEPUTIES_KEPT = 10_000


def valid_id(value: str) -> bool:
    return bool(ID.match(value))


def on_path(registered_at: str, jurisdiction: str) -> bool:
    """Registered at ``jurisdiction`` itself or at a division above it (its county, its city)."""
    return bool(registered_at) and jurisdiction.startswith(registered_at)


async def caught_up(rt: ServiceRuntime, projection: str, context: str) -> None:
    """Wait (bounded by ``RENDA_READ_WAIT_SECONDS``) until ``projection`` has read ``context``'s stream head."""
    runner = rt.runners.get(projection)
    if runner is None:
        return
    stream = stream_name(context)
    head = await jsapi.last_seq(rt.nc, stream)
    with rt.reading():  # the read models' next batch goes at once (it waits for nothing)
        await runner.wait_for(stream, head, rt.settings.read_wait_seconds)


# -- units ----------------------------------------------------------------------------------------
async def units(rt: ServiceRuntime, lead: str, co: Iterable[str]) -> dict[str, str]:
    """The jurisdiction each named unit is registered at; an unknown id (or one that cannot be an id) is absent."""
    kept: dict[str, str] = rt.extras.setdefault("suggestions_units", {})
    out: dict[str, str] = {}
    for unit_id in (lead, *co):
        if unit_id in kept:
            out[unit_id] = kept[unit_id]
        elif valid_id(unit_id):
            u = (await rt.store.load(ORGANIZER_UNIT, unit_id)).state
            if u.registered:
                out[unit_id] = u.jurisdiction
                if len(kept) < UNITS_KEPT:
                    kept[unit_id] = u.jurisdiction
    return out


def require_units_on_path(s: Suggestion, c: AssignSuggestion, found: dict[str, str]) -> None:
    """Every unit named is registered on the suggestion's path; else 422 naming the field."""
    for field, ids in (("lead_unit_id", (c.lead_unit_id,)), ("co_unit_ids", c.co_unit_ids)):
        for unit_id in ids:
            if unit_id.strip() and not on_path(found.get(unit_id, ""), s.jurisdiction):
                raise UnknownReference(field, "承办单位")


# -- deputies -------------------------------------------------------------------------------------
def belongs(row: dict[str, Any], jurisdiction: str) -> bool:
    """Grouped in or elected to ``jurisdiction`` (a township), or to a division below it (a county)."""
    return str(row.get("township") or "").startswith(jurisdiction) or str(row["congress"]).startswith(jurisdiction)


async def deputy_rows(rt: ServiceRuntime, ids: list[str]) -> dict[str, dict[str, Any]]:
    """The reference rows of ``ids`` (an unknown id is absent), read-only.

    Kept in memory until the reference data next changes (its runner's generation: a batch that
    carried deputies' events), as ``is_street`` and the token check do: every submit names its
    deputies, and their rows rarely change.
    """
    runner = rt.runners.get(reference.name)
    generation = runner.generation if runner is not None else None
    kept: dict[str, Any] = rt.extras.setdefault("suggestions_deputies", {"generation": None, "rows": {}})
    if generation is None or kept["generation"] != generation or len(kept["rows"]) > DEPUTIES_KEPT:
        kept["generation"], kept["rows"] = generation, {}
    rows: dict[str, dict[str, Any] | None] = kept["rows"]
    missing = [d for d in ids if d not in rows]
    if missing:
        async with reading(rt.engine) as conn:
            got = await refdata.deputies(conn, ref, missing)
        if generation is not None and runner is not None and runner.generation == generation:
            rows.update({d: got.get(d) for d in missing})  # nothing changed while reading: kept
        else:
            return {**{d: r for d in ids if (r := rows.get(d)) is not None}, **got}
    return {d: r for d in ids if (r := rows.get(d)) is not None}


async def deputies_of(rt: ServiceRuntime, field: str, ids: list[str], jurisdiction: str) -> dict[str, dict[str, Any]]:
    """The deputies' reference rows; every id must be a deputy of ``jurisdiction`` (else 422 ``field``)."""
    wanted = [d for d in ids if d.strip()]
    for attempt in range(2):
        rows = await deputy_rows(rt, wanted)
        if all(d in rows and belongs(rows[d], jurisdiction) for d in wanted):
            return rows
        if attempt == 0:
            await caught_up(rt, reference.name, "deputies")
    raise UnknownReference(field, "代表")


# -- meetings -------------------------------------------------------------------------------------
async def meeting_on_path(rt: ServiceRuntime, field: str, meeting_id: str, jurisdiction: str) -> None:
    t = meeting_places.places
    for attempt in range(2):
        async with reading(rt.engine) as conn:
            where = (await conn.execute(select(t.c.jurisdiction).where(t.c.meeting_id == meeting_id))).scalar()
        if where is not None and (jurisdiction.startswith(where) or where.startswith(jurisdiction)):
            return
        if attempt == 0 and where is None:
            await caught_up(rt, meeting_places.MeetingPlaces.name, "meetings")
        else:
            break
    raise UnknownReference(field, "会议")
