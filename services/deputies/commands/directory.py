"""The user directory: accounts (created, granted a role, disabled, a new password) and the login.

Accounts are created and disabled by the operator (``renda users ...``); the login is the one
path every user takes, guarded by the lockout (libs/auth/lockout.py). The password hash goes to
the credential store (``credentials.py``), never into an event.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from libs.auth.lockout import LoginGuard
from libs.auth.passwords import check_strength, hash_password, verify_password
from libs.domain.errors import DomainError, InvalidInput
from libs.events.event import Event
from libs.events.store import Appended, EventStore, Loaded
from services.deputies.commands.context import ID_PATTERN, Context, load_place, run
from services.deputies.commands.credentials import Credentials
from services.deputies.domain import directory
from services.deputies.domain.deputy import DEPUTY
from services.deputies.domain.directory import USER, USERNAME, Grant, User

log = structlog.get_logger("auth")


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    status = 401
    message = "用户名或密码错误。连续 5 次错误后账号将被临时锁定 15 分钟。"


class AccountDisabledLogin(DomainError):
    code = "account_disabled"
    status = 401
    message = "该账号已停用，不能登录。如有疑问，请联系管理员。"


@dataclass(frozen=True)
class AddUser:
    username: str
    password: str
    role: str
    jurisdiction: str
    deputy_id: str | None = None
    unit_id: str | None = None
    display_name: str = ""
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class DisableUser:
    username: str
    reason: str = ""


@dataclass(frozen=True)
class GrantRole:
    username: str
    role: str
    jurisdiction: str
    deputy_id: str | None = None
    unit_id: str | None = None


@dataclass(frozen=True)
class ChangePassword:
    username: str
    password: str


def _grant(role: str, jurisdiction: str, deputy_id: str | None, unit_id: str | None) -> Grant:
    grant = Grant(role=role, jurisdiction=jurisdiction.strip(), deputy_id=deputy_id, unit_id=unit_id)  # type: ignore[arg-type]
    directory.check_grant(grant)
    return grant


def _name(raw: str) -> str:
    username = directory.normalize_username(raw)
    directory.check_username(username)
    return username


async def add_user(c: AddUser, ctx: Context) -> Appended[User]:
    username = _name(c.username)
    grant = _grant(c.role, c.jurisdiction, c.deputy_id, c.unit_id)
    directory.check_contact(c.email, c.phone)
    check_strength(c.password)
    loaded = await ctx.store.load(USER, username)  # wherever the name lives (another jurisdiction, maybe)
    # An existing name is refused by the decision below with its hash untouched; a re-run records nothing.
    if not loaded.applied(ctx.meta.command_id) and not loaded.state.exists:
        password_hash = await asyncio.to_thread(hash_password, c.password)
        await Credentials(ctx.store.nc).set(username, password_hash)

    def decide(s: Loaded[User]) -> list[Event]:
        return directory.decide_create(s.state, grant=grant, display_name=c.display_name, email=c.email, phone=c.phone)

    return await run(ctx, USER, username, decide, jurisdiction=grant.jurisdiction)


async def grant_role(c: GrantRole, ctx: Context) -> Appended[User]:
    grant = _grant(c.role, c.jurisdiction, c.deputy_id, c.unit_id)
    return await run(ctx, USER, _name(c.username), lambda s: directory.decide_grant(s.state, grant))


async def disable_user(c: DisableUser, ctx: Context) -> Appended[User]:
    return await run(ctx, USER, _name(c.username), lambda s: directory.decide_disable(s.state, reason=c.reason))


async def change_password(c: ChangePassword, ctx: Context) -> Appended[User]:
    username = _name(c.username)
    check_strength(c.password)
    loaded = await ctx.store.load(USER, username)
    directory.decide_change_password(loaded.state)  # refuses an unknown or disabled account first
    if not loaded.applied(ctx.meta.command_id):
        password_hash = await asyncio.to_thread(hash_password, c.password)
        await Credentials(ctx.store.nc).set(username, password_hash)
    return await run(ctx, USER, username, lambda s: directory.decide_change_password(s.state))


async def check_references(c: AddUser, store: EventStore, unit_exists: bool | None) -> None:
    """The grant names what exists: its jurisdiction, the deputy inside it, the unit.

    ``unit_exists``: what the organizer units' read model says of ``c.unit_id`` (None: it could
    not be read, so the account is refused rather than bound to a unit nobody checked).
    """
    code = c.jurisdiction.strip()
    if await load_place(store, code) is None:
        raise InvalidInput("jurisdiction", f"辖区 {code} 尚未登记，请先登记区划（renda jurisdictions load）。")
    if c.deputy_id:
        d = await store.load(DEPUTY, c.deputy_id) if ID_PATTERN.match(c.deputy_id) else None
        if d is None or not d.state.registered or not (d.jurisdiction or "").startswith(code):
            raise InvalidInput("deputy_id", f"找不到代表 {c.deputy_id}，或该代表不在辖区 {code} 内。")
    if c.unit_id:
        if unit_exists is None:
            raise InvalidInput("unit_id", "暂时无法核对承办单位（读取建议服务的承办单位登记失败），请稍后重试。")
        if not unit_exists:
            raise InvalidInput("unit_id", f"找不到承办单位 {c.unit_id}，或该单位不在辖区 {code} 内。")


async def login(store: EventStore, guard: LoginGuard, username: str, password: str, source: str) -> User:
    """The account whose password this is; refusals are logged with subject and source, never the password."""
    name = directory.normalize_username(username)
    await guard.ensure()
    try:
        await guard.check(name)
    except DomainError:
        log.warning("auth.login_refused_locked", subject=name, source=source)
        raise
    user = (await store.load(USER, name)).state if USERNAME.match(name) else None
    known = user is not None and user.exists
    password_hash = await Credentials(store.nc).hash_of(name) if known else None
    # argon2 is deliberately slow: check it off the event loop (cffi releases the GIL).
    matched = await asyncio.to_thread(verify_password, password_hash, password)
    if not matched:
        locked = await guard.failed(name, source)
        log.warning(
            "auth.login_failed",
            subject=name,
            source=source,
            reason="bad_password" if known else "unknown_user",
            locked=locked is not None,
        )
        raise InvalidCredentials()
    assert user is not None
    if user.disabled:
        log.warning("auth.login_failed", subject=name, source=source, reason="disabled")
        raise AccountDisabledLogin()
    await guard.succeeded(name)
    log.info("auth.login_succeeded", subject=name, role=user.role, jurisdiction=user.jurisdiction, source=source)
    return user
