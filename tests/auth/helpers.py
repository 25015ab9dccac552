"""Shared steps of the identity-and-access tests: operator commands on the real store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from nats.aio.client import Client as NATS

from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from services.deputies.commands.context import operator
from services.deputies.commands.directory import AddUser, DisableUser, GrantRole, add_user, disable_user, grant_role
from services.deputies.commands.jurisdictions import RegisterJurisdiction, register_jurisdiction
from tests.support.places import fresh

PASSWORD = "Renda-2026-ok"


def operator_meta() -> CommandMeta:
    return CommandMeta(
        actor=Actor(subject="operator:tests", role="operator"),
        correlation_id="tests",
        command_id=str(uuid.uuid4()),
        now=datetime.now(UTC),
    )


def fresh_city() -> str:
    """A city code no other test of this session uses (the suite's NATS lives for the session)."""
    import random

    return fresh(lambda: str(random.randint(5000, 8999)))


def unique(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def new_user(
    nc: NATS,
    role: str,
    jurisdiction: str,
    *,
    username: str | None = None,
    password: str = PASSWORD,
    **bound: str | None,
) -> str:
    name = username or unique(role.replace("_", "-"))
    await add_user(
        AddUser(username=name, password=password, role=role, jurisdiction=jurisdiction, **bound),
        operator(EventStore(nc), "tests"),
    )
    return name


async def disable(nc: NATS, username: str) -> None:
    await disable_user(DisableUser(username=username, reason="tests"), operator(EventStore(nc), "tests"))


async def regrant(nc: NATS, username: str, role: str, jurisdiction: str) -> None:
    await grant_role(
        GrantRole(username=username, role=role, jurisdiction=jurisdiction), operator(EventStore(nc), "tests")
    )


async def register_tree(nc: NATS, codes: list[tuple[str, str, str | None]]) -> None:
    """Register (code, kind, parent) as the operator; already registered ones are fine."""
    from libs.domain.errors import AlreadyExists

    store = EventStore(nc)
    for code, kind, parent in codes:
        try:
            await register_jurisdiction(
                RegisterJurisdiction(code=code, name=f"测试{code}", kind=kind, parent=parent),  # type: ignore[arg-type]
                operator(store, "tests"),
            )
        except AlreadyExists:
            pass
