"""Command handlers of the suggestions context: load, check access, decide, append.

Each handler takes the service runtime, a domain command (plain values), the command's meta and
the caller. ``principal`` None is the system (a reaction such as the joint-inspection process
manager, or the operator): access is not checked, the domain rules still are. Opinions and
organizer units are in ``opinion_commands.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import structlog

from libs.auth.access import ASSIGNERS, STREET_REFUSAL, Access, Scope
from libs.auth.actor import Principal
from libs.events.event import Event
from libs.events.store import Appended, CommandMeta, Loaded
from libs.events.subjects import stream_name
from libs.service.runtime import ServiceRuntime
from libs.web.errors import Forbidden
from services.deputies import reference as refdata
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AddAttachment,
    AssignSuggestion,
    EscalateSuggestion,
    EvaluateSuggestion,
    ExtendDeadline,
    JustifyUnsatisfied,
    MergeSuggestion,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    SetKeySupervision,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import SuggestionNotFound
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import SUGGESTION, Suggestion
from services.suggestions.projections import ref

log = structlog.get_logger("suggestions")
STREAM = stream_name("suggestions")
UNIT_ROLES = ("organizer", "township_staff", "county_staff")  # the lead unit, or staff on its behalf
STAFF_ACTORS = ("township_staff", "county_staff")
NOWHERE = "000000"
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
    async with rt.engine.connect() as conn:
        return await refdata.is_street(conn, ref, code)


def scope_of(s: Suggestion, street: bool) -> Scope | None:
    if s.status == "new":
        return None
    return Scope(jurisdiction=s.jurisdiction, deputy_ids=s.deputy_ids, lead_unit=s.lead_unit_id,
                 co_units=s.co_unit_ids, street=street)


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
    rt: ServiceRuntime, suggestion_id: str, meta: CommandMeta, principal: Principal | None, check: Check,
    decide: Decide,
) -> Appended[Suggestion]:
    """Load one suggestion, check the caller against it, decide, append (a retry decides nothing)."""
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
        else:
            Access(principal).require_inside(c.jurisdiction, "township")
    code = c.jurisdiction.strip()
    async with rt.engine.connect() as conn:
        street = await refdata.is_street(conn, ref, code)
        today = meta.now.astimezone(policy_of(rt).tz).date()
        current = await refdata.current_ids(conn, ref, list(c.deputy_ids), today)
        known = await refdata.deputies(conn, ref, list(c.deputy_ids))
    # Known to the deputies context and not current today: terminated (unknown ids are not refused).
    terminated = frozenset(d for d in c.deputy_ids if d in known and d not in current)
    valid = code.isdigit() and len(code) in (6, 9)
    return await rt.store.execute(
        SUGGESTION, c.suggestion_id,
        lambda loaded: sg.decide_submit(loaded.state, c, now=meta.now, is_street=street,
                                        terminated_deputy_ids=terminated),
        meta, jurisdiction=code if valid else NOWHERE,  # an invalid code is refused by the decision
    )


async def assign_suggestion(
    rt: ServiceRuntime, c: AssignSuggestion, meta: CommandMeta, principal: Principal | None = None,
    *, actor_role: str | None = None,
) -> Appended[Suggestion]:
    """交办. ``actor_role`` for a system caller (a county-launched joint inspection: ``county_staff``)."""
    role = actor_role or (principal.role if principal is not None else meta.actor.role)
    return await handle(rt, c.suggestion_id, meta, principal, check_assigner, lambda s, street: sg.decide_assign(
        s, c, now=meta.now, policy=policy_of(rt), is_street=street, actor_role=role))


# -- the organizer unit's steps -----------------------------------------------------------------
async def acknowledge_suggestion(
    rt: ServiceRuntime, suggestion_id: str, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(rt, suggestion_id, meta, principal, role_check(*UNIT_ROLES), lambda s, _: (
        sg.decide_acknowledge(s, unit_id=acting_unit(principal), now=meta.now)))


async def return_suggestion(
    rt: ServiceRuntime, c: ReturnSuggestion, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(rt, c.suggestion_id, meta, principal, role_check(*UNIT_ROLES), lambda s, _: (
        sg.decide_return(s, c, unit_id=acting_unit(principal), now=meta.now)))


async def record_consultation(
    rt: ServiceRuntime, c: RecordConsultation, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(rt, c.suggestion_id, meta, principal, role_check(*UNIT_ROLES), lambda s, _: (
        sg.decide_consult(s, c, unit_id=acting_unit(principal), now=meta.now, policy=policy_of(rt))))


async def reply_to_suggestion(
    rt: ServiceRuntime, c: ReplyToSuggestion, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(rt, c.suggestion_id, meta, principal, role_check(*UNIT_ROLES), lambda s, _: (
        sg.decide_reply(s, c, unit_id=acting_unit(principal), now=meta.now, policy=policy_of(rt))))


async def record_implementation(
    rt: ServiceRuntime, c: RecordImplementation, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(rt, c.suggestion_id, meta, principal, role_check(*UNIT_ROLES), lambda s, _: (
        sg.decide_implementation(s, c, unit_id=acting_unit(principal), now=meta.now, policy=policy_of(rt))))


# -- the deputy ---------------------------------------------------------------------------------
async def evaluate_suggestion(
    rt: ServiceRuntime, c: EvaluateSuggestion, meta: CommandMeta, principal: Principal
) -> Appended[Suggestion]:
    """Only the lead deputy's own login evaluates: never staff, never the unit, never the system."""
    deputy_id = principal.deputy_id if principal.role == "deputy" else None
    return await handle(rt, c.suggestion_id, meta, principal, see_check, lambda s, _: (
        sg.decide_evaluate(s, c, deputy_id=deputy_id, now=meta.now, policy=policy_of(rt))))


# -- the presidium and the county committee -----------------------------------------------------
async def extend_deadline(
    rt: ServiceRuntime, c: ExtendDeadline, meta: CommandMeta, principal: Principal | None = None,
    *, actor_role: str | None = None,
) -> Appended[Suggestion]:
    role = actor_role or (principal.role if principal is not None else meta.actor.role)
    return await handle(rt, c.suggestion_id, meta, principal, check_assigner, lambda s, street: (
        sg.decide_extend(s, c, now=meta.now, is_street=street, actor_role=role)))


async def set_key_supervision(
    rt: ServiceRuntime, c: SetKeySupervision, meta: CommandMeta, principal: Principal | None = None,
    *, actor_role: str | None = None,
) -> Appended[Suggestion]:
    role = actor_role or (principal.role if principal is not None else meta.actor.role)
    return await handle(rt, c.suggestion_id, meta, principal, check_assigner, lambda s, street: (
        sg.decide_key_supervision(s, c, now=meta.now, is_street=street, actor_role=role)))


async def justify_unsatisfied(
    rt: ServiceRuntime, c: JustifyUnsatisfied, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(rt, c.suggestion_id, meta, principal, role_check(*STAFF_ACTORS), lambda s, _: (
        sg.decide_justify_unsatisfied(s, c, now=meta.now)))


async def merge_suggestion(
    rt: ServiceRuntime, c: MergeSuggestion, meta: CommandMeta, principal: Principal | None = None
) -> tuple[Appended[Suggestion], Appended[Suggestion]]:
    """并案: the merged one closes with its link, then its deputies join the target (each append guarded).

    A retry with the same command id finds the first append done and completes the second.
    """
    source = await rt.store.load(SUGGESTION, c.suggestion_id)
    target = await rt.store.load(SUGGESTION, c.into_id)
    if principal is not None:
        access = Access(principal)
        access.require(scope_of(source.state, False), STAFF_ACTORS)
        if target.exists and not access.sees(scope_of(target.state, False)):  # type: ignore[arg-type]
            target = replace(target, state=Suggestion(id=c.into_id))  # unseen: as if missing
    elif not source.exists:
        raise SuggestionNotFound()
    if source.applied(meta.command_id):
        first = done(source)
    else:
        first = await rt.store.append(source, sg.decide_merge(source.state, c, target=target.state, now=meta.now),
                                      meta)
    target = await rt.store.load(SUGGESTION, c.into_id)
    if target.applied(meta.command_id):
        return first, done(target)
    events = sg.decide_receive_merge(target.state, first.loaded.state, now=meta.now)
    return first, await rt.store.append(target, events, meta)


async def escalate_suggestion(
    rt: ServiceRuntime, suggestion_id: str, reason: str, meta: CommandMeta, principal: Principal | None = None
) -> tuple[Appended[Suggestion], Appended[Suggestion]]:
    """向上反映: the original closes as escalated, then the linked county-level suggestion is submitted.

    The county suggestion's id derives from the command id, so a retry completes the same one.
    """
    county_id = str(uuid.uuid5(ATTACH_NS, f"escalate/{meta.command_id}"))
    c = EscalateSuggestion(suggestion_id=suggestion_id, escalated_to=county_id, reason=reason)
    first = await handle(rt, suggestion_id, meta, principal, role_check(*STAFF_ACTORS), lambda s, street: (
        sg.decide_escalate(s, c, now=meta.now, is_street=street)))
    original = first.loaded.state
    target_id = original.escalated_to or county_id
    submission = sg.escalated_submission(original, escalated_to=target_id)
    second = await rt.store.execute(
        SUGGESTION, target_id,
        lambda loaded: [] if loaded.exists else sg.decide_submit(loaded.state, submission, now=meta.now,
                                                                 is_street=False),
        meta, jurisdiction=submission.jurisdiction,
    )
    log.info("suggestion.escalated", suggestion_id=suggestion_id, county_suggestion_id=target_id)
    return first, second


async def add_attachment(
    rt: ServiceRuntime, suggestion_id: str, *, filename: str, content_type: str, sha256: str, size: int,
    meta: CommandMeta, principal: Principal | None = None,
) -> tuple[Appended[Suggestion], str]:
    """Record a stored file (see ``attachments.py``); anyone who sees the suggestion may attach."""
    attachment_id = str(uuid.uuid5(ATTACH_NS, f"{meta.command_id}/{sha256}"))
    c = AddAttachment(suggestion_id=suggestion_id, attachment_id=attachment_id, filename=filename,
                      content_type=content_type, sha256=sha256, size=size)
    appended = await handle(rt, suggestion_id, meta, principal, see_check, lambda s, _: (
        sg.decide_attachment(s, c, now=meta.now)))
    return appended, attachment_id
