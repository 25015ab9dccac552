"""Command handlers for organizer units (承办单位) and constituents' opinions (群众意见)."""

from __future__ import annotations

import uuid

from libs.auth.access import Access, Scope
from libs.auth.actor import Principal
from libs.events.store import Appended, CommandMeta
from libs.reference import deputies as refdata
from libs.service.runtime import ServiceRuntime
from libs.web.errors import Forbidden
from services.suggestions.commands import STAFF_ACTORS, policy_of
from services.suggestions.domain import opinion as op
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain import unit
from services.suggestions.domain.commands import AnswerOpinion, ConvertOpinion, RecordOpinion, RegisterOrganizerUnit
from services.suggestions.domain.errors import NotFound
from services.suggestions.domain.opinion import CONSTITUENT_OPINION, ConstituentOpinion
from services.suggestions.domain.state import SUGGESTION, Suggestion
from services.suggestions.domain.unit import ORGANIZER_UNIT, OrganizerUnit
from services.suggestions.projections import ref

CONVERT_NS = uuid.UUID("9c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f")
UNIT_REGISTRARS = ("city_staff", "county_staff", "township_staff")


async def register_unit(
    rt: ServiceRuntime, c: RegisterOrganizerUnit, meta: CommandMeta, principal: Principal | None = None
) -> Appended[OrganizerUnit]:
    if principal is not None:
        if principal.role not in UNIT_REGISTRARS:
            raise Forbidden()
        Access(principal).require_inside(c.jurisdiction)
    code = c.jurisdiction.strip()
    where = code if code.isdigit() and len(code) in (6, 9) else "000000"  # an invalid code is refused below
    return await rt.store.execute(
        ORGANIZER_UNIT,
        c.unit_id,
        lambda loaded: unit.decide_register(loaded.state, c, now=meta.now),
        meta,
        jurisdiction=where,
    )


def opinion_scope(o: ConstituentOpinion) -> Scope | None:
    return None if o.status == "new" else Scope(jurisdiction=o.jurisdiction, deputy_ids=(o.deputy_id,))


async def record_opinion(
    rt: ServiceRuntime, c: RecordOpinion, meta: CommandMeta, principal: Principal | None = None
) -> Appended[ConstituentOpinion]:
    """A deputy records what constituents told them (their own login), or staff record it for them."""
    if principal is not None:
        if principal.role == "deputy":
            if principal.deputy_id != c.deputy_id:
                raise Forbidden("代表只能登记本人收集的群众意见。")
            if not principal.sees(c.jurisdiction):
                raise Forbidden(f"代表只能在本人所在的辖区登记群众意见（township：{c.jurisdiction}）。")
        elif principal.role in STAFF_ACTORS or principal.role == "city_staff":
            Access(principal).require_inside(c.jurisdiction, "township")
        else:
            raise Forbidden()
    policy = policy_of(rt)
    today = meta.now.astimezone(policy.tz).date()
    async with rt.engine.connect() as conn:
        known = await refdata.deputy(conn, ref, c.deputy_id)
        current = await refdata.current_ids(conn, ref, [c.deputy_id], today)
    terminated = known is not None and c.deputy_id not in current
    code = c.jurisdiction.strip()
    where = code if code.isdigit() and len(code) == 9 else "000000000"
    return await rt.store.execute(
        CONSTITUENT_OPINION,
        c.opinion_id,
        lambda loaded: op.decide_record(loaded.state, c, now=meta.now, tz=policy.tz, deputy_terminated=terminated),
        meta,
        jurisdiction=where,
    )


async def _load_opinion(rt: ServiceRuntime, opinion_id: str, principal: Principal | None):  # type: ignore[no-untyped-def]
    loaded = await rt.store.load(CONSTITUENT_OPINION, opinion_id)
    if principal is not None:
        Access(principal).require(opinion_scope(loaded.state), STAFF_ACTORS)
    elif not loaded.exists:
        raise NotFound("找不到该群众意见，或您无权查看。")
    return loaded


async def convert_opinion(
    rt: ServiceRuntime,
    opinion_id: str,
    meta: CommandMeta,
    principal: Principal | None = None,
    *,
    title: str | None = None,
) -> tuple[Appended[ConstituentOpinion], Appended[Suggestion]]:
    """The opinion becomes a suggestion (source ``constituents_opinion``, linked); a retry completes it."""
    loaded = await _load_opinion(rt, opinion_id, principal)
    suggestion_id = loaded.state.suggestion_id or str(uuid.uuid5(CONVERT_NS, f"{opinion_id}/{meta.command_id}"))
    submission = op.opinion_submission(loaded.state, suggestion_id=suggestion_id, title=title)
    if loaded.applied(meta.command_id):
        first = Appended(loaded, (), "RENDA_SUGGESTIONS", loaded.last_stream_seq)
    else:
        events = op.decide_convert(loaded.state, ConvertOpinion(opinion_id, suggestion_id), now=meta.now)
        sg.decide_submit(Suggestion(id=suggestion_id), submission, now=meta.now, is_street=False)  # refusals first
        first = await rt.store.append(loaded, events, meta)
    second = await rt.store.execute(
        SUGGESTION,
        suggestion_id,
        lambda s: [] if s.exists else sg.decide_submit(s.state, submission, now=meta.now, is_street=False),
        meta,
        jurisdiction=submission.jurisdiction,
    )
    return first, second


async def answer_opinion(
    rt: ServiceRuntime, c: AnswerOpinion, meta: CommandMeta, principal: Principal | None = None
) -> Appended[ConstituentOpinion]:
    loaded = await _load_opinion(rt, c.opinion_id, principal)
    if loaded.applied(meta.command_id):
        return Appended(loaded, (), "RENDA_SUGGESTIONS", loaded.last_stream_seq)
    return await rt.store.append(loaded, op.decide_answer(loaded.state, c, now=meta.now), meta)
