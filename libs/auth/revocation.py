"""Tokens that stop working before they expire: every service keeps its own list, from events.

A projection of the deputies stream's directory events, added to every service by
``create_app`` (each in its own table, so services sharing one database never collide):

- ``UserDisabled`` — every token of that subject is refused from then on;
- ``RoleGranted`` after the account's creation, ``PasswordChanged`` — tokens issued before it
  are refused (the holder logs in again and gets the new role).

``token_check`` is the hook ``libs.web.deps.current_principal`` calls on every request; it reads
this service's own table (one primary-key lookup, kept in memory until the next batch with a
revocation event reaches this service's runner), so a disabled user is refused by every
service as soon as that service has read the event, whichever replica serves the request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import BigInteger, Boolean, Column, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.auth.actor import Principal
from libs.db.engine import reading
from libs.events.envelope import Envelope
from libs.events.projection import Projection
from libs.web.errors import Unauthenticated

TokenCheck = Callable[[Principal, dict[str, Any]], Awaitable[None]]
CACHED_SUBJECTS = 10_000


class AccountDisabled(Unauthenticated):
    code = "account_disabled"
    message = "该账号已停用，令牌已失效。如有疑问，请联系管理员。"


class TokenSuperseded(Unauthenticated):
    code = "token_superseded"
    message = "账号的角色或密码已变更，请重新登录。"


def revocations_projection(service: str) -> Projection:
    metadata = MetaData()
    table = Table(
        f"{service}_auth_revocations",
        metadata,
        Column("subject", String(100), primary_key=True),
        Column("disabled", Boolean, nullable=False, default=False),
        Column("not_before", BigInteger, nullable=False, default=0),  # epoch seconds; older tokens refused
        Column("granted", Boolean, nullable=False, default=False),  # the creation's own grant was seen
    )

    class Revocations(Projection):
        name: ClassVar[str] = f"{service}-auth-revocations"
        contexts: ClassVar[tuple[str, ...]] = ("deputies",)
        # The directory's events, by their contract names (libs/ imports no service).
        handles = ("UserCreated", "UserDisabled", "RoleGranted", "PasswordChanged")

        async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
            subject = getattr(env.data, "username", None)
            if subject is None:
                return
            row = (await tx.execute(select(table).where(table.c.subject == subject))).mappings().first()
            disabled = bool(row and row["disabled"]) or env.type == "UserDisabled"
            not_before = int(row["not_before"]) if row else 0
            granted = bool(row and row["granted"])
            if env.type == "UserCreated":
                granted = False  # the grant that follows is the account's first role, not a change
            elif env.type == "RoleGranted" and not granted:
                granted = True
            elif env.type in ("RoleGranted", "PasswordChanged"):
                not_before = max(not_before, _seconds(env.occurred_at))
            values = {"disabled": disabled, "not_before": not_before, "granted": granted}
            if row is None:
                await tx.execute(table.insert().values(subject=subject, **values))
            else:
                await tx.execute(table.update().where(table.c.subject == subject).values(**values))

    Revocations.metadata = metadata
    Revocations.table = table  # type: ignore[attr-defined]
    return Revocations()


def _seconds(t: datetime) -> int:
    return int(t.timestamp())


def token_check(engine: AsyncEngine, projection: Projection, generation: Callable[[], int] | None = None) -> TokenCheck:
    """The per-request check. ``generation`` (the runner's count of batches that carried this
    projection's events) lets answers stay in memory until such a batch reaches this service."""
    table: Table = projection.table  # type: ignore[attr-defined]
    known: dict[str, tuple[bool, int] | None] = {}
    seen = [-1]

    async def lookup(subject: str) -> tuple[bool, int] | None:
        gen = generation() if generation is not None else -1
        if gen != seen[0] or len(known) > CACHED_SUBJECTS:
            known.clear()
            seen[0] = gen
        if gen >= 0 and subject in known:
            return known[subject]
        async with reading(engine) as conn:
            row = (await conn.execute(select(table).where(table.c.subject == subject))).mappings().first()
        found = (bool(row["disabled"]), int(row["not_before"])) if row is not None else None
        if gen >= 0 and generation is not None and generation() == gen:
            known[subject] = found  # no revocation arrived while reading
        return found

    async def check(principal: Principal, claims: dict[str, Any]) -> None:
        found = await lookup(principal.subject)
        if found is None:
            return
        disabled, not_before = found
        if disabled:
            raise AccountDisabled()
        if int(claims.get("iat", 0)) < not_before:
            raise TokenSuperseded()

    return check
