"""Command handlers of the suggestions context: load, check access, decide, append.

Each handler takes the service runtime, a domain command (plain values), the command's meta and
the caller. ``principal`` None is the system (a reaction such as the joint-inspection process
manager, or the operator): access is not checked, the domain rules still are. The presidium's
and the county's commands are in ``oversight_commands.py``; opinions and organizer units in
``opinion_commands.py``.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import structlog

from libs.auth.access import ASSIGNERS, STREET_REFUSAL, Access, Scope
from libs.auth.actor import Principal
from libs.db.engine import reading
from libs.events.event import Event
from libs.events.store import Appended, CommandMeta, Loaded
from libs.events.subjects import stream_name
from libs.reference import deputies as refdata
from libs.service.runtime import ServiceRuntime
from libs.web.errors import Forbidden
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EvaluateSuggestion,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import SuggestionNotFound
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import SUGGESTION, Suggestion
from services.suggestions.projections import ref, reference

log = structlog.get_logger("suggestions")
STREAM = stream_name("suggestions")
UNIT_ROLES = ("organizer", "township_staff", "county_staff")  # the lead unit, or staff on its behalf
STAFF_ACTORS = ("township_staff", "county_staff")
NOWHERE = "000000"
UNKNOWN_CODES_KEPT = 10_000
ATTACH_NS = uuid.UUID("2f3e4c5d-6a7b-4c8d-9e0f-a1b2c3d4e5f6")
Check = Callable[[Access, Scope | None], None]
Decide = Callable[[Suggestion, bool], list[Event]]


class StreetRefused(Forbidden):
    """Street working committees do not assign, extend or set key supervision (403 ``not_for_street``)."""

    code = "not_for_street"
    message = STREET_REFUSAL


def policy_of(rt: ServiceRuntime) -> SuggestionPolicy:
    policy = rt.extras.get("suggestion_policy")
    if policy is None:
        policy = rt.extras["suggestion_policy"] = SuggestionPolicy.from_settings(rt.settings)
    return policy  # type: ignore[no-any-return]


async def is_street(rt: ServiceRuntime, code: str) -> bool:
    """Whether ``code`` is a street (街道).

    A division's kind never changes, so a known one is kept; "not known yet" is kept only until
    the reference data next changes (the runner's generation), so a division registered later
    is seen at once.
    """
    kinds: dict[str, bool] = rt.extras.setdefault("suggestions_street", {})
    if code in kinds:
        return kinds[code]
    unknown: dict[str, int] = rt.extras.setdefault("suggestions_street_unknown", {})
    runner = rt.runners.get(reference.name)
    generation = runner.generation if runner is not None else None
    if generation is not None and unknown.get(code) == generation:
        return False
    async with reading(rt.engine) as conn:
        row = await refdata.jurisdiction(conn, ref, code)
    if row is None:
        if generation is not None and len(unknown) < UNKNOWN_CODES_KEPT:
            unknown[code] = generation
        return False  # not (yet) known to the reference data: not a street
    kinds[code] = row["kind"] == "street"
    return kinds[code]


def scope_of(s: Suggestion, street: bool) -> Scope | None:
    if s.status == "new":
        return None
    return Scope(
        jurisdiction=s.jurisdiction,
        deputy_ids=s.deputy_ids,
        lead_unit=s.lead_unit_id,
        co_units=s.co_unit_ids,
        street=street,
    )


def acting_unit(principal: Principal | None) -> str | None:
    return principal.unit_id if principal is not None and principal.role == "organizer" else None


def check_assigner(access: Access, scope: Scope | None) -> None:
    """Township staff of a township or county staff; for a street county staff only (403 not_for_street)."""
    access.require(scope, ASSIGNERS)
    assert scope is not None
    if scope.street and access.principal.role != "county_staff":
        raise StreetRefused()


def role_check(*roles: str) -> Check:
    return lambda access, scope: access.require(scope, roles)


def see_check(access: Access, scope: Scope | None) -> None:
    access.require_visible(scope)


def done(loaded: Loaded[Suggestion]) -> Appended[Suggestion]:
    return Appended(loaded, (), STREAM, loaded.last_stream_seq)


async def handle(
    rt: ServiceRuntime,
    suggestion_id: str,
    meta: CommandMeta,
    principal: Principal | None,
    check: Check,
    decide: Decide,
) -> Appended[Suggestion]:
    """Load one suggestion, check the caller against it, decide, append (a retry decides nothing).

    A state this process holds is tried first, without asking the server for newer events: the
    append's expected-sequence guard refuses it if the suggestion moved on. Only an append
    stands on it; a refusal (of access or of the domain) and a lost guard are decided again on
    a fresh load, so a stale state never answers a caller.
    """
    held = rt.store.held(SUGGESTION, suggestion_id)
    if held is not None and not held.applied(meta.command_id):
        with contextlib.suppress(Exception):
            street = await is_street(rt, held.state.jurisdiction)
            if principal is not None:
                check(Access(principal), scope_of(held.state, street))
            events = decide(held.state, street)
            if events:
                return await rt.store.append(held, events, meta)
    loaded = await rt.store.load(SUGGESTION, suggestion_id)
    street = await is_street(rt, loaded.state.jurisdiction) if loaded.exists else False
    if principal is not None:
        check(Access(principal), scope_of(loaded.state, street))
    elif not loaded.exists:
        raise SuggestionNotFound()
    if loaded.applied(meta.command_id):
        return done(loaded)
    return await rt.store.append(loaded, decide(loaded.state, street), meta)


# -- submit and assign --------------------------------------------------------------------------
async def submit_suggestion(
    rt: ServiceRuntime, c: SubmitSuggestion, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    """A new suggestion (``c.suggestion_id`` a fresh uuid4). Deputies submit their own; staff any inside."""
    if principal is not None:
        if principal.role == "deputy":
            if principal.deputy_id not in c.deputy_ids:
                raise Forbidden("代表只能提出本人领衔或联名的建议。")
            if not principal.sees(c.jurisdiction):
                raise Forbidden(f"代表只能向本人所在辖区提出建议（township：{c.jurisdiction}）。")
        else:
            Access(principal).require_inside(c.jurisdiction, "township")
    code = c.jurisdiction.strip()
    street = await is_street(rt, code)
    async with reading(rt.engine) as conn:
        today = meta.now.astimezone(policy_of(rt).tz).date()
        known = await refdata.deputies(conn, ref, list(c.deputy_ids))
    # Known to the deputies context and not current today: terminated (unknown ids are not refused).
    terminated = frozenset(d for d in c.deputy_ids if d in known and not refdata.is_current(known[d], today))
    valid = code.isdigit() and len(code) in (6, 9)
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


async def assign_suggestion(
    rt: ServiceRuntime,
    c: AssignSuggestion,
    meta: CommandMeta,
    principal: Principal | None = None,
    *,
    actor_role: str | None = None,
) -> Appended[Suggestion]:
    """交办. ``actor_role`` for a system caller (a county-launched joint inspection: ``county_staff``)."""
    role = actor_role or (principal.role if principal is not None else meta.actor.role)
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        check_assigner,
        lambda s, street: sg.decide_assign(s, c, now=meta.now, policy=policy_of(rt), is_street=street, actor_role=role),
    )


# -- the organizer unit's steps -----------------------------------------------------------------
async def acknowledge_suggestion(
    rt: ServiceRuntime, suggestion_id: str, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(
        rt,
        suggestion_id,
        meta,
        principal,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_acknowledge(s, unit_id=acting_unit(principal), now=meta.now),
    )


async def return_suggestion(
    rt: ServiceRuntime, c: ReturnSuggestion, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_return(s, c, unit_id=acting_unit(principal), now=meta.now),
    )


async def record_consultation(
    rt: ServiceRuntime, c: RecordConsultation, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_consult(s, c, unit_id=acting_unit(principal), now=meta.now, policy=policy_of(rt)),
    )


async def reply_to_suggestion(
    rt: ServiceRuntime, c: ReplyToSuggestion, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_reply(s, c, unit_id=acting_unit(principal), now=meta.now, policy=policy_of(rt)),
    )


async def record_implementation(
    rt: ServiceRuntime, c: RecordImplementation, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        role_check(*UNIT_ROLES),
        lambda s, _: sg.decide_implementation(s, c, unit_id=acting_unit(principal), now=meta.now, policy=policy_of(rt)),
    )


# -- the deputy ---------------------------------------------------------------------------------
async def evaluate_suggestion(
    rt: ServiceRuntime, c: EvaluateSuggestion, meta: CommandMeta, principal: Principal
) -> Appended[Suggestion]:
    """Only the lead deputy's own login evaluates: never staff, never the unit, never the system."""
    deputy_id = principal.deputy_id if principal.role == "deputy" else None
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        see_check,
        lambda s, _: sg.decide_evaluate(s, c, deputy_id=deputy_id, now=meta.now, policy=policy_of(rt)),
    )
