"""The authorization matrix: every route of every service × every role × inside / outside its
scope, over real HTTP against real NATS, expecting 401 / 403 / 404 / 2xx from each route's own
declared rule. Routes come from the apps' route tables, so a new route cannot escape: a route
without an access rule, or without a case in ``matrix_cases.CASES``, fails the suite.
"""

from __future__ import annotations

import asyncio

import pytest

from libs.auth.matrix import FRAMEWORK, RouteRule, all_rules
from libs.config.settings import Settings
from tests.auth.helpers import fresh_city
from tests.auth.matrix_cases import ROLES_AND_ANONYMOUS, WHERES, World, case_for, role_only_case
from tests.support.system import System
from tests.support.waiting import eventually

RULES = all_rules(Settings())
API = [r for r in RULES if r.kind != FRAMEWORK]


def test_every_route_declares_an_access_rule() -> None:
    missing = [f"{r.service}: {r.method} {r.path}" for r in RULES if r.roles is None]
    assert not missing, "routes without an access rule (Depends(allow/public/command_context/read_context)):\n" + \
        "\n".join(missing)


def test_every_rule_names_known_roles() -> None:
    from libs.auth.actor import ROLES

    odd = [(r.path, r.roles) for r in RULES if r.roles and not r.public and not set(r.roles) <= set(ROLES)]
    assert not odd


def test_every_api_route_is_reachable_behind_the_one_base_url() -> None:
    hidden = [f"{r.service}: {r.method} {r.path}" for r in API if r.kind == "api" and not r.reachable]
    assert not hidden, "routes outside /api/<service> and the service's extra_prefixes:\n" + "\n".join(hidden)


def test_every_route_has_a_matrix_case() -> None:
    unknown = [f"{r.service}: {r.method} {r.path}" for r in API if case_for(r) is None]
    assert not unknown, (
        "routes the access matrix does not know how to exercise; add them to tests/auth/matrix_cases.py CASES:\n"
        + "\n".join(unknown)
    )


async def _run_route(w: World, rule: RouteRule) -> tuple[int, list[str]]:
    case = case_for(rule) or role_only_case(rule)
    failures: list[str] = []
    ran = 0
    for role in ROLES_AND_ANONYMOUS:
        for where in WHERES if role is not None else ("inside",):
            probe = case.probe(w, role or "city_staff", where)
            expected = case.expected(rule, role, where)
            if case.kind == "role-only" and (rule.public or rule.allows(role or "")):
                continue  # needs a record the matrix cannot build yet (test_every_route_has_a_matrix_case fails)
            if case.kind == "role-only" and where == "outside":
                continue  # the role's own cell does not depend on where
            r = await w.client.request(probe.method, probe.url, json=probe.json, params=probe.params,
                                       headers=w.headers(role))
            ran += 1
            where_label = where if role is not None else "-"
            if r.status_code != expected:
                failures.append(f"{rule.method} {probe.url} as {role or 'anonymous'} ({where_label}): "
                                f"expected {expected}, got {r.status_code} {r.text[:200]}")
                continue
            if r.status_code >= 400:
                body = r.json()
                if set(body) != {"error"} or not {"code", "message"} <= set(body["error"]):
                    failures.append(f"{rule.method} {probe.url}: error body not in the contract's shape: {body}")
            elif role is not None:
                try:
                    await case.check(w, role, where, r)
                except AssertionError as exc:
                    failures.append(f"{rule.method} {probe.url} as {role} ({where_label}): {exc}")
    return ran, failures


async def test_access_matrix(system: System, nc) -> None:
    """On the embedded default (SQLite); the read-model filters run on PostgreSQL too in test_properties."""
    if any(r.roles is None for r in API):
        pytest.fail("routes without an access rule: see test_every_route_declares_an_access_rule")
    w = World(system, nc, city=fresh_city(), other_city=fresh_city())
    await w.setup()
    for r in API:
        case = case_for(r)
        if case is not None and case.setup is not None:
            await case.setup(w)
    uncased = [r for r in API if case_for(r) is None]

    async def projected() -> None:  # the setup's events have reached the read models
        r = await system.client.get("/api/auth/users", params={"under": w.city, "limit": 500},
                                    headers=w.headers("city_staff"))
        assert len(r.json()["items"]) >= 3
        r = await system.client.get("/api/deputies/jurisdictions", params={"limit": 500},
                                    headers=w.headers("city_staff"))
        assert w.street in [j["code"] for j in r.json()["items"]]
        if "deputies" in w.store:
            r = await system.client.get("/api/deputies", params={"limit": 500}, headers=w.headers("city_staff"))
            assert w.deputy_id in [d["deputy_id"] for d in r.json()["items"]]

    await eventually(projected)
    try:
        results = await asyncio.gather(*(_run_route(w, r) for r in API))
    finally:
        await w.client.aclose()
    ran = sum(n for n, _ in results)
    failures = [f for _, fs in results for f in fs]
    print(f"\naccess matrix: {len(API)} routes × {len(ROLES_AND_ANONYMOUS) - 1} roles × {len(WHERES)} cases "
          f"+ anonymous = {ran} requests ({len(uncased)} routes without a case: 401/403 cells only)")
    assert not failures, f"{len(failures)} of {ran} matrix cells wrong:\n" + "\n".join(failures)
