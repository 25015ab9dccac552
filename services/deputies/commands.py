"""Commands of the deputies context and their handlers: load, check access, decide, append.

Jurisdictions and deputies (registration, by-election, qualification, termination, duty
activities, contacts). Groups, the presidium and liaison stations: ``commands_bodies``.
New aggregates get ids derived from the command id, so a retry under the same
``Idempotency-Key`` finds its own earlier write and records nothing twice.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from libs.auth.access import STAFF_ROLES, Access, Scope
from libs.auth.actor import Principal
from libs.domain.errors import InvalidInput
from libs.events.event import Event
from libs.events.store import Appended, CommandMeta, EventStore, Loaded
from libs.web.deps import CommandContext
from libs.web.errors import Forbidden, NotVisible
from services.deputies.domain import deputy as deputy_
from services.deputies.domain import jurisdiction
from services.deputies.domain import presidium as presidium_
from services.deputies.domain.deputy import DEPUTY, Deputy
from services.deputies.domain.jurisdiction import JURISDICTION, Jurisdiction
from services.deputies.domain.presidium import PRESIDIUM
from services.deputies.events import DeputyRegistered, Kind

S = TypeVar("S")
ID_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
ID_NS = uuid.UUID("6f1c2a0e-93d4-4b8e-a1f7-2c5d9e0b7a41")


@dataclass(frozen=True)
class RegisterJurisdiction:
    code: str
    name: str
    kind: Kind
    parent: str | None = None


async def register_jurisdiction(
    c: RegisterJurisdiction, store: EventStore, principal: Principal | None, meta: CommandMeta
) -> Appended[Jurisdiction]:
    """``principal`` None is the operator (CLI), who may register any part of the tree."""
    if principal is not None and (not c.code.startswith(principal.jurisdiction) or c.code == principal.jurisdiction):
        raise Forbidden("只能登记本辖区之下的区划。")
    jurisdiction.check_code(c.code, c.kind)
    parent: Jurisdiction | None = None
    if c.parent:
        if not c.parent.isdigit() or len(c.parent) not in (4, 6):
            raise InvalidInput("parent", f"上级区划代码应为 4 位（市）或 6 位（县、区）数字，收到「{c.parent}」。")
        parent = (await store.load(JURISDICTION, c.parent, jurisdiction=c.parent)).state

    def decide(stream: Loaded[Jurisdiction]) -> list:  # type: ignore[type-arg]
        return jurisdiction.decide_register(stream.state, name=c.name, kind=c.kind, parent=parent)

    return await store.execute(JURISDICTION, c.code, decide, meta, jurisdiction=c.code)


# -- shared helpers -------------------------------------------------------------------------------
def new_id(meta: CommandMeta, what: str) -> str:
    """A fresh aggregate id, stable for a retried command (same command id → same id)."""
    if not meta.command_id:
        return str(uuid.uuid4())
    return str(uuid.uuid5(ID_NS, f"{meta.command_id}/{what}"))


def today(ctx: CommandContext) -> date:
    return ctx.meta.now.astimezone(ctx.runtime.settings.tz).date()


async def apply(ctx: CommandContext, loaded: Loaded[S], decide: Callable[[Loaded[S]], list[Event]]) -> Appended[S]:
    """Decide on an aggregate already loaded (and access-checked) and append; a retry decides nothing."""
    if loaded.applied(ctx.meta.command_id):
        return Appended(loaded, (), "RENDA_DEPUTIES", loaded.last_stream_seq)
    done = await ctx.store.append(loaded, decide(loaded), ctx.meta)
    ctx.answered(done)
    return done


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


def require_id(value: str) -> str:
    """An aggregate id as the store can address it; anything else names no record (404)."""
    if not ID_PATTERN.match(value):
        raise NotVisible()
    return value


async def load_deputy(store: EventStore, deputy_id: str) -> Loaded[Deputy]:
    return await store.load(DEPUTY, require_id(deputy_id))


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

    unique = list(dict.fromkeys(i for i in ids if i))
    files = await asyncio.gather(*(one(i) for i in unique))
    return dict(zip(unique, files, strict=True))


def require_known(ctx: CommandContext, files: dict[str, DeputyFile], field: str) -> None:
    """Every named deputy exists and lies inside the caller's jurisdiction (else 422 naming the field)."""
    unknown = [i for i, f in files.items() if not f.state.registered or not ctx.principal.sees(f.jurisdiction)]
    if unknown:
        raise InvalidInput(field, f"找不到以下代表（未登记或不在本辖区）：{'、'.join(unknown)}。")


# -- deputies -------------------------------------------------------------------------------------
def home_of(level: str, congress: str, township: str | None) -> str:
    """Where a deputy's record lives: the township or street where grouped, else the congress."""
    where = (township or "").strip() or (congress.strip() if level == "township" else "")
    if not where and congress.strip().isdigit() and len(congress.strip()) in (4, 6):
        where = congress.strip()
    if not (where.isdigit() and len(where) in (4, 6, 9)):
        raise InvalidInput("township", "请填写代表编组所在的乡镇（街道）9 位行政区划代码。")
    return where


async def check_registration(c: deputy_.RegisterDeputy, store: EventStore, principal: Principal | None) -> str:
    """Where the deputy will live, after the checks that need the tree; ``principal`` None: the operator."""
    home = home_of(c.level, c.congress, c.township)
    if principal is not None:
        Access(principal).require_inside(home, "township")
    congress = await load_place(store, c.congress.strip())
    if c.level == "township" and congress is None:
        raise InvalidInput("congress", f"乡镇 {c.congress} 尚未登记，请先登记区划。")
    if c.township:
        place = await load_place(store, c.township.strip())
        if place is None or place.kind not in ("township", "street"):
            raise InvalidInput("township", f"编组所在的乡镇（街道）{c.township} 尚未登记。")
    # the pure rules too, so that a bulk import can check every row before registering any
    deputy_.decide_register(Deputy(id=c.deputy_id), c, congress_is_street=congress is not None and congress.is_street)
    return home


async def register_deputy_as(
    c: deputy_.RegisterDeputy, store: EventStore, principal: Principal | None, meta: CommandMeta
) -> Appended[Deputy]:
    home = await check_registration(c, store, principal)
    congress = await load_place(store, c.congress.strip())
    is_street = congress is not None and congress.is_street
    loaded = await store.load(DEPUTY, c.deputy_id, jurisdiction=home)
    if loaded.applied(meta.command_id):
        return Appended(loaded, (), "RENDA_DEPUTIES", loaded.last_stream_seq)
    events = deputy_.decide_register(loaded.state, c, congress_is_street=is_street)
    return await store.append(loaded, events, meta, jurisdiction=home)


async def register_deputy(c: deputy_.RegisterDeputy, ctx: CommandContext) -> Appended[Deputy]:
    done = await register_deputy_as(c, ctx.store, ctx.principal, ctx.meta)
    ctx.answered(done)
    return done


async def terminate_deputy(c: deputy_.TerminateDeputy, ctx: CommandContext) -> Appended[Deputy]:
    loaded = await load_deputy(ctx.store, c.deputy_id)
    ctx.access.require(deputy_scope(loaded), STAFF_ROLES)
    return await apply(ctx, loaded, lambda s: deputy_.decide_terminate(s.state, c))


async def confirm_qualification(c: deputy_.ConfirmQualification, ctx: CommandContext) -> Appended[Deputy]:
    loaded = await load_deputy(ctx.store, c.deputy_id)
    ctx.access.require(deputy_scope(loaded), STAFF_ROLES)
    return await apply(ctx, loaded, lambda s: deputy_.decide_confirm_qualification(s.state, c))


async def record_activity(c: deputy_.RecordDutyActivity, ctx: CommandContext) -> Appended[Deputy]:
    """The deputy themself, or staff over the deputy's jurisdiction."""
    loaded = await load_deputy(ctx.store, c.deputy_id)
    ctx.access.require(deputy_scope(loaded), (*STAFF_ROLES, "deputy"))
    day = today(ctx)
    return await apply(ctx, loaded, lambda s: deputy_.decide_record_activity(s.state, c, today=day))


async def record_contact(c: deputy_.RecordContact, ctx: CommandContext) -> Appended[Deputy]:
    """A presidium member's contact with a deputy, or a deputy's with a constituent."""
    loaded = await load_deputy(ctx.store, c.deputy_id)
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
            require_known(ctx, files, "contact")
            contact_current = deputy_.is_current(files[c.contact_deputy_id].state, c.on)
    day = today(ctx)
    return await apply(
        ctx,
        loaded,
        lambda s: deputy_.decide_record_contact(
            s.state, c, is_presidium_member=member, contact_is_current=contact_current, today=day
        ),
    )


def created(done: Appended[Any]) -> Any:
    """The aggregate's state after the command."""
    return done.loaded.state
