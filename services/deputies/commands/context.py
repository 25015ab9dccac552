"""What every handler of this context shares: the operator's context, ids, and the named records.

Every id a body names must exist and be visible to the caller; an unknown and a foreign id get
the same 422 naming the field (``require_known``), so nothing about other jurisdictions leaks.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from libs.auth.access import Scope
from libs.auth.actor import Principal
from libs.domain.errors import UnknownReference
from libs.events.aggregate import AggregateType
from libs.events.envelope import Actor
from libs.events.event import Event
from libs.events.store import Appended, CommandMeta, EventStore, Loaded
from libs.web.deps import CommandContext
from libs.web.errors import NotVisible
from services.deputies.domain.deputy import DEPUTY, Deputy
from services.deputies.domain.jurisdiction import JURISDICTION, Jurisdiction
from services.deputies.domain.rules import Policy
from services.deputies.events import DeputyRegistered

S = TypeVar("S")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
ID_NS = uuid.UUID("6f1c2a0e-93d4-4b8e-a1f7-2c5d9e0b7a41")


@dataclass
class OperatorContext:
    """The operator's context (``renda`` verbs): no caller to scope, the whole tree in reach."""

    store: EventStore
    meta: CommandMeta
    principal: Principal | None = None

    def answered(self, done: Appended[Any]) -> None:
        """Nobody waits on a read model here."""


Context = CommandContext | OperatorContext


def operator(store: EventStore, action: str = "operator", *, command_id: str | None = None) -> OperatorContext:
    """An operator's context; ``command_id`` fixed makes a re-run of the same work record nothing twice."""
    meta = CommandMeta(
        actor=Actor(subject="operator:cli", role="operator"),
        correlation_id=f"cli:{action}",
        command_id=command_id or str(uuid.uuid4()),
        now=datetime.now(UTC),
    )
    return OperatorContext(store, meta)


async def run(
    ctx: Context,
    agg: AggregateType[S],
    aggregate_id: str,
    decide: Callable[[Loaded[S]], list[Event]],
    *,
    jurisdiction: str | None = None,
    new: bool = False,
) -> Appended[S]:
    """Load, decide, append (a retried command decides nothing again); tell the client where."""
    done = await ctx.store.execute(agg, aggregate_id, decide, ctx.meta, jurisdiction=jurisdiction, new=new)
    ctx.answered(done)
    return done


def new_id(meta: CommandMeta, what: str) -> str:
    """A fresh aggregate id, stable for a retried command (same command id → same id)."""
    if not meta.command_id:
        return str(uuid.uuid4())
    return str(uuid.uuid5(ID_NS, f"{meta.command_id}/{what}"))


def today(ctx: CommandContext) -> date:
    return ctx.meta.now.astimezone(ctx.runtime.settings.tz).date()


def require_id(value: str) -> str:
    """An aggregate id as the store can address it; anything else names no record (404)."""
    if not ID_PATTERN.match(value):
        raise NotVisible()
    return value


async def load_place(store: EventStore, code: str | None) -> Jurisdiction | None:
    """A registered jurisdiction of the tree, or None."""
    if not code or not code.isdigit() or len(code) not in (4, 6, 9):
        return None
    j = (await store.load(JURISDICTION, code, jurisdiction=code)).state
    return j if j.registered else None


def deputy_scope(d: Loaded[Deputy]) -> Scope | None:
    """What access needs of a deputy's record; None when there is no such deputy."""
    if not d.state.registered:
        return None
    return Scope(jurisdiction=d.jurisdiction, deputy_ids=(d.id,))


@dataclass(frozen=True)
class DeputyFile:
    """A deputy as its events tell: state, where it lives, and its registration (sector, phone)."""

    state: Deputy
    jurisdiction: str | None
    registered: DeputyRegistered | None


async def deputy_files(store: EventStore, ids: Iterable[str]) -> dict[str, DeputyFile]:
    async def one(deputy_id: str) -> DeputyFile:
        envs = await store.read(DEPUTY, deputy_id) if ID_PATTERN.match(deputy_id) else []
        state = DEPUTY.replay(deputy_id, [e.data for e in envs])
        first = envs[0].data if envs and isinstance(envs[0].data, DeputyRegistered) else None
        return DeputyFile(state, envs[0].jurisdiction if envs else None, first)

    unique = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    files = await asyncio.gather(*(one(i) for i in unique))
    return dict(zip(unique, files, strict=True))


def sees(principal: Principal | None, jurisdiction: str | None) -> bool:
    """The operator sees everything; a caller what lies inside its jurisdiction prefix."""
    return principal is None or principal.sees(jurisdiction)


def require_known(principal: Principal | None, files: dict[str, DeputyFile], field: str, ids: Iterable[str]) -> None:
    """Every deputy named in ``field`` exists and lies inside the caller's jurisdiction (else 422).

    Unknown and foreign ids get the same answer: nothing says that a foreign one exists.
    """
    named = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    unknown = [
        i
        for i in named
        if i not in files or not files[i].state.registered or not sees(principal, files[i].jurisdiction)
    ]
    if unknown:
        raise UnknownReference(field, "代表", unknown)


POLICY = "deputies_policy"  # the runtime's extras key for this context's ``Policy`` (set by app.py)


def policy_of(ctx: CommandContext) -> Policy:
    found = ctx.runtime.extras.get(POLICY)
    return found if isinstance(found, Policy) else Policy()
