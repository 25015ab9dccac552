"""What every command handler of this context receives beside its command, and the one load path.

Every handler is ``async def name(command, ctx: Context) -> Appended[...]``. ``ctx.principal``
None is the system (a reaction such as the joint-inspection process manager, or the operator):
access is not checked, the domain rules still are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from libs.auth.access import Access, Scope
from libs.auth.actor import Principal
from libs.db.engine import reading
from libs.domain.errors import DomainError
from libs.events.errors import ConcurrencyConflict
from libs.events.event import Event
from libs.events.store import Appended, CommandMeta, EventStore, Loaded
from libs.events.subjects import stream_name
from libs.reference import deputies as refdata
from libs.service.runtime import ServiceRuntime
from libs.web.deps import CommandContext
from libs.web.errors import Forbidden, NotVisible
from services.suggestions.domain.errors import SuggestionNotFound
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import SUGGESTION, Suggestion
from services.suggestions.projections import ref, reference

STREAM = stream_name("suggestions")
UNIT_ROLES = ("organizer", "township_staff", "county_staff")  # the lead unit, or staff on its behalf
STAFF_ACTORS = ("township_staff", "county_staff")
ASSIGNING = ("county_staff", "township_staff")  # the street rule is the domain's (rules.check_street)
NOWHERE = "000000"
UNKNOWN_CODES_KEPT = 10_000
Check = Callable[[Access, Scope | None], None]
Decide = Callable[[Suggestion, bool], list[Event]]
# What a decision on a possibly stale state may answer, and is then decided again on a fresh load.
REFUSALS = (DomainError, Forbidden, NotVisible, ConcurrencyConflict)


@dataclass(frozen=True)
class Context:
    """The runtime, the command's meta and who acts (None: the system, as ``actor_role``)."""

    rt: ServiceRuntime
    meta: CommandMeta
    principal: Principal | None = None
    actor_role: str | None = None  # a system caller acting with a role's authority (county_staff)

    @classmethod
    def of(cls, ctx: CommandContext) -> Context:
        return cls(ctx.runtime, ctx.meta, ctx.principal)

    @property
    def store(self) -> EventStore:
        return self.rt.store

    @property
    def role(self) -> str:
        if self.actor_role is not None:
            return self.actor_role
        return self.principal.role if self.principal is not None else self.meta.actor.role

    @property
    def policy(self) -> SuggestionPolicy:
        return policy_of(self.rt)

    @property
    def acting_unit(self) -> str | None:
        p = self.principal
        return p.unit_id if p is not None and p.role == "organizer" else None


def policy_of(rt: ServiceRuntime) -> SuggestionPolicy:
    policy: SuggestionPolicy | None = rt.extras.get("suggestion_policy")
    if policy is None:
        policy = rt.extras["suggestion_policy"] = SuggestionPolicy.from_settings(rt.settings)
    return policy


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


def role_check(*roles: str) -> Check:
    return lambda access, scope: access.require(scope, roles)


def see_check(access: Access, scope: Scope | None) -> None:
    access.require_visible(scope)


def done(loaded: Loaded[Suggestion]) -> Appended[Suggestion]:
    return Appended(loaded, (), STREAM, loaded.last_stream_seq)


async def handle(ctx: Context, suggestion_id: str, check: Check, decide: Decide) -> Appended[Suggestion]:
    """Load one suggestion, check the caller against it, decide, append (a retry decides nothing).

    A state this process holds is tried first, without asking the server for newer events: the
    append's expected-sequence guard refuses it if the suggestion moved on. Only an append
    stands on it; a refusal (of access or of the domain) and a lost guard are decided again on
    a fresh load, so a stale state never answers a caller. Anything else (NATS down, a bug)
    is not a refusal: it surfaces (a logged 500 with the correlation id).
    """
    rt, meta, principal = ctx.rt, ctx.meta, ctx.principal
    held = rt.store.held(SUGGESTION, suggestion_id)
    if held is not None and not held.applied(meta.command_id):
        street = await is_street(rt, held.state.jurisdiction)
        try:
            if principal is not None:
                check(Access(principal), scope_of(held.state, street))
            events = decide(held.state, street)
            if events:
                return await rt.store.append(held, events, meta)
        except REFUSALS:
            pass  # maybe only because the state is stale: decided again below on a fresh load
    loaded = await rt.store.load(SUGGESTION, suggestion_id)
    street = await is_street(rt, loaded.state.jurisdiction) if loaded.exists else False
    if principal is not None:
        check(Access(principal), scope_of(loaded.state, street))
    elif not loaded.exists:
        raise SuggestionNotFound()
    if loaded.applied(meta.command_id):
        return done(loaded)
    return await rt.store.append(loaded, decide(loaded.state, street), meta)
