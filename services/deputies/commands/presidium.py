"""The township presidium (乡镇人大主席团): formed by staff of the township, or above it; never a street's."""

from __future__ import annotations

from libs.domain.errors import InvalidInput, NotForStreet
from libs.events.event import Event
from libs.events.store import Appended, Loaded
from libs.web.deps import CommandContext
from services.deputies.commands.context import deputy_files, load_place, policy_of, require_known, run
from services.deputies.domain import deputy as deputy_
from services.deputies.domain import presidium as presidium_
from services.deputies.domain.presidium import PRESIDIUM, Presidium


async def form_presidium(c: presidium_.FormPresidium, ctx: CommandContext) -> Appended[Presidium]:
    township = c.township.strip()
    ctx.access.require_inside(township, "township")
    place = await load_place(ctx.store, township)
    if place is None or place.kind not in ("township", "street"):
        raise InvalidInput("township", f"乡镇 {township} 尚未登记，请先登记区划。")
    if place.is_street:
        raise NotForStreet("街道人大工委不设主席团。")
    files = await deputy_files(ctx.store, [*c.member_ids, c.chair_id])
    require_known(ctx.principal, files, "member_ids", c.member_ids)
    require_known(ctx.principal, files, "chair_id", [c.chair_id])
    policy = policy_of(ctx)
    own = frozenset(i for i, f in files.items() if f.state.level == "township" and f.state.congress == township)
    current = frozenset(i for i, f in files.items() if deputy_.is_current(f.state, c.formed_on))
    holders = frozenset(
        i for i, f in files.items() if f.state.registered and policy.holds_government_office(f.state.sector)
    )

    def decide(loaded: Loaded[Presidium]) -> list[Event]:
        return presidium_.decide_form(
            loaded.state,
            c,
            is_street=place.is_street,
            large_township=policy.is_large(township),
            office_holder_ids=holders,
            congress_member_ids=own,
            current_ids=current,
        )

    return await run(ctx, PRESIDIUM, township, decide, jurisdiction=township)
