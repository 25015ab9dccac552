"""The authorization matrix: every route of every service × every role × inside / outside its
scope, over real HTTP against real NATS, expecting 401 / 403 / 404 / 2xx from each route's own
declared rule. Routes come from the apps' route tables, so a new route cannot escape: a route
without an access rule, or without a case in ``matrix_cases.CASES``, fails the suite.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from libs.config.settings import Settings
from renda.matrix import FRAMEWORK, RouteRule, all_rules
from tests.auth.helpers import fresh_city
from tests.auth.matrix_cases import ROLES_AND_ANONYMOUS, SEEDS, WHERES, World, case_for, role_only_case
from tests.auth.matrix_core import Case, Probe, Where
from tests.support.system import System
from tests.support.waiting import eventually

RULES = all_rules(Settings())
API = [r for r in RULES if r.kind not in (FRAMEWORK, "page")]  # pages: tests/supervision, tests/workbench
LANES = 16  # routes probed at once: all ~150 at once queued requests for a minute on a loaded 2-core host


def test_every_route_declares_an_access_rule() -> None:
    missing = [f"{r.service}: {r.method} {r.path}" for r in RULES if r.roles is None]
    assert not missing, (
        "routes without an access rule (Depends(allow/public/command_context/read_context)):\n" + "\n".join(missing)
    )


def test_every_rule_names_known_roles() -> None:
    from libs.auth.actor import ROLES

    odd = [(r.path, r.roles) for r in RULES if r.roles and not r.public and not set(r.roles) <= set(ROLES)]
    assert not odd


def test_every_api_route_is_reachable_behind_the_one_base_url() -> None:
    hidden = [f"{r.service}: {r.method} {r.path}" for r in API if r.kind == "api" and not r.reachable]
    assert not hidden, "routes outside /api/<service> and the service's extra_prefixes:\n" + "\n".join(hidden)


def test_every_page_is_served_behind_the_one_base_url() -> None:
    pages = [r for r in RULES if r.kind == "page"]
    assert pages, "the dashboard serves pages"
    hidden = [f"{r.service}: {r.method} {r.path}" for r in pages if not r.reachable]
    assert not hidden, "pages the gateway does not route to their service:\n" + "\n".join(hidden)


def test_every_route_has_a_matrix_case() -> None:
    unknown = [f"{r.service}: {r.method} {r.path}" for r in API if case_for(r) is None]
    assert not unknown, (
        "routes the access matrix does not know how to exercise; add them to tests/auth/matrix_cases.py CASES:\n"
        + "\n".join(unknown)
    )


async def _cell(
    w: World,
    rule: RouteRule,
    case: Case,
    role: str | None,
    label: str,
    probe: Probe,
    expected: int,
    bound: dict[str, str | None],
    where: Where | None,
) -> str | None:
    """One request; a failure message, or None."""
    headers = w.headers(role, **bound)
    who = f"{rule.method} {probe.url} as {role or 'anonymous'} ({label})"
    try:
        r = await w.client.request(
            probe.method, probe.url, json=probe.json, params=probe.params, files=probe.files, headers=headers
        )
    except httpx.TimeoutException:
        return f"{who}: no answer within {w.client.timeout.read} s"
    if r.status_code != expected:
        return f"{who}: expected {expected}, got {r.status_code} {r.text[:300]}"
    if r.status_code >= 400:
        body = r.json()
        if set(body) != {"error"} or not {"code", "message"} <= set(body["error"]):
            return f"{who}: error body not in the contract's shape: {body}"
    elif role is not None and where is not None:
        try:
            await case.check(w, role, where, r)
        except AssertionError as exc:
            return f"{who}: {exc}"
    return None


async def _run_route(w: World, rule: RouteRule) -> tuple[int, list[str]]:
    """The route's cells, one after another (a write route's records are shared by its roles)."""
    case = case_for(rule) or role_only_case(rule)
    failures: list[str] = []
    ran = 0
    for role in ROLES_AND_ANONYMOUS:
        for where in WHERES if role is not None else ("inside",):
            if case.kind == "role-only" and (rule.public or rule.allows(role or "")):
                continue  # needs a record the matrix cannot build yet (test_every_route_has_a_matrix_case fails)
            if case.kind == "role-only" and where == "outside":
                continue  # the role's own cell does not depend on where
            probe = case.probe(w, role or "city_staff", where)
            expected = case.expected(rule, role, where)
            bound = case.bound(w, role) if role else {}
            failure = await _cell(w, rule, case, role, where if role else "-", probe, expected, bound, where)
            ran += 1
            if failure:
                failures.append(failure)
    for extra in case.extras(w) if case.extras is not None else ():
        expected = extra.expected if rule.allows(extra.role) or rule.public else 403
        bound = extra.bound(w) if extra.bound is not None else case.bound(w, extra.role)
        failure = await _cell(w, rule, case, extra.role, extra.label, extra.probe(w), expected, bound, None)
        ran += 1
        if failure:
            failures.append(failure)
    return ran, failures


async def _ready(system: System, w: World) -> None:
    """Every service's read models include everything seeded (``Renda-After``), and the tree is there."""

    async def projected() -> None:
        headers = {**w.headers("city_staff"), **w.seed.after}
        for path in ("/api/deputies/jurisdictions", "/api/meetings", "/api/suggestions"):
            r = await system.client.get(path, params={"limit": 1}, headers=headers)
            assert r.status_code == 200, f"{path}: {r.status_code} {r.text[:200]}"
        r = await system.client.get("/api/auth/users", params={"under": w.city, "limit": 500}, headers=headers)
        assert len(r.json()["items"]) >= 3

    await eventually(projected, timeout=60)


async def test_access_matrix(system: System, nc) -> None:
    """On the embedded default (SQLite); the read-model filters run on PostgreSQL too in test_properties."""
    if any(r.roles is None for r in API):
        pytest.fail("routes without an access rule: see test_every_route_declares_an_access_rule")
    w = World(system, nc, city=fresh_city(), other_city=fresh_city())
    started = time.monotonic()
    await w.setup()
    for seed in SEEDS:  # in order: meetings and suggestions build on the deputies' records
        await seed(w)
    await _ready(system, w)
    seeded = time.monotonic() - started
    uncased = [r for r in API if case_for(r) is None]
    try:
        lanes = asyncio.Semaphore(LANES)

        async def in_lane(rule: RouteRule) -> tuple[int, list[str]]:
            async with lanes:
                return await _run_route(w, rule)

        results = await asyncio.gather(*(in_lane(r) for r in API))
    finally:
        await w.client.aclose()
    ran = sum(n for n, _ in results)
    failures = [f for _, fs in results for f in fs]
    cased = len(API) - len(uncased)
    print(
        f"\naccess matrix: {len(API)} routes ({cased} with a case) × {len(ROLES_AND_ANONYMOUS) - 1} roles × "
        f"{len(WHERES)} cases + anonymous + extras = {ran} requests; seeded in {seeded:.1f}s, "
        f"walked in {time.monotonic() - started - seeded:.1f}s ({len(uncased)} routes without a case: "
        f"401/403 cells only)"
    )
    assert not failures, f"{len(failures)} of {ran} matrix cells wrong:\n" + "\n".join(failures)
