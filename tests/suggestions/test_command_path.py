"""The command path's plumbing: when the read models' batches give way to commands, and when not."""

from __future__ import annotations

import asyncio

from libs.web.middleware import InFlight

LONG = 3600.0  # a bound never reached in these tests: each returns because of what happened, not a clock


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_batch_goes_at_once_when_no_command_is_answered() -> None:
    await asyncio.wait_for(InFlight(gap=0).quiet(LONG), 10)


async def test_a_batch_waits_for_the_command_being_answered() -> None:
    inflight = InFlight(gap=0)
    inflight.enter()
    waiting = asyncio.create_task(inflight.quiet(LONG))
    await settle()
    assert not waiting.done()
    inflight.leave()
    await asyncio.wait_for(waiting, 10)


async def test_a_batch_waits_while_commands_keep_coming() -> None:
    """One answered a moment ago (within ``gap``): a client sending one after another."""
    inflight = InFlight(gap=LONG)
    inflight.enter()
    inflight.leave()
    waiting = asyncio.create_task(inflight.quiet(LONG))
    await settle()
    assert not waiting.done()
    waiting.cancel()


async def test_a_request_waiting_for_the_read_models_lets_the_batch_go() -> None:
    inflight = InFlight(gap=LONG)
    inflight.enter()
    waiting = asyncio.create_task(inflight.quiet(LONG))
    await settle()
    with inflight.reading():
        await asyncio.wait_for(waiting, 10)
    assert inflight.count == 1 and inflight.readers == 0
    # Already waiting when the batch arrives: it does not wait at all.
    with inflight.reading():
        await asyncio.wait_for(inflight.quiet(LONG), 10)


async def test_the_longest_wait_is_bounded() -> None:
    inflight = InFlight(gap=LONG)
    inflight.enter()
    await asyncio.wait_for(inflight.quiet(0), 10)
