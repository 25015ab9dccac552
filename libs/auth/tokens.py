"""Signed access tokens (PyJWT, HS256) and the signing key's one home."""

from __future__ import annotations

import os
import secrets
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from libs.auth.actor import ROLES, Principal

ALGORITHM = "HS256"
SESSION_COOKIE = "renda_session"  # the dashboard's HttpOnly cookie carrying the token
ISSUER = "renda"


class InvalidToken(Exception):
    pass


def signing_key(secret: str, data_dir: Path) -> str:
    """``RENDA_JWT_SECRET``, else a key generated once into the data folder (mode 0600)."""
    if secret:
        return secret
    path = data_dir / "jwt.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def existing_signing_key(secret: str, data_dir: Path) -> str | None:
    """The key the servers sign with, or ``None`` when there is none yet (never makes one)."""
    if secret:
        return secret
    path = data_dir / "jwt.key"
    return path.read_text().strip() if path.exists() else None


def issue(principal: Principal, key: str, ttl: timedelta, *, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": principal.subject,
        "role": principal.role,
        "jur": principal.jurisdiction,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    if principal.deputy_id:
        claims["deputy_id"] = principal.deputy_id
    if principal.unit_id:
        claims["unit_id"] = principal.unit_id
    return jwt.encode(claims, key, algorithm=ALGORITHM)


_VERIFIED: OrderedDict[tuple[str, str], tuple[Principal, dict[str, Any]]] = OrderedDict()
VERIFIED_KEPT = 4096  # tokens in use at once; each request checks its caller's twice (key scope, access)


def verify(token: str, key: str) -> tuple[Principal, dict[str, Any]]:
    """The token's principal and claims; a token verified before is taken from memory until it expires."""
    hit = _VERIFIED.get((token, key))
    if hit is not None and hit[1]["exp"] > time.time():
        return hit[0], dict(hit[1])
    principal, claims = _verify(token, key)
    _VERIFIED[(token, key)] = (principal, claims)
    if len(_VERIFIED) > VERIFIED_KEPT:
        _VERIFIED.popitem(last=False)
    return principal, dict(claims)


def _verify(token: str, key: str) -> tuple[Principal, dict[str, Any]]:
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    role = claims.get("role")
    if role not in ROLES or not isinstance(claims.get("jur"), str) or not claims["jur"]:
        raise InvalidToken("token lacks a valid role or jurisdiction")
    return (
        Principal(
            subject=str(claims["sub"]),
            role=role,
            jurisdiction=claims["jur"],
            deputy_id=claims.get("deputy_id"),
            unit_id=claims.get("unit_id"),
        ),
        claims,
    )
