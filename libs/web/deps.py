"""FastAPI dependencies every route uses: who calls, what they may do, and the command context.

Access is declared next to each route with ``Depends(allow(...))`` (or ``public()``), so a
reader sees the rule where the route is; the access-matrix test walks the apps' route tables
and fails on a route without one.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from libs.auth.actor import Principal
from libs.auth.tokens import InvalidToken, verify
from libs.events.envelope import Actor
from libs.events.store import Appended, CommandMeta, EventStore
from libs.service.runtime import ServiceRuntime
from libs.web.errors import Forbidden, ReadModelBehind, Unauthenticated

SESSION_COOKIE = "renda_session"


def runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


async def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = _token(request)
    if not token:
        raise Unauthenticated()
    rt = runtime(request)
    try:
        principal, claims = verify(token, rt.signing_key)
    except InvalidToken:
        raise Unauthenticated() from None
    check = rt.extras.get("token_check")
    if check is not None:
        await check(principal, claims)
    request.state.principal = principal
    return principal


AccessRule = Callable[..., Coroutine[Any, Any, Principal | None]]


def allow(*roles: str) -> AccessRule:
    """The caller must hold one of ``roles`` (jurisdiction is checked on the record itself)."""

    async def rule(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal.role not in roles:
            raise Forbidden()
        return principal

    rule.access_roles = roles  # type: ignore[attr-defined]
    return rule


def public() -> AccessRule:
    async def rule() -> None:
        return None

    rule.access_roles = ("*",)  # type: ignore[attr-defined]
    return rule


@dataclass
class CommandContext:
    store: EventStore
    principal: Principal
    meta: CommandMeta
    runtime: ServiceRuntime
    response: Response

    def answered(self, appended: Appended[Any]) -> None:
        """Tell the client the stream position of its write (for read-your-writes)."""
        if appended.envelopes:
            prior = self.response.headers.get("renda-position")
            token = f"{appended.stream}:{appended.stream_seq}"
            self.response.headers["renda-position"] = f"{prior},{token}" if prior else token


def command_context(*roles: str) -> Callable[..., Coroutine[Any, Any, CommandContext]]:
    access = allow(*roles)

    async def build(request: Request, response: Response) -> CommandContext:
        principal = await access(request)
        rt = runtime(request)
        state = request.scope.get("state", {})
        meta = CommandMeta(
            actor=Actor(subject=principal.subject, role=principal.role),
            correlation_id=state.get("correlation_id", ""),
            command_id=state.get("command_id", ""),
            now=datetime.now(UTC),
        )
        return CommandContext(rt.store, principal, meta, rt, response)

    build.access_roles = roles  # type: ignore[attr-defined]
    return build


def parse_positions(header: str | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in (header or "").split(","):
        stream, _, seq = part.strip().partition(":")
        if stream and seq.isdigit():
            out[stream] = max(out.get(stream, 0), int(seq))
    return out


@dataclass
class ReadContext:
    principal: Principal
    runtime: ServiceRuntime


def read_context(*roles: str) -> Callable[..., Coroutine[Any, Any, ReadContext]]:
    """A query's context; waits until the read models include the caller's ``Renda-After`` writes."""
    access = allow(*roles)

    async def build(request: Request) -> ReadContext:
        principal = await access(request)
        rt = runtime(request)
        positions = parse_positions(request.headers.get("renda-after"))
        if positions and not await rt.caught_up(positions, rt.settings.read_wait_seconds):
            raise ReadModelBehind()
        return ReadContext(principal, rt)

    build.access_roles = roles  # type: ignore[attr-defined]
    return build


RuntimeDep = Annotated[ServiceRuntime, Depends(runtime)]
