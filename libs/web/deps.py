"""FastAPI dependencies every route uses: who calls, what they may do, and the command context.

Access is declared next to each route with ``Depends(allow(...))`` (or ``public()``), so a
reader sees the rule where the route is; the access-matrix test walks the apps' route tables
and fails on a route without one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from libs.auth.access import Access
from libs.auth.actor import Principal
from libs.auth.tokens import SESSION_COOKIE, InvalidToken, verify
from libs.events.envelope import Actor
from libs.events.store import Appended, CommandMeta, EventStore
from libs.service.runtime import ServiceRuntime
from libs.web.errors import Forbidden, ReadModelBehind, Unauthenticated

# The web dashboard's session: the access token in an HttpOnly, SameSite=Strict cookie, plus a
# CSRF token (readable by the page's script) that every state-changing request made with the
# cookie must echo in the ``X-CSRF-Token`` header. The CSRF token is an HMAC of the session
# token under the signing key, so it is bound to that session and needs no server state.
CSRF_COOKIE = "renda_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = "请求缺少有效的 CSRF 令牌（请求头 X-CSRF-Token），请刷新页面后重试。"


def runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def csrf_token(session_token: str, key: str) -> str:
    mac = hmac.new(key.encode(), b"csrf\n" + session_token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def is_https(request: Request) -> bool:
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def set_session(response: Response, request: Request, token: str, key: str, max_age: int) -> str:
    """Put the session cookies on ``response``; returns the CSRF token for the page."""
    csrf = csrf_token(token, key)
    secure = is_https(request)
    response.set_cookie(
        SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="strict", secure=secure
    )
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, path="/", httponly=False, samesite="strict", secure=secure)
    return csrf


def clear_session(response: Response, request: Request) -> None:
    secure = is_https(request)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
    response.delete_cookie(CSRF_COOKIE, path="/", httponly=False, samesite="strict", secure=secure)


def _token(request: Request) -> tuple[str | None, bool]:
    """The access token and whether it came from the session cookie."""
    auth = request.headers.get("authorization")
    if auth and auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie, cookie is not None


def _check_csrf(request: Request, token: str, key: str) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), csrf_token(token, key).encode()):
        raise CsrfFailed()


async def current_principal(request: Request) -> Principal:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token, from_cookie = _token(request)
    if not token:
        raise Unauthenticated()
    rt = runtime(request)
    try:
        principal, claims = verify(token, rt.signing_key)
    except InvalidToken:
        raise Unauthenticated() from None
    if from_cookie:
        _check_csrf(request, token, rt.signing_key)
    check = rt.extras.get("token_check")
    if check is not None:
        await check(principal, claims)
    request.state.principal = principal
    return principal


AccessRule = Callable[..., Coroutine[Any, Any, Principal | None]]


def allow(*roles: str) -> Callable[[Request], Coroutine[Any, Any, Principal]]:
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

    @property
    def access(self) -> Access:
        """The shared record rules bound to this caller (libs/auth/access.py)."""
        return Access(self.principal)


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

    @property
    def access(self) -> Access:
        return Access(self.principal)


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
