"""Demo login accounts (``--scale demo`` only): one per role, with one printed password.

As ``renda users add`` does: the account is the directory's events (``decide_create``), the
password's argon2id hash goes to the credential store (never into an event), so the seeded events
stay the same for the same seed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from nats.aio.client import Client as NATS

from libs.auth.passwords import check_strength, hash_password
from libs.events.event import Event
from renda.seed.places import County
from renda.seed.plan import OPERATOR, Plan, States
from services.deputies.domain import directory


def demo_password(seed: int) -> str:
    return f"Renda-demo-{seed % 10_000:04d}"


def plan_accounts(plan: Plan, county: County) -> list[tuple[str, str, str]]:
    """(username, role, what it sees) of each demo account, planned on the first day."""
    password = demo_password(plan.seed)
    check_strength(password)
    town = next(p for p in county.places if p.kind == "township")
    deputy = next(p for p in town.deputies if p.level == "township" and p.terminated_on is None)
    unit_id, unit_name = town.units[0]
    accounts = [
        ("demo-city", directory.Grant("city_staff", county.code[:4]), "市人大常委会工作人员"),
        ("demo-county", directory.Grant("county_staff", county.code), f"{county.name}人大常委会工作人员"),
        ("demo-town", directory.Grant("township_staff", town.code), f"{town.name}人大主席团工作人员"),
        ("demo-deputy", directory.Grant("deputy", town.code, deputy_id=deputy.id), f"代表 {deputy.name}"),
        ("demo-unit", directory.Grant("organizer", town.code, unit_id=unit_id), unit_name),
    ]
    t = plan.at(plan.start + timedelta(days=6), 8)
    out: list[tuple[str, str, str]] = []
    for k, (username, grant, shown) in enumerate(accounts):
        plan.add(
            t + timedelta(minutes=k),
            directory.USER,
            username,
            grant.jurisdiction,
            OPERATOR,
            partial(_create, grant=grant, display_name=shown),
        )
        out.append((username, grant.role, shown))
    return out


def _create(s: directory.User, w: States, *, grant: directory.Grant, display_name: str) -> list[Event]:
    return directory.decide_create(s, grant=grant, display_name=display_name)


async def set_passwords(nc: NATS, seed: int, usernames: list[str]) -> None:
    """The demo password for each account, in the credential store (as ``renda users add`` keeps it)."""
    from services.deputies.commands.credentials import Credentials  # the deputies service's own store

    hashed = await asyncio.to_thread(hash_password, demo_password(seed))
    store = Credentials(nc)
    for username in usernames:
        await store.set(username, hashed)
