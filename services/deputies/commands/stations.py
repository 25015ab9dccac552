"""Liaison stations (代表联络站): registered and kept up to date by staff of the township or street."""

from __future__ import annotations

from libs.auth.access import STAFF_ROLES, Scope
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.web.deps import CommandContext
from services.deputies.commands.context import require_id, run
from services.deputies.commands.groups import township_of
from services.deputies.domain import station as station_
from services.deputies.domain.station import STATION, LiaisonStation


async def register_station(c: station_.RegisterLiaisonStation, ctx: CommandContext) -> Appended[LiaisonStation]:
    township = await township_of(ctx, c.township)

    def decide(loaded: Loaded[LiaisonStation]) -> list[Event]:
        return station_.decide_register(loaded.state, c)

    return await run(ctx, STATION, c.station_id, decide, jurisdiction=township)


async def update_station(c: station_.UpdateLiaisonStation, ctx: CommandContext) -> Appended[LiaisonStation]:
    def decide(loaded: Loaded[LiaisonStation]) -> list[Event]:
        ctx.access.require(Scope(jurisdiction=loaded.jurisdiction) if loaded.state.registered else None, STAFF_ROLES)
        return station_.decide_update(loaded.state, c)

    return await run(ctx, STATION, require_id(c.station_id), decide)
