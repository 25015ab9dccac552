"""Property: for random jurisdiction trees and random callers, no query returns a row outside the
caller's prefix, and paging with the cursor walks exactly the rows the caller may see (so
neither the rows, the page sizes nor the cursors reveal anything foreign). Real databases."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from libs.auth.actor import Principal
from libs.db.engine import make_engine
from services.deputies.projections import jurisdictions, tree_metadata
from services.deputies.projections.directory import directory_metadata, users
from services.deputies.queries import jurisdictions_under
from services.deputies.queries.directory import users_under

CITIES = ("3404", "3405")


@st.composite
def trees(draw: Any) -> list[str]:
    """Codes of a random city → county → township tree (two cities, so there is a neighbour)."""
    codes: set[str] = set(CITIES)
    for city in CITIES:
        for county in draw(st.sets(st.integers(1, 6), min_size=1, max_size=3)):
            c = f"{city}{county:02d}"
            codes.add(c)
            codes |= {f"{c}{t:03d}" for t in draw(st.sets(st.integers(1, 12), max_size=4))}
    return sorted(codes)


@st.composite
def worlds(draw: Any) -> tuple[list[str], list[tuple[str, str]], Principal, str | None, int]:
    codes = draw(trees())
    people = [(f"user{i:03d}", draw(st.sampled_from(codes))) for i in range(draw(st.integers(0, 25)))]
    role = draw(st.sampled_from(["city_staff", "county_staff", "township_staff"]))
    length = {"city_staff": 4, "county_staff": 6, "township_staff": 9}[role]
    homes = [c for c in codes if len(c) == length] or ["340499001"]
    caller = Principal("caller", role, draw(st.sampled_from(homes)))  # type: ignore[arg-type]
    under = draw(st.none() | st.sampled_from(codes))
    return codes, people, caller, under, draw(st.integers(1, 4))


async def _page_all(fetch: Any, limit: int, key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    cursor = None
    from libs.web.lists import encode_cursor

    while True:
        got = await fetch(limit, cursor)
        assert len(got) <= limit + 1
        rows += got[:limit]
        if len(got) <= limit:
            return rows
        cursor = encode_cursor(got[limit - 1][key])


@pytest.fixture
async def engine(database_url: str):  # type: ignore[no-untyped-def]
    e = make_engine(database_url)
    async with e.begin() as tx:
        await tx.run_sync(directory_metadata.create_all)
        await tx.run_sync(tree_metadata.create_all)
    yield e
    await e.dispose()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=worlds())
async def test_no_list_shows_a_row_outside_the_callers_prefix(engine, world) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    codes, people, caller, under, limit = world
    async with engine.begin() as tx:
        await tx.execute(delete(users))
        await tx.execute(delete(jurisdictions))
        for code in codes:
            kind = {4: "city", 6: "county", 9: "township"}[len(code)]
            parent = None if len(code) == 4 else code[: 4 if len(code) == 6 else 6]
            await tx.execute(jurisdictions.insert().values(code=code, name=code, kind=kind, parent=parent))
        for name, code in people:
            await tx.execute(
                users.insert().values(
                    username=name,
                    display_name="",
                    role="deputy",
                    jurisdiction=code,
                    disabled=False,
                    created_at=datetime.now(UTC),
                )
            )
    scope = caller.jurisdiction
    effective = under if under and under.startswith(scope) else scope if not under or scope.startswith(under) else None

    seen_users = await _page_all(lambda n, c: users_under(engine, caller, under, None, n, c), limit, "username")
    expected_users = sorted(n for n, code in people if effective is not None and code.startswith(effective))
    assert all(u["jurisdiction"].startswith(scope) for u in seen_users)
    assert [u["username"] for u in seen_users] == expected_users

    seen_codes = await _page_all(lambda n, c: jurisdictions_under(engine, caller, under, n, c), limit, "code")
    assert all(j["code"].startswith(scope) for j in seen_codes)
    assert [j["code"] for j in seen_codes] == [c for c in codes if effective is not None and c.startswith(effective)]
