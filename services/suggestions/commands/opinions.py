"""Command handlers of constituents' opinions (群众意见): record, convert to a suggestion, answer."""

from __future__ import annotations

import uuid
from dataclasses import replace

from libs.auth.access import Access, Scope
from libs.events.store import Appended, Loaded
from libs.reference import deputies as refdata
from libs.web.errors import Forbidden
from services.suggestions.commands import references
from services.suggestions.commands.context import STAFF_ACTORS, STREAM, Context
from services.suggestions.domain import opinion as op
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import AnswerOpinion, ConvertOpinion, RecordOpinion
from services.suggestions.domain.errors import NotFound
from services.suggestions.domain.opinion import CONSTITUENT_OPINION, ConstituentOpinion
from services.suggestions.domain.state import SUGGESTION, Suggestion

CONVERT_NS = uuid.UUID("9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f")


def opinion_scope(o: ConstituentOpinion) -> Scope | None:
    return None if o.status == "new" else Scope(jurisdiction=o.jurisdiction, deputy_ids=(o.deputy_id,))


async def record_opinion(c: RecordOpinion, ctx: Context) -> Appended[ConstituentOpinion]:
    """A deputy records what constituents told them (their own login), or staff record it for them.

    The deputy named must be a deputy of that township (else 422 ``deputy_id``, unknown or foreign alike).
    """
    p, meta = ctx.principal, ctx.meta
    if p is not None:
        if p.role == "deputy":
            if p.deputy_id != c.deputy_id:
                raise Forbidden("代表只能登记本人收集的群众意见。")
            if not p.sees(c.jurisdiction):
                raise Forbidden(f"代表只能在本人所在的辖区登记群众意见（township：{c.jurisdiction}）。")
        elif p.role in STAFF_ACTORS or p.role == "city_staff":
            Access(p).require_inside(c.jurisdiction, "township")
        else:
            raise Forbidden()
    policy = ctx.policy
    today = meta.now.astimezone(policy.tz).date()
    code = c.jurisdiction.strip()
    valid = code.isdigit() and len(code) == 9
    terminated = False
    if valid and c.deputy_id.strip():
        known = await references.deputies_of(ctx.rt, "deputy_id", [c.deputy_id], code)
        terminated = not refdata.is_current(known[c.deputy_id], today)
    return await ctx.store.execute(
        CONSTITUENT_OPINION,
        c.opinion_id,
        lambda loaded: op.decide_record(loaded.state, c, now=meta.now, tz=policy.tz, deputy_terminated=terminated),
        meta,
        jurisdiction=code if valid else "000000000",
        new=True,
    )


async def _load_opinion(ctx: Context, opinion_id: str) -> Loaded[ConstituentOpinion]:
    loaded = await ctx.store.load(CONSTITUENT_OPINION, opinion_id)
    if ctx.principal is not None:
        Access(ctx.principal).require(opinion_scope(loaded.state), STAFF_ACTORS)
    elif not loaded.exists:
        raise NotFound("找不到该群众意见，或您无权查看。")
    return loaded


async def convert_opinion(c: ConvertOpinion, ctx: Context) -> tuple[Appended[ConstituentOpinion], Appended[Suggestion]]:
    """The opinion becomes a suggestion (source ``constituents_opinion``, linked); a retry completes it."""
    meta = ctx.meta
    loaded = await _load_opinion(ctx, c.opinion_id)
    suggestion_id = (
        loaded.state.suggestion_id
        or c.suggestion_id
        or str(uuid.uuid5(CONVERT_NS, f"{c.opinion_id}/{meta.command_id}"))
    )
    c = replace(c, suggestion_id=suggestion_id)
    submission = op.opinion_submission(loaded.state, suggestion_id=suggestion_id, title=c.title)
    if loaded.applied(meta.command_id):
        first = Appended(loaded, (), STREAM, loaded.last_stream_seq)
    else:
        events = op.decide_convert(loaded.state, c, now=meta.now)
        sg.decide_submit(Suggestion(id=suggestion_id), submission, now=meta.now, is_street=False)  # refusals first
        first = await ctx.store.append(loaded, events, meta)
    second = await ctx.store.execute(
        SUGGESTION,
        suggestion_id,
        lambda s: [] if s.exists else sg.decide_submit(s.state, submission, now=meta.now, is_street=False),
        meta,
        jurisdiction=submission.jurisdiction,
    )
    return first, second


async def answer_opinion(c: AnswerOpinion, ctx: Context) -> Appended[ConstituentOpinion]:
    loaded = await _load_opinion(ctx, c.opinion_id)
    if loaded.applied(ctx.meta.command_id):
        return Appended(loaded, (), STREAM, loaded.last_stream_seq)
    return await ctx.store.append(loaded, op.decide_answer(loaded.state, c, now=ctx.meta.now), ctx.meta)
