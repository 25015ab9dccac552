"""Command handlers of the 三关 review: staff send a submitted suggestion back for revision (退回修改),
the lead deputy revises it. Same shape as ``suggestions.py``: load, check access, decide, append."""

from __future__ import annotations

from libs.events.store import Appended
from services.suggestions.commands.context import ASSIGNING, Context, handle, role_check, see_check
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import ReviseSuggestion, SendBackSuggestion
from services.suggestions.domain.state import Suggestion


async def send_back_suggestion(c: SendBackSuggestion, ctx: Context) -> Appended[Suggestion]:
    """The presidium's staff of the township, or county staff; a street's suggestion county staff only."""
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*ASSIGNING),
        lambda s, street: sg.decide_send_back(
            s, c, now=ctx.meta.now, is_street=street, actor_role=ctx.role, tz=ctx.policy.tz
        ),
    )


async def revise_suggestion(c: ReviseSuggestion, ctx: Context) -> Appended[Suggestion]:
    """Only the lead deputy's own login revises (a co-submitter: 403 ``not_lead_deputy``)."""
    p = ctx.principal
    deputy_id = p.deputy_id if p is not None and p.role == "deputy" else None
    return await handle(
        ctx,
        c.suggestion_id,
        see_check,
        lambda s, _: sg.decide_revise(s, c, deputy_id=deputy_id, now=ctx.meta.now),
    )
