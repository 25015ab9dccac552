"""A message a projection cannot decode or apply halts that projection, visibly, until an operator resolves it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import httpx
import orjson
import uvicorn
from fastapi import FastAPI
from nats.aio.client import Client as NATS
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.config.settings import Settings
from libs.events import jetstream as jsapi
from libs.events.envelope import Envelope, chain_hash, hashed_part
from libs.events.projection import Projection, ProjectionGroup, ProjectionRunner, on
from libs.events.projection.checkpoints import retry, rows
from libs.events.store import EventStore
from libs.events.subjects import aggregate_subject
from libs.runtime.nats_server import EmbeddedNats, free_port
from libs.service.app import ServiceDefinition, create_app
from tests.events.fixtures_domain import (
    CONTEXT,
    COUNTER,
    JURISDICTION,
    STREAM,
    CounterIncremented,
    CounterOpened,
    CounterTotals,
    meta,
    new_id,
)
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
RENDA = str(Path(sys.executable).parent / "renda")

opened_metadata = MetaData()
opened = Table(
    "test_poison_opened",
    opened_metadata,
    Column("id", String(64), primary_key=True),
    Column("label", String(100), nullable=False),
    Column("tries", Integer, nullable=False),
)


class PoisonOpened(Projection):
    """Refuses a counter labelled 毒 while ``broken``; its ``handles`` come from the ``@on`` table."""

    name: ClassVar[str] = "test-poison-opened"
    contexts: ClassVar[tuple[str, ...]] = (CONTEXT,)
    metadata: ClassVar[MetaData] = opened_metadata
    broken: ClassVar[bool] = True
    tries: ClassVar[int] = 0

    @on(CounterOpened)
    async def opened(self, e: CounterOpened, env: Envelope, tx: AsyncConnection) -> None:
        if e.label == "毒":
            type(self).tries += 1
            if type(self).broken:
                raise ValueError("a label this projection cannot store")
        await tx.execute(opened.insert().values(id=e.counter_id, label=e.label, tries=type(self).tries))


async def open_counter(store: EventStore, label: str) -> int:
    cid = new_id()
    done = await store.append(
        await store.load(COUNTER, cid, JURISDICTION), [CounterOpened(counter_id=cid, label=label)], meta()
    )
    return done.stream_seq


async def labels(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return sorted(r.label for r in await conn.execute(select(opened)))


def test_handles_is_derived_from_the_dispatch_table() -> None:
    assert PoisonOpened().wants() == frozenset({"TestCounterOpened"})
    try:

        class Drifted(Projection):
            name: ClassVar[str] = "test-drifted"
            contexts: ClassVar[tuple[str, ...]] = (CONTEXT,)
            handles = (CounterOpened, CounterIncremented)

            @on(CounterOpened)
            async def opened(self, e: CounterOpened, env: Envelope, tx: AsyncConnection) -> None:
                return None

    except TypeError as exc:
        assert "TestCounterIncremented" in str(exc)
    else:
        raise AssertionError("a handles list that drifted from the dispatch table was accepted")


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())

    async def started() -> None:
        if task.done():
            task.result()
        assert server.started

    await eventually(started, timeout=60)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        try:
            yield client
        finally:
            server.should_exit = True
            await task


async def test_a_poison_message_halts_one_projection_visibly_until_skipped(
    js: NATS, fresh_nats: EmbeddedNats, database_url: str, settings_for, tmp_path: Path
) -> None:
    PoisonOpened.broken, PoisonOpened.tries = True, 0
    store = EventStore(js)
    await open_counter(store, "甲")
    poison = await open_counter(store, "毒")
    await open_counter(store, "乙")
    settings: Settings = settings_for(fresh_nats.url, database_url)
    defn = ServiceDefinition(
        name="halting", title="测试", routers=[], projections=lambda _s: [PoisonOpened(), CounterTotals()]
    )
    app = create_app(defn, settings)
    async with serving(app) as client:
        rt = app.state.runtime

        async def halted_in_readyz() -> dict:
            r = await client.get("/readyz")
            assert r.status_code == 503, r.text
            assert PoisonOpened.name in r.json().get("halted", {}), r.text
            [halt] = r.json()["halted"][PoisonOpened.name]
            assert (halt["stream"], halt["seq"]) == (STREAM, poison)
            assert "ValueError" in halt["error"] and "TestCounterOpened" in halt["error"]
            return r.json()

        await eventually(halted_in_readyz, timeout=30)
        metrics = (await client.get("/metrics")).text
        assert f'renda_projection_halts_total{{projection="{PoisonOpened.name}",stream="{STREAM}"}}' in metrics
        assert f'renda_projection_halted{{projection="{PoisonOpened.name}",stream="{STREAM}"}} 1.0' in metrics
        # The other read model of the same group goes on, also past the poison and with new events.
        later = await open_counter(store, "丙")
        totals = rt.runner(CounterTotals.name)
        assert await totals.wait_for(STREAM, later, 30)
        assert await labels(rt.engine) == ["甲"]
        tries = PoisonOpened.tries
        assert 1 <= tries <= 3  # tried, isolated, halted: no retry loop while halted
        # The operator skips exactly that message; the running service resumes on its next poll.
        env = {**os.environ, "RENDA_DATA_DIR": str(tmp_path / "cli")}
        wrong = await asyncio.to_thread(
            subprocess.run,
            [RENDA, "projections", "skip", PoisonOpened.name, str(poison + 1), "--database-url", database_url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert wrong.returncode != 0, wrong.stderr
        done = await asyncio.to_thread(
            subprocess.run,
            [RENDA, "projections", "skip", PoisonOpened.name, str(poison), "--database-url", database_url],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr

        async def resumed() -> None:
            r = await client.get("/readyz")
            assert r.status_code == 200, r.text
            assert await labels(rt.engine) == ["丙", "乙", "甲"]

        await eventually(resumed, timeout=30)
        assert PoisonOpened.tries == tries
        [row] = [r for r in await rows(rt.engine, [PoisonOpened.name])]
        assert row["halted_seq"] is None and f"skipped {STREAM} #{poison}" in str(row["resolution"])


async def test_retry_applies_the_message_once_fixed_and_a_restart_keeps_the_halt(js: NATS, engine: AsyncEngine) -> None:
    PoisonOpened.broken, PoisonOpened.tries = True, 0
    store = EventStore(js)
    poison = await open_counter(store, "毒")
    runner = ProjectionRunner(js, engine, PoisonOpened(), batch=10)
    await runner.start()

    async def halted() -> None:
        assert STREAM in runner.halted and runner.halted[STREAM].seq == poison

    await eventually(halted, timeout=30)
    await runner.stop()
    # A restart does not silently try again: the halt is in the checkpoint table.
    runner = ProjectionRunner(js, engine, PoisonOpened(), batch=10)
    await runner.start()
    try:
        assert runner.halted[STREAM].seq == poison
        PoisonOpened.broken = False  # "the fix is deployed"
        assert await retry(engine, PoisonOpened.name) == [STREAM]

        async def applied() -> None:
            assert "毒" in await labels(engine)
            assert STREAM not in runner.halted

        await eventually(applied, timeout=30)
    finally:
        await runner.stop()


async def test_an_event_type_this_process_does_not_know_halts_the_projection_that_wants_it(
    js: NATS, engine: AsyncEngine
) -> None:
    class WantsUndeclared(Projection):
        name: ClassVar[str] = "test-wants-undeclared"
        contexts: ClassVar[tuple[str, ...]] = (CONTEXT,)
        metadata: ClassVar[MetaData] = MetaData()
        handles = ("TestNeverImported",)

        async def apply(self, env: Envelope, tx: AsyncConnection) -> None:
            return None

    store = EventStore(js)
    seq = await open_counter(store, "原")
    body = orjson.loads((await jsapi.direct_get_seq(js, STREAM, seq)).data)  # type: ignore[union-attr]
    body.update(type="TestNeverImported", aggregate_id=new_id(), id=new_id())  # as if its events.py were not imported
    body["hash"] = chain_hash(hashed_part(body))
    subject = aggregate_subject(CONTEXT, JURISDICTION, COUNTER.name, body["aggregate_id"])
    unknown = (await jsapi.publish(js, subject, orjson.dumps(body), {"Nats-Msg-Id": body["id"]})).seq
    wants, totals = ProjectionRunner(js, engine, WantsUndeclared()), ProjectionRunner(js, engine, CounterTotals())
    group = ProjectionGroup(js, engine, [wants, totals], name="test_unknown")
    await group.start()
    try:

        async def halted() -> None:
            assert STREAM in wants.halted and wants.halted[STREAM].seq == unknown
            assert "TestNeverImported" in wants.halted[STREAM].error
            assert totals.positions[STREAM] == unknown  # not wanted there: no halt

        await eventually(halted, timeout=30)
        assert STREAM not in totals.halted
    finally:
        await group.stop()
