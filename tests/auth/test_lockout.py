"""Lockout: 5 failed logins within 15 minutes → 429 with retry_after; it expires; it survives a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from libs.auth.lockout import LIMIT, WINDOW, LoginGuard, LoginLocked, locked_for
from libs.db.engine import make_engine
from tests.auth.helpers import PASSWORD, new_user
from tests.support.system import running_system

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


# -- the rule, pure -------------------------------------------------------------------------
def test_four_failures_do_not_lock() -> None:
    assert locked_for([T0 + i * MIN for i in range(4)], T0 + 4 * MIN) is None


def test_the_fifth_failure_within_fifteen_minutes_locks_until_the_first_ages_out() -> None:
    failed = [T0 + i * MIN for i in range(5)]
    assert locked_for(failed, T0 + 4 * MIN) == WINDOW - 4 * MIN
    assert locked_for(failed, T0 + 14 * MIN) == MIN
    assert locked_for(failed, T0 + WINDOW) is None


def test_failures_spread_over_more_than_fifteen_minutes_never_lock() -> None:
    failed = [T0 + i * 4 * MIN for i in range(10)]  # one every 4 minutes: never 5 inside 15
    assert all(locked_for(failed[: k + 1], failed[k]) is None for k in range(len(failed)))


# -- the guard on a real database, with an injected clock -------------------------------------
async def test_lockout_and_its_expiry(database_url: str) -> None:
    clock = Clock(T0)
    engine = make_engine(database_url)
    guard = LoginGuard(engine, clock=clock)
    try:
        for _ in range(LIMIT - 1):
            assert await guard.failed("Alice", "10.0.0.1") is None
            clock.now += MIN
        await guard.check("alice")  # 4 failures: still open
        assert await guard.failed("alice ", "10.0.0.1") == WINDOW - 4 * MIN  # the 5th locks
        with pytest.raises(LoginLocked) as locked:
            await guard.check("ALICE")
        assert locked.value.status == 429
        assert locked.value.code == "too_many_attempts"
        assert locked.value.details == {"retry_after": 11 * 60}
        clock.now = T0 + WINDOW - timedelta(seconds=1)
        with pytest.raises(LoginLocked) as still:
            await guard.check("alice")
        assert still.value.retry_after == 1
        clock.now = T0 + WINDOW
        await guard.check("alice")  # the first failure aged out: open again
        assert await guard.count("alice") == 4
    finally:
        await engine.dispose()


async def test_a_success_clears_the_count(database_url: str) -> None:
    clock = Clock(T0)
    engine = make_engine(database_url)
    guard = LoginGuard(engine, clock=clock)
    try:
        for _ in range(LIMIT - 1):
            await guard.failed("bob")
        await guard.succeeded("bob")
        assert await guard.failed("bob") is None
        assert await guard.count("bob") == 1
    finally:
        await engine.dispose()


async def test_the_lock_survives_a_restart(database_url: str) -> None:
    clock = Clock(T0)
    first = make_engine(database_url)
    try:
        guard = LoginGuard(first, clock=clock)
        for _ in range(LIMIT):
            await guard.failed("carol", "10.0.0.9")
    finally:
        await first.dispose()
    clock.now += 5 * MIN
    second = make_engine(database_url)  # a new process: nothing kept in memory
    try:
        with pytest.raises(LoginLocked) as locked:
            await LoginGuard(second, clock=clock).check("carol")
        assert locked.value.retry_after == 10 * 60
    finally:
        await second.dispose()


# -- over HTTP ----------------------------------------------------------------------------------
async def test_login_is_locked_after_five_failures_with_retry_after_in_chinese(
    nats_server, nc, settings_for, tmp_path
) -> None:
    settings = settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'read.sqlite3'}")
    name = await new_user(nc, "township_staff", "340403001")
    async with running_system(settings) as system:
        for _ in range(LIMIT):
            r = await system.client.post("/api/auth/token", json={"username": name, "password": "Wrong-pass-1"})
            assert r.status_code == 401, r.text
            assert r.json()["error"]["code"] == "invalid_credentials"
        r = await system.client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
        assert r.status_code == 429, r.text
        err = r.json()["error"]
        assert err["code"] == "too_many_attempts"
        assert 0 < err["details"]["retry_after"] <= 15 * 60
        assert int(r.headers["retry-after"]) == err["details"]["retry_after"]
        assert "锁定" in err["message"]
        # Unknown names are locked the same way, so locking reveals nothing about which names exist.
        for _ in range(LIMIT):
            r = await system.client.post("/api/auth/token", json={"username": "nobody-here", "password": "x"})
            assert r.status_code == 401
        r = await system.client.post("/api/auth/token", json={"username": "nobody-here", "password": "x"})
        assert r.status_code == 429
    async with running_system(settings) as restarted:
        r = await restarted.client.post("/api/auth/token", json={"username": name, "password": PASSWORD})
        assert r.status_code == 429, "the lock must survive a restart"
