"""``/api/auth``: log in (token or session cookie), who am I, log out, the directory list.

Served by the deputies service (``extra_prefixes=("/api/auth",)``): the directory is its aggregate.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from libs.auth.access import ANY_ROLE, STAFF_ROLES
from libs.auth.actor import Principal
from libs.auth.lockout import LoginGuard, LoginLocked
from libs.auth.tokens import issue
from libs.web.deps import ReadContext, allow, clear_session, public, read_context, runtime, set_session
from libs.web.errors import respond
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.deputies.commands import directory as directory_commands
from services.deputies.domain.directory import User
from services.deputies.queries.directory import users_under

router = APIRouter(prefix="/api/auth", tags=["登录与账号"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    subject: str
    role: str
    jurisdiction: str
    deputy_id: str | None = None
    unit_id: str | None = None


class SessionOut(MeOut):
    csrf_token: str
    expires_in: int


class UserOut(BaseModel):
    username: str
    display_name: str
    role: str | None
    jurisdiction: str
    deputy_id: str | None
    unit_id: str | None
    disabled: bool


def source_of(request: Request) -> str:
    """The caller's address (what the ingress forwarded, else the peer), for the login log."""
    forwarded = request.headers.get("x-forwarded-for", "").split(",")[0].strip()
    peer = request.client.host if request.client else ""
    return forwarded or peer


def _guard(request: Request) -> LoginGuard:
    rt = runtime(request)
    guard = rt.extras.get("login_guard")
    if guard is None:
        guard = rt.extras["login_guard"] = LoginGuard(rt.engine)
    return guard


async def _login(request: Request, body: LoginIn) -> tuple[User, str, int] | JSONResponse:
    rt = runtime(request)
    try:
        user = await directory_commands.login(
            rt.store, _guard(request), body.username, body.password, source_of(request)
        )
    except LoginLocked as locked:
        return respond(429, locked.code, locked.text, locked.details, headers={"Retry-After": str(locked.retry_after)})
    principal = Principal(
        subject=user.username,
        role=user.role or "deputy",
        jurisdiction=user.jurisdiction or "",
        deputy_id=user.deputy_id,
        unit_id=user.unit_id,
    )
    ttl = rt.settings.token_ttl_minutes * 60
    return user, issue(principal, rt.signing_key, timedelta(seconds=ttl)), ttl


@router.post(
    "/token",
    response_model=TokenOut,
    dependencies=[Depends(public())],
    responses={401: {"description": "用户名或密码错误"}, 429: {"description": "登录失败过多，临时锁定"}},
)
async def post_token(request: Request, body: LoginIn) -> Any:
    """用户名和密码换取访问令牌（Bearer）。15 分钟内连续 5 次失败将临时锁定。"""
    done = await _login(request, body)
    if isinstance(done, JSONResponse):
        return done
    _user, token, ttl = done
    return TokenOut(access_token=token, expires_in=ttl)


@router.post("/session", response_model=SessionOut, dependencies=[Depends(public())])
async def post_session(request: Request, response: Response, body: LoginIn) -> Any:
    """网页控制台登录：令牌放入 HttpOnly、SameSite=Strict 的 Cookie；修改类请求须带 X-CSRF-Token 请求头。"""
    done = await _login(request, body)
    if isinstance(done, JSONResponse):
        return done
    user, token, ttl = done
    csrf = set_session(response, request, token, runtime(request).signing_key, ttl)
    return SessionOut(
        subject=user.username,
        role=user.role or "",
        jurisdiction=user.jurisdiction or "",
        deputy_id=user.deputy_id,
        unit_id=user.unit_id,
        csrf_token=csrf,
        expires_in=ttl,
    )


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
async def delete_session(request: Request, principal: Annotated[Principal, Depends(allow(*ANY_ROLE))]) -> Response:
    """退出登录：清除会话 Cookie（Cookie 登录时须带 X-CSRF-Token）。"""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_session(response, request)
    return response


@router.get("/me", response_model=MeOut)
async def get_me(principal: Annotated[Principal, Depends(allow(*ANY_ROLE))]) -> MeOut:
    """当前令牌属于谁：用户、角色、辖区、绑定的代表或承办单位。"""
    return MeOut(
        subject=principal.subject,
        role=principal.role,
        jurisdiction=principal.jurisdiction,
        deputy_id=principal.deputy_id,
        unit_id=principal.unit_id,
    )


@router.get("/users", response_model=Page[UserOut])
async def get_users(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_ROLES))],
    under: Annotated[str | None, Query(max_length=9, pattern=r"^\d{4}(\d{2}(\d{3})?)?$")] = None,
    role: Annotated[str | None, Query(pattern=r"^(city_staff|county_staff|township_staff|deputy|organizer)$")] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[UserOut]:
    """本辖区内的账号（工作人员可查）。"""
    rows = await users_under(ctx.runtime.engine, ctx.principal, under, role, limit, cursor)
    return page([UserOut(**{k: r[k] for k in UserOut.model_fields}) for r in rows], limit, key=lambda u: u.username)
