"""Command handler of organizer units (承办单位): registration by staff inside their jurisdiction."""

from __future__ import annotations

from libs.auth.access import Access
from libs.events.store import Appended
from libs.web.errors import Forbidden
from services.suggestions.commands.context import Context
from services.suggestions.domain import unit
from services.suggestions.domain.commands import RegisterOrganizerUnit
from services.suggestions.domain.unit import ORGANIZER_UNIT, OrganizerUnit

UNIT_REGISTRARS = ("city_staff", "county_staff", "township_staff")


async def register_unit(c: RegisterOrganizerUnit, ctx: Context) -> Appended[OrganizerUnit]:
    p = ctx.principal
    if p is not None:
        if p.role not in UNIT_REGISTRARS:
            raise Forbidden()
        Access(p).require_inside(c.jurisdiction)
    code = c.jurisdiction.strip()
    where = code if code.isdigit() and len(code) in (6, 9) else "000000"  # an invalid code is refused below
    return await ctx.store.execute(
        ORGANIZER_UNIT,
        c.unit_id,
        lambda loaded: unit.decide_register(loaded.state, c, now=ctx.meta.now),
        ctx.meta,
        jurisdiction=where,
        new=True,  # a fresh id: no read before the append (its guard catches one that exists)
    )
