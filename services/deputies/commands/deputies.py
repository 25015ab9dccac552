"""Deputies: registration (also by-election and bulk import), qualification, termination, duty
activities and fixed contacts."""

from __future__ import annotations

from libs.auth.access import STAFF_ROLES, Access
from libs.auth.actor import Principal
from libs.domain.errors import InvalidInput
from libs.events.event import Event
from libs.events.store import Appended, EventStore, Loaded
from libs.web.deps import CommandContext
from services.deputies.commands.context import (
    Context,
    deputy_files,
    deputy_scope,
    load_place,
    require_id,
    require_known,
    run,
    today,
)
from services.deputies.domain import deputy as deputy_
from services.deputies.domain import presidium as presidium_
from services.deputies.domain.contact_details import ChangeContact, decide_change_contact
from services.deputies.domain.deputy import DEPUTY, Deputy
from services.deputies.domain.presidium import PRESIDIUM


async def check_registration(c: deputy_.RegisterDeputy, store: EventStore, principal: Principal | None) -> str:
    """Where the deputy will live, after every check (the tree's and the rules'), so that a bulk
    import can check every row before registering any; ``principal`` None: the operator."""
    home = deputy_.home_of(c.level, c.congress, c.township)
    if principal is not None:
        Access(principal).require_inside(home, "township")
    congress = await load_place(store, c.congress.strip()) if c.level in deputy_.IN_THE_TREE else None
    if c.level == "township" and congress is None:
        raise InvalidInput("congress", f"乡镇 {c.congress} 尚未登记，请先登记区划。")
    if c.township:
        place = await load_place(store, c.township.strip())
        if place is None or place.kind not in ("township", "street"):
            raise InvalidInput("township", f"编组所在的乡镇（街道）{c.township} 尚未登记。")
    deputy_.decide_register(Deputy(id=c.deputy_id), c, congress_is_street=congress is not None and congress.is_street)
    if c.level in deputy_.IN_THE_TREE and congress is None:
        raise InvalidInput("congress", f"选举产生该代表的人大（区划 {c.congress}）尚未登记，请先登记区划。")
    return home


async def register_deputy(c: deputy_.RegisterDeputy, ctx: Context) -> Appended[Deputy]:
    home = await check_registration(c, ctx.store, ctx.principal)
    congress = await load_place(ctx.store, c.congress.strip())
    is_street = congress is not None and congress.is_street

    def decide(loaded: Loaded[Deputy]) -> list[Event]:
        return deputy_.decide_register(loaded.state, c, congress_is_street=is_street)

    return await run(ctx, DEPUTY, c.deputy_id, decide, jurisdiction=home)


async def terminate_deputy(c: deputy_.TerminateDeputy, ctx: CommandContext) -> Appended[Deputy]:
    def decide(loaded: Loaded[Deputy]) -> list[Event]:
        ctx.access.require(deputy_scope(loaded), STAFF_ROLES)
        return deputy_.decide_terminate(loaded.state, c)

    return await run(ctx, DEPUTY, require_id(c.deputy_id), decide)


async def change_contact(c: ChangeContact, ctx: CommandContext) -> Appended[Deputy]:
    """Staff over the deputy's jurisdiction change the phone or sector; nothing changed records nothing."""

    def decide(loaded: Loaded[Deputy]) -> list[Event]:
        ctx.access.require(deputy_scope(loaded), STAFF_ROLES)
        return decide_change_contact(loaded.state, c)

    return await run(ctx, DEPUTY, require_id(c.deputy_id), decide)


async def confirm_qualification(c: deputy_.ConfirmQualification, ctx: CommandContext) -> Appended[Deputy]:
    def decide(loaded: Loaded[Deputy]) -> list[Event]:
        ctx.access.require(deputy_scope(loaded), STAFF_ROLES)
        return deputy_.decide_confirm_qualification(loaded.state, c)

    return await run(ctx, DEPUTY, require_id(c.deputy_id), decide)


async def record_activity(c: deputy_.RecordDutyActivity, ctx: CommandContext) -> Appended[Deputy]:
    """The deputy themself, or staff over the deputy's jurisdiction."""
    day = today(ctx)

    def decide(loaded: Loaded[Deputy]) -> list[Event]:
        ctx.access.require(deputy_scope(loaded), (*STAFF_ROLES, "deputy"))
        return deputy_.decide_record_activity(loaded.state, c, today=day)

    return await run(ctx, DEPUTY, require_id(c.deputy_id), decide)


async def record_contact(c: deputy_.RecordContact, ctx: CommandContext) -> Appended[Deputy]:
    """A presidium member's contact with a deputy, or a deputy's with a constituent."""
    loaded = await ctx.store.load(DEPUTY, require_id(c.deputy_id))
    ctx.access.require(deputy_scope(loaded), (*STAFF_ROLES, "deputy"))
    member = False
    contact_current = True
    if c.kind == "presidium_member":
        township = loaded.state.township
        if township:
            p = (await ctx.store.load(PRESIDIUM, township, jurisdiction=township)).state
            member = presidium_.is_member(p, c.deputy_id)
        if c.contact_deputy_id:
            files = await deputy_files(ctx.store, [c.contact_deputy_id])
            require_known(ctx.principal, files, "contact", [c.contact_deputy_id])
            contact_current = deputy_.is_current(files[c.contact_deputy_id.strip()].state, c.on)
    day = today(ctx)

    def decide(s: Loaded[Deputy]) -> list[Event]:
        return deputy_.decide_record_contact(
            s.state, c, is_presidium_member=member, contact_is_current=contact_current, today=day
        )

    return await run(ctx, DEPUTY, c.deputy_id, decide)
