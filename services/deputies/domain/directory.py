"""The user directory: one aggregate per account, keyed by its (lower-case) username.

A user holds one role at a time, in one jurisdiction, bound to a deputy (role ``deputy``) or
an organizer unit (role ``organizer``). Disabling is final here: the account's tokens stop
working in every service (libs/auth/revocation.py). Passwords never reach the aggregate or its
events: the handler checks their strength, hashes them and keeps the hash in the credential
store; the events only say that a password was set. E-mail and phone are where notifications
go (contact data, not secrets).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from libs.domain.errors import AlreadyExists, DomainError, InvalidInput, NotFound
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.deputies.domain.vocabulary import PHONE
from services.deputies.events import PasswordChanged, RoleGranted, RoleName, UserCreated, UserDisabled

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_\-]{2,63}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
ROLE_CODE_LENGTHS: dict[str, tuple[int, ...]] = {
    "city_staff": (4,),
    "county_staff": (6,),
    "township_staff": (9,),
    "deputy": (4, 6, 9),
    "organizer": (4, 6, 9),
}
ROLE_ZH = {
    "city_staff": "市人大常委会工作人员",
    "county_staff": "县（区）人大常委会工作人员",
    "township_staff": "乡镇人大主席团（街道人大工委）工作人员",
    "deputy": "人大代表",
    "organizer": "承办单位",
}


class UserDisabledError(DomainError):
    code = "user_disabled"
    message = "该账号已停用。"


@dataclass(frozen=True)
class User:
    username: str
    exists: bool = False
    display_name: str = ""
    role: RoleName | None = None
    jurisdiction: str | None = None
    deputy_id: str | None = None
    unit_id: str | None = None
    disabled: bool = False
    email: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Grant:
    role: RoleName
    jurisdiction: str
    deputy_id: str | None = None
    unit_id: str | None = None


def normalize_username(raw: str) -> str:
    return raw.strip().lower()


def check_username(username: str) -> None:
    if not USERNAME.match(username):
        raise InvalidInput("username", "用户名须为 3–64 位小写字母、数字、下划线或连字符，并以字母或数字开头。")


def check_grant(g: Grant) -> None:
    lengths = ROLE_CODE_LENGTHS.get(g.role)
    if lengths is None:
        raise InvalidInput("role", f"角色无效：{g.role}；可选 {'、'.join(ROLE_CODE_LENGTHS)}。")
    if not g.jurisdiction.isdigit() or len(g.jurisdiction) not in lengths:
        want = "、".join(f"{n} 位" for n in lengths)
        raise InvalidInput("jurisdiction", f"{ROLE_ZH[g.role]}的辖区代码应为 {want}数字，收到「{g.jurisdiction}」。")
    if g.role == "deputy" and not g.deputy_id:
        raise InvalidInput("deputy_id", "人大代表账号必须绑定代表编号（deputy_id）。")
    if g.role == "organizer" and not g.unit_id:
        raise InvalidInput("unit_id", "承办单位账号必须绑定承办单位编号（unit_id）。")
    if g.role != "deputy" and g.deputy_id:
        raise InvalidInput("deputy_id", "只有人大代表账号才绑定代表编号。")
    if g.role != "organizer" and g.unit_id:
        raise InvalidInput("unit_id", "只有承办单位账号才绑定承办单位编号。")


def evolve(u: User, e: Event) -> User:
    match e:
        case UserCreated():
            return replace(u, exists=True, display_name=e.display_name, email=e.email, phone=e.phone)
        case RoleGranted():
            return replace(u, role=e.role, jurisdiction=e.jurisdiction, deputy_id=e.deputy_id, unit_id=e.unit_id)
        case UserDisabled():
            return replace(u, disabled=True)
    return u


USER = AggregateType[User](name="user", context="deputies", initial=lambda name: User(username=name), evolve=evolve)


def check_contact(email: str | None, phone: str | None) -> tuple[str | None, str | None]:
    """E-mail and phone as kept (trimmed, empty → None); a malformed one is refused naming it."""
    email = (email or "").strip() or None
    phone = (phone or "").strip() or None
    if email is not None and not EMAIL.match(email):
        raise InvalidInput("email", f"电子邮箱格式不正确：「{email}」。")
    if phone is not None and not PHONE.match(phone):
        raise InvalidInput("phone", "电话号码格式不正确，请填写手机号或带区号的固定电话。")
    return email, phone


def decide_create(
    u: User, *, grant: Grant, display_name: str = "", email: str | None = None, phone: str | None = None
) -> list[Event]:
    check_username(u.username)
    check_grant(grant)
    email, phone = check_contact(email, phone)
    if u.exists:
        raise AlreadyExists(f"用户名 {u.username} 已存在。", username=u.username)
    return [
        UserCreated(username=u.username, display_name=display_name.strip(), email=email, phone=phone),
        RoleGranted(
            username=u.username,
            role=grant.role,
            jurisdiction=grant.jurisdiction,
            deputy_id=grant.deputy_id,
            unit_id=grant.unit_id,
        ),
    ]


def _existing(u: User) -> None:
    if not u.exists:
        raise NotFound(f"找不到用户 {u.username}。", username=u.username)
    if u.disabled:
        raise UserDisabledError(username=u.username)


def decide_grant(u: User, grant: Grant) -> list[Event]:
    _existing(u)
    check_grant(grant)
    if Grant(u.role or grant.role, u.jurisdiction or "", u.deputy_id, u.unit_id) == grant and u.role:
        return []
    return [
        RoleGranted(
            username=u.username,
            role=grant.role,
            jurisdiction=grant.jurisdiction,
            deputy_id=grant.deputy_id,
            unit_id=grant.unit_id,
        )
    ]


def decide_disable(u: User, *, reason: str = "") -> list[Event]:
    if not u.exists:
        raise NotFound(f"找不到用户 {u.username}。", username=u.username)
    if u.disabled:
        return []  # already disabled: a retry decides nothing
    return [UserDisabled(username=u.username, reason=reason.strip())]


def decide_change_password(u: User) -> list[Event]:
    _existing(u)
    return [PasswordChanged(username=u.username)]
