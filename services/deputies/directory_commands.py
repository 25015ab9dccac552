"""Commands of the user directory and the login check: load, decide, append.

Accounts are created and disabled by the operator (``renda users ...``); the login is the
one path every user takes, guarded by the lockout (libs/auth/lockout.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import structlog

from libs.auth.lockout import LoginGuard
from libs.auth.passwords import check_strength, hash_password, verify_password
from libs.domain.errors import DomainError
from libs.events.store import Appended, CommandMeta, EventStore
from services.deputies.domain import directory
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


async def add_user(c: AddUser, store: EventStore, meta: CommandMeta) -> Appended[User]:
    username = directory.normalize_username(c.username)
    directory.check_username(username)
    grant = Grant(role=c.role, jurisdiction=c.jurisdiction, deputy_id=c.deputy_id, unit_id=c.unit_id)  # type: ignore[arg-type]
    directory.check_grant(grant)
    check_strength(c.password)
    password_hash = await asyncio.to_thread(hash_password, c.password)
    # Load wherever the name already lives (it may be another jurisdiction), then create here.
    loaded = await store.load(USER, username)
    if loaded.applied(meta.command_id):
        return Appended(loaded, (), "RENDA_DEPUTIES", loaded.last_stream_seq)
    events = directory.decide_create(
        loaded.state, password_hash=password_hash, grant=grant, display_name=c.display_name
    )
    return await store.append(loaded, events, meta, jurisdiction=c.jurisdiction)


async def grant_role(c: GrantRole, store: EventStore, meta: CommandMeta) -> Appended[User]:
    username = directory.normalize_username(c.username)
    directory.check_username(username)
    grant = Grant(role=c.role, jurisdiction=c.jurisdiction, deputy_id=c.deputy_id, unit_id=c.unit_id)  # type: ignore[arg-type]
    return await store.execute(USER, username, lambda s: directory.decide_grant(s.state, grant), meta)


async def disable_user(c: DisableUser, store: EventStore, meta: CommandMeta) -> Appended[User]:
    username = directory.normalize_username(c.username)
    directory.check_username(username)
    return await store.execute(USER, username, lambda s: directory.decide_disable(s.state, reason=c.reason), meta)


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
    # argon2 is deliberately slow: check it off the event loop (cffi releases the GIL).
    matched = await asyncio.to_thread(verify_password, user.password_hash if known and user else None, password)
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
