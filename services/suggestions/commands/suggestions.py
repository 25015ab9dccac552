"""Command handlers of one suggestion's life: submit, assign, the unit's steps, the deputy's evaluation.

Each handler is ``(command, ctx)``: load, check access, check the ids the body names
(``references.py``), decide, append. The presidium's and the county's steps are in
``oversight.py``; opinions in ``opinions.py``, organizer units in ``units.py``.
"""

from __future__ import annotations

from libs.auth.access import Access
from libs.db.engine import reading
from libs.events.event import Event
from libs.events.store import Appended
from libs.reference import deputies as refdata
from libs.web.errors import Forbidden
from services.suggestions.commands import references
from services.suggestions.commands.context import (
    ASSIGNING,
    NOWHERE,
    UNIT_ROLES,
    Context,
    handle,
    is_street,
    role_check,
    see_check,
)
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AcknowledgeSuggestion,
    AssignSuggestion,
    EvaluateSuggestion,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.state import SUGGESTION, Suggestion
from services.suggestions.projections import ref


# -- submit and assign --------------------------------------------------------------------------
async def submit_suggestion(c: SubmitSuggestion, ctx: Context) -> Appended[Suggestion]:
    """A new suggestion (``c.suggestion_id`` a fresh uuid4). Deputies submit their own; staff any inside.

    A caller's body: every deputy named must be known and belong to the suggestion's township (or
    its congress), a meeting named must lie on the suggestion's line (``references.py``): else 422,
    nothing stored. The system (a finding's reaction) submits ids the meetings context decided.
    """
    rt, meta, principal = ctx.rt, ctx.meta, ctx.principal
    if principal is not None:
        if principal.role == "deputy":
            if principal.deputy_id not in c.deputy_ids:
                raise Forbidden("代表只能提出本人领衔或联名的建议。")
            if not principal.sees(c.jurisdiction):
                raise Forbidden(f"代表只能向本人所在辖区提出建议（township：{c.jurisdiction}）。")
        else:
            Access(principal).require_inside(c.jurisdiction, "township")
    code = c.jurisdiction.strip()
    valid = code.isdigit() and len(code) in (6, 9)
    street = await is_street(rt, code)
    today = meta.now.astimezone(ctx.policy.tz).date()
    if principal is not None and valid:
        known = await references.deputies_of(rt, "deputy_ids", list(c.deputy_ids), code)
        if c.meeting_id is not None:
            await references.meeting_on_path(rt, "meeting_id", c.meeting_id, code)
    else:
        async with reading(rt.engine) as conn:
            known = await refdata.deputies(conn, ref, list(c.deputy_ids))
    terminated = frozenset(d for d in c.deputy_ids if d in known and not refdata.is_current(known[d], today))
    return await rt.store.execute(
        SUGGESTION,
        c.suggestion_id,
        lambda loaded: sg.decide_submit(
            loaded.state, c, now=meta.now, is_street=street, terminated_deputy_ids=terminated
        ),
        meta,
        jurisdiction=code if valid else NOWHERE,  # an invalid code is refused by the decision
        new=True,  # a fresh id: no read before the append (its guard catches one that exists)
    )


async def assign_suggestion(c: AssignSuggestion, ctx: Context) -> Appended[Suggestion]:
    """交办. The lead and co-units must be registered units on the suggestion's path (``references.py``):
    looked up first, compared with the suggestion as loaded once access is settled (404 before 422)."""
    units = await references.units(ctx.rt, c.lead_unit_id, c.co_unit_ids)

    def decide(s: Suggestion, street: bool) -> list[Event]:
        references.require_units_on_path(s, c, units)
        return sg.decide_assign(s, c, now=ctx.meta.now, policy=ctx.policy, is_street=street, actor_role=ctx.role)

    return await handle(ctx, c.suggestion_id, role_check(*ASSIGNING), decide)


# -- the organizer unit's steps -----------------------------------------------------------------
async def acknowledge_suggestion(c: AcknowledgeSuggestion, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_acknowledge(s, unit_id=ctx.acting_unit, now=ctx.meta.now),
    )


async def return_suggestion(c: ReturnSuggestion, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_return(s, c, unit_id=ctx.acting_unit, now=ctx.meta.now),
    )


async def record_consultation(c: RecordConsultation, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_consult(s, c, unit_id=ctx.acting_unit, now=ctx.meta.now, policy=ctx.policy),
    )


async def reply_to_suggestion(c: ReplyToSuggestion, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_reply(s, c, unit_id=ctx.acting_unit, now=ctx.meta.now, policy=ctx.policy),
    )


async def record_implementation(c: RecordImplementation, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_implementation(s, c, unit_id=ctx.acting_unit, now=ctx.meta.now, policy=ctx.policy),
    )


# -- the deputy ---------------------------------------------------------------------------------
async def evaluate_suggestion(c: EvaluateSuggestion, ctx: Context) -> Appended[Suggestion]:
    """Only the lead deputy's own login evaluates: never staff, never the unit, never the system."""
    p = ctx.principal
    deputy_id = p.deputy_id if p is not None and p.role == "deputy" else None
    return await handle(
        ctx,
        c.suggestion_id,
        see_check,
        lambda s, _: sg.decide_evaluate(s, c, deputy_id=deputy_id, now=ctx.meta.now, policy=ctx.policy),
    )
