"""Precomputed answers (``services/supervision/answers.py``), on SQLite and PostgreSQL: the township
table and the overdue board served from their precomputed rows equal, byte for byte, the answer
counted on the request itself; a write is never answered from stale rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from libs.db.engine import make_engine
from libs.runtime.nats_server import EmbeddedNats
from services.supervision import clock
from services.supervision.answers import answers
from services.supervision.queries import lateness_tick
from services.supervision.view import iso_duration
from tests.suggestions.conftest import TODAY
from tests.supervision.fixture import County, build
from tests.support.system import System, running_system
from tests.support.waiting import eventually

YEAR = TODAY.year


async def both_ways(system: System, c: County, engine: Any, path: str, **params: str | int) -> bytes:
    """The answer served from its precomputed rows, then counted (its rows dropped): the same bytes."""
    q: dict[str, str | int] = {"under": c.a.county, **params}

    async def precomputed() -> bytes:
        r = await system.client.get(path, params=q, headers={**c.who.county, **c.after})
        assert r.status_code == 200, r.text
        assert r.headers["x-renda-answer"] == "precomputed"
        return r.content

    async def same_when_counted() -> bytes:
        # a later moment than the rows were counted at (the view's clock): what the clock alone changes
        # by then (the board's lateness) is told at that moment either way
        with clock.fixed(datetime.now(UTC) + timedelta(seconds=90)):
            served = await eventually(precomputed, timeout=30)
            async with engine.begin() as tx:
                await tx.execute(delete(answers))
            r = await system.client.get(path, params=q, headers={**c.who.county, **c.after})
        assert r.status_code == 200, r.text
        assert r.headers["x-renda-answer"] == "counted"  # else the rows came back between the two
        assert r.content == served
        return served

    return await eventually(same_when_counted, timeout=60)


async def test_precomputed_answers_equal_counted_ones_and_follow_writes(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url, unsatisfied_limit=0, reply_deadline_complex="PT1S")
    engine = make_engine(settings.database_url_for("supervision"))
    try:
        async with running_system(settings) as system:
            c = await build(system, nc)
            township = c.a.township
            table = "/api/supervision/townships"
            before = await both_ways(system, c, engine, table, year=YEAR)
            assert township.encode() in before
            await both_ways(system, c, engine, table, year=YEAR, level="county")
            board = await both_ways(system, c, engine, "/api/supervision/overdue")
            assert c.s4.encode() in board
            yesterday = (TODAY - timedelta(days=1)).isoformat()
            past = await both_ways(system, c, engine, table, year=YEAR, as_of=yesterday)
            assert b'"historical":true' in past and township.encode() not in past

            # a consultation and a reply to the overdue s4: the next answer shows it at once (rows of the
            # old version are never served), and the rows counted again in the background equal it
            r = await system.client.post(
                f"/api/suggestions/{c.s4}/consultations",
                json={"held_on": TODAY.isoformat(), "mode": "face_to_face", "summary": "面商"},
                headers=c.who.co_unit,
            )
            assert r.status_code in (200, 201), r.text
            r = await system.client.post(
                f"/api/suggestions/{c.s4}/reply", json={"result": "A", "content": "已建成"}, headers=c.who.co_unit
            )
            assert r.status_code == 200, r.text
            c.positions.append(r.headers["renda-position"])
            r = await system.client.get(
                table, params={"under": c.a.county, "year": YEAR}, headers={**c.who.county, **c.after}
            )
            [mine] = [i for i in r.json()["items"] if i["code"] == township]
            assert mine["suggestions"]["replied"] == 1 and mine["suggestions"]["overdue"] == 0
            assert await both_ways(system, c, engine, table, year=YEAR) == r.content
            assert c.s4.encode() not in await both_ways(system, c, engine, "/api/supervision/overdue")
    finally:
        await engine.dispose()


def test_a_live_answer_is_kept_only_until_a_lateness_it_shows_changes() -> None:
    due = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    # overdue_for shows minutes in the first hour, then hours; overdue_days whole days
    assert lateness_tick(due, due + timedelta(seconds=5), fine=True) == due + timedelta(minutes=1)
    assert lateness_tick(due, due + timedelta(minutes=59, seconds=1), fine=True) == due + timedelta(hours=1)
    assert lateness_tick(due, due + timedelta(days=2, minutes=5), fine=True) == due + timedelta(days=2, hours=1)
    assert lateness_tick(due, due + timedelta(days=2, hours=23), fine=False) == due + timedelta(days=3)
    assert iso_duration(timedelta(minutes=59)) != iso_duration(timedelta(hours=1))
