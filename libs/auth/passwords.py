"""Passwords: argon2id hashes (argon2-cffi) and the 等保 2.0 level-2 strength rule.

A password has at least 8 characters drawn from at least three of four classes: lower-case
letters, upper-case letters, digits, other symbols. Only hashes are ever stored.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from libs.domain.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 128
MIN_CLASSES = 3
# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~0.1 s a check on a small
# server, where the library's RFC 9106 default (64 MiB × 3 × 4) takes a second and a login stalls.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY = _hasher.hash("renda-dummy-Passw0rd")


def classes(password: str) -> int:
    """How many of the four character classes the password uses."""
    lower = any(c.islower() for c in password)
    upper = any(c.isupper() for c in password)
    digit = any(c.isdigit() for c in password)
    other = any(not c.isalnum() for c in password)
    return lower + upper + digit + other


def strength_problem(password: str) -> str | None:
    """The zh-CN reason the password is too weak, or None when it meets the rule."""
    if len(password) < MIN_LENGTH:
        return f"密码至少 {MIN_LENGTH} 位。"
    if len(password) > MAX_LENGTH:
        return f"密码最多 {MAX_LENGTH} 位。"
    if classes(password) < MIN_CLASSES:
        return "密码须包含大写字母、小写字母、数字、符号中的至少三类。"
    return None


def check_strength(password: str, field: str = "password") -> None:
    problem = strength_problem(password)
    if problem is not None:
        raise InvalidInput(field, problem)


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; an unknown user (None) costs the same time and fails."""
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
