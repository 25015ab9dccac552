"""Commands of the township's bodies: deputy groups, the presidium, liaison stations.

Staff of the township (or street) — or county and city staff over it — set them up. Streets
have groups and stations but no presidium (``not_for_street``).
"""

from __future__ import annotations

from libs.auth.access import STAFF_ROLES, Scope
from libs.domain.errors import InvalidInput, NotForStreet
from libs.events.store import Appended
from libs.web.deps import CommandContext
from services.deputies import queries
from services.deputies.commands import (
    DeputyFile,
    apply,
    deputy_files,
    load_place,
    require_id,
    require_known,
    today,
)
from services.deputies.config import DeputiesSettings
from services.deputies.domain import deputy as deputy_
from services.deputies.domain import group as group_
from services.deputies.domain import presidium as presidium_
from services.deputies.domain import station as station_
from services.deputies.domain.group import GROUP, DeputyGroup
from services.deputies.domain.presidium import PRESIDIUM, Presidium
from services.deputies.domain.station import STATION, LiaisonStation


async def _township(ctx: CommandContext, code: str) -> str:
    """A township or street inside the caller's jurisdiction, registered in the tree."""
    code = code.strip()
    ctx.access.require_inside(code, "township")
    place = await load_place(ctx.store, code)
    if place is None or place.kind not in ("township", "street"):
        raise InvalidInput("township", f"乡镇（街道）{code} 尚未登记，请先登记区划。")
    return code


def _grouped_current(files: dict[str, DeputyFile], township: str, field: str, ctx: CommandContext) -> frozenset[str]:
    """The named deputies must be grouped in ``township``; answer those current today."""
    elsewhere = [i for i, f in files.items() if f.state.township != township]
    if elsewhere:
        raise InvalidInput(field, f"以下代表不在本乡镇（街道）编组：{'、'.join(elsewhere)}。")
    day = today(ctx)
    return frozenset(i for i, f in files.items() if deputy_.is_current(f.state, day))


# -- groups ---------------------------------------------------------------------------------------
async def form_group(c: group_.FormDeputyGroup, ctx: CommandContext) -> Appended[DeputyGroup]:
    township = await _township(ctx, c.township)
    files = await deputy_files(ctx.store, [*c.leader_ids, *c.member_ids])
    require_known(ctx, files, "member_ids")
    current = _grouped_current(files, township, "member_ids", ctx)
    central = c.central and await queries.central_group(ctx.runtime.engine, township) is not None
    group_id = c.group_id
    loaded = await ctx.store.load(GROUP, group_id, jurisdiction=township)
    if loaded.applied(ctx.meta.command_id):
        return Appended(loaded, (), "RENDA_DEPUTIES", loaded.last_stream_seq)
    events = group_.decide_form(loaded.state, c, central_group_exists=central, current_ids=current)
    done = await ctx.store.append(loaded, events, ctx.meta, jurisdiction=township)
    ctx.answered(done)
    return done


async def change_group(c: group_.ChangeDeputyGroup, ctx: CommandContext) -> Appended[DeputyGroup]:
    loaded = await ctx.store.load(GROUP, require_id(c.group_id))
    g = loaded.state
    ctx.access.require(Scope(jurisdiction=loaded.jurisdiction) if g.formed else None, STAFF_ROLES)
    files = await deputy_files(ctx.store, [*c.leader_ids, *c.member_ids])
    require_known(ctx, files, "member_ids")
    # Members already in the group may stay listed while they are being replaced; new ones must be current.
    current = _grouped_current(files, g.township, "member_ids", ctx) | (set(files) & set(g.member_ids))
    other = await queries.central_group(ctx.runtime.engine, g.township)
    central = other is not None and other != g.id
    return await apply(
        ctx, loaded, lambda s: group_.decide_change(s.state, c, central_group_exists=central, current_ids=current)
    )


# -- presidium ------------------------------------------------------------------------------------
async def form_presidium(
    c: presidium_.FormPresidium, ctx: CommandContext, config: DeputiesSettings
) -> Appended[Presidium]:
    township = c.township.strip()
    ctx.access.require_inside(township, "township")
    place = await load_place(ctx.store, township)
    if place is None or place.kind not in ("township", "street"):
        raise InvalidInput("township", f"乡镇 {township} 尚未登记，请先登记区划。")
    if place.is_street:
        raise NotForStreet("街道人大工委不设主席团。")
    files = await deputy_files(ctx.store, c.member_ids)
    require_known(ctx, files, "member_ids")
    day = c.formed_on
    current = frozenset(
        i
        for i, f in files.items()
        if f.state.level == "township" and f.state.congress == township and deputy_.is_current(f.state, day)
    )
    holders = frozenset(
        i for i, f in files.items() if f.registered is not None and config.holds_government_office(f.registered.sector)
    )
    loaded = await ctx.store.load(PRESIDIUM, township, jurisdiction=township)
    if loaded.applied(ctx.meta.command_id):
        return Appended(loaded, (), "RENDA_DEPUTIES", loaded.last_stream_seq)
    events = presidium_.decide_form(
        loaded.state,
        c,
        is_street=place.is_street,
        large_township=township in config.large,
        office_holder_ids=holders,
        current_ids=current,
    )
    done = await ctx.store.append(loaded, events, ctx.meta, jurisdiction=township)
    ctx.answered(done)
    return done


# -- liaison stations -----------------------------------------------------------------------------
async def register_station(c: station_.RegisterLiaisonStation, ctx: CommandContext) -> Appended[LiaisonStation]:
    township = await _township(ctx, c.township)
    loaded = await ctx.store.load(STATION, c.station_id, jurisdiction=township)
    if loaded.applied(ctx.meta.command_id):
        return Appended(loaded, (), "RENDA_DEPUTIES", loaded.last_stream_seq)
    done = await ctx.store.append(loaded, station_.decide_register(loaded.state, c), ctx.meta, jurisdiction=township)
    ctx.answered(done)
    return done


async def update_station(c: station_.UpdateLiaisonStation, ctx: CommandContext) -> Appended[LiaisonStation]:
    loaded = await ctx.store.load(STATION, require_id(c.station_id))
    ctx.access.require(Scope(jurisdiction=loaded.jurisdiction) if loaded.state.registered else None, STAFF_ROLES)
    return await apply(ctx, loaded, lambda s: station_.decide_update(s.state, c))
