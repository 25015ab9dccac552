"""Property: a meeting's times, given with any offset for any year from 1949 to 50 years ahead, go
through the API, the event store and the meetings read model (SQLite and PostgreSQL), and come out
as the same instants, written in RENDA_TIMEZONE with its offset (``+08:00``; Asia/Shanghai kept
summer time, ``+09:00``, in 1986–1991 and the answer says so) — in the meeting, in the list and
in the minutes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from libs.runtime.nats_server import EmbeddedNats
from tests.meetings.world import World, make_world, schedule_body

M = "/api/meetings"
ZONE = ZoneInfo("Asia/Shanghai")
LATEST = date.today().replace(year=date.today().year + 50) - timedelta(days=2)
OFFSETS = st.integers(-12 * 4, 14 * 4).map(lambda q: timezone(timedelta(minutes=15 * q)))
INSTANTS = st.datetimes(
    min_value=datetime(1949, 1, 2), max_value=datetime.combine(LATEST, datetime.min.time()), timezones=OFFSETS
)


@pytest.fixture
async def world(nats_server: EmbeddedNats, nc: Any, settings_for: Any, database_url: str) -> AsyncIterator[World]:
    async with make_world(nc, settings_for(nats_server.url, database_url)) as w:
        await w.seed.deputies(w.town, 1)
        yield w


def same_local(text: str, given: datetime) -> None:
    got = datetime.fromisoformat(text)
    assert got == given, (text, given)
    assert got.utcoffset() == given.astimezone(ZONE).utcoffset(), (text, given)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(starts=INSTANTS, hours=st.integers(1, 80))
async def test_meeting_times_round_trip_through_the_read_models(world: World, starts: datetime, hours: int) -> None:
    w, staff = world, world.staff()
    ends = starts + timedelta(hours=hours)
    r = await w.post(
        M,
        schedule_body("inspection", w.town, title="视察", starts_at=starts.isoformat(), ends_at=ends.isoformat()),
        staff,
    )
    assert r.status_code == 201, r.text
    mid = r.json()["meeting_id"]
    detail = (await w.get(f"{M}/{mid}", staff)).json()
    same_local(detail["starts_at"], starts)
    same_local(detail["ends_at"], ends)
    year = starts.astimezone(ZONE).year
    listed = await w.get(M, staff, after=r, params={"body": w.town, "year": year, "limit": 500})
    assert listed.status_code == 200, listed.text
    [row] = [m for m in listed.json()["items"] if m["meeting_id"] == mid]
    same_local(row["starts_at"], starts)
    same_local(row["ends_at"], ends)


async def test_minutes_print_the_times_given_in_local_time_with_the_offset(world: World) -> None:
    w, staff = world, world.staff()
    given = datetime(2025, 6, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    r = await w.post(
        M,
        schedule_body(
            "inspection", w.town, title="视察", starts_at=given.isoformat(), ends_at="2025-06-02T11:00+08:00"
        ),
        staff,
    )
    mid = r.json()["meeting_id"]
    assert (await w.post(f"{M}/{mid}/convene", {}, staff)).status_code == 200
    done = await w.post(f"{M}/{mid}/adjourn", {}, staff)
    minutes = done.json()["minutes"]
    assert minutes["starts_at"] == "2025-06-02T09:00:00+08:00"
    assert minutes["ends_at"] == "2025-06-02T11:00:00+08:00"
    adjourned = datetime.fromisoformat(minutes["adjourned_at"])
    assert minutes["adjourned_at"].endswith("+08:00") and adjourned <= datetime.now(UTC)
