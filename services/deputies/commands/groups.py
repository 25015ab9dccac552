"""Deputy groups (代表小组): formed and changed by staff of the township or street, or above it."""

from __future__ import annotations

from libs.auth.access import STAFF_ROLES, Scope
from libs.domain.errors import InvalidInput
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.web.deps import CommandContext
from services.deputies import queries
from services.deputies.commands.context import (
    DeputyFile,
    deputy_files,
    load_place,
    require_id,
    require_known,
    run,
    today,
)
from services.deputies.domain import deputy as deputy_
from services.deputies.domain import group as group_
from services.deputies.domain.group import GROUP, DeputyGroup


async def township_of(ctx: CommandContext, code: str) -> str:
    """A township or street inside the caller's jurisdiction, registered in the tree."""
    code = code.strip()
    ctx.access.require_inside(code, "township")
    place = await load_place(ctx.store, code)
    if place is None or place.kind not in ("township", "street"):
        raise InvalidInput("township", f"乡镇（街道）{code} 尚未登记，请先登记区划。")
    return code


async def named_deputies(ctx: CommandContext, **fields: tuple[str, ...]) -> dict[str, DeputyFile]:
    """The deputies named in each body field; each must exist and be visible (422 naming the field)."""
    files = await deputy_files(ctx.store, [i for ids in fields.values() for i in ids])
    for field, ids in fields.items():
        require_known(ctx.principal, files, field, ids)
    return files


def grouped_current(files: dict[str, DeputyFile], township: str, ctx: CommandContext) -> frozenset[str]:
    """The named deputies must be grouped in ``township``; answer those current today."""
    group_.require_grouped_in(township, {i: f.state.township for i, f in files.items()})
    day = today(ctx)
    return frozenset(i for i, f in files.items() if deputy_.is_current(f.state, day))


async def form_group(c: group_.FormDeputyGroup, ctx: CommandContext) -> Appended[DeputyGroup]:
    township = await township_of(ctx, c.township)
    files = await named_deputies(ctx, leader_ids=c.leader_ids, member_ids=c.member_ids)
    current = grouped_current(files, township, ctx)
    central = c.central and await queries.central_group(ctx.runtime.engine, township) is not None

    def decide(loaded: Loaded[DeputyGroup]) -> list[Event]:
        return group_.decide_form(loaded.state, c, central_group_exists=central, current_ids=current)

    return await run(ctx, GROUP, c.group_id, decide, jurisdiction=township)


async def change_group(c: group_.ChangeDeputyGroup, ctx: CommandContext) -> Appended[DeputyGroup]:
    loaded = await ctx.store.load(GROUP, require_id(c.group_id))
    g = loaded.state
    ctx.access.require(Scope(jurisdiction=loaded.jurisdiction) if g.formed else None, STAFF_ROLES)
    files = await named_deputies(ctx, leader_ids=c.leader_ids, member_ids=c.member_ids)
    # Members already in the group may stay listed while they are being replaced; new ones must be current.
    current = grouped_current(files, g.township, ctx) | (set(files) & set(g.member_ids))
    other = await queries.central_group(ctx.runtime.engine, g.township)
    central = other is not None and other != g.id

    def decide(s: Loaded[DeputyGroup]) -> list[Event]:
        return group_.decide_change(s.state, c, central_group_exists=central, current_ids=current)

    return await run(ctx, GROUP, g.id, decide)
