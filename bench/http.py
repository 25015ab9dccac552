"""HTTP command: POST /api/deputies/jurisdictions vs the thinnest FastAPI endpoint that publishes once.

Each server runs in its own process (``bench.servers``) under the same uvicorn settings against
the same NATS server; the httpx load generator runs in this process. Every request registers a
new township (its own aggregate) under one of the seeded counties.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import Row, create_stream, rate_row, vm_status
from bench.context import Ctx
from bench.servers import JWT_SECRET
from libs.auth.actor import Principal
from libs.auth.tokens import issue
from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from libs.events.streams import ensure_streams
from libs.runtime.nats_server import free_port
from services.deputies.commands.context import OperatorContext
from services.deputies.commands.jurisdictions import RegisterJurisdiction, register_jurisdiction

CITY = "1234"
COUNTIES = [f"{CITY}{c:02d}" for c in range(1, 41)]  # 40 counties x 999 townships


@contextlib.asynccontextmanager
async def server(mode: str, ctx: Ctx, health: str) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    data = ctx.folder / f"srv-{mode}"
    data.mkdir(exist_ok=True)
    log = (data / "server.log").open("wb")
    profile = os.environ.get("BENCH_PROFILE_DIR")  # profile the servers: cProfile output per mode
    env = {**os.environ, "BENCH_PROFILE_FILE": f"{profile}/{mode}.prof"} if profile else None
    proc = subprocess.Popen(  # noqa: ASYNC220 - once, before measuring
        [
            sys.executable,
            "-m",
            "bench.servers",
            mode,
            "--nats",
            ctx.url,
            "--port",
            str(port),
            "--data",
            str(data),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parent.parent,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as c:
            for _ in range(300):
                if proc.poll() is not None:
                    raise RuntimeError(f"{mode} server died: see {data / 'server.log'}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await c.get(health)).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


async def drive(
    base: str, clients: int, n: int, make: Callable[[int], tuple[str, dict[str, Any]]], headers: dict[str, str]
) -> float:
    """Requests per second of ``clients`` concurrent loops issuing ``n`` requests in all."""
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:

        async def loop() -> None:
            for i in counter:
                path, body = make(i)
                r = await c.post(path, json=body)
                if r.status_code != 201:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")

        t0 = time.perf_counter()
        await asyncio.gather(*(loop() for _ in range(clients)))
        return n / (time.perf_counter() - t0)


async def seed_counties(ctx: Ctx) -> None:
    nc = await ctx.connect()
    try:
        await ensure_streams(nc, 1, create_missing=True)
        await create_stream(nc, "thin")  # the thin endpoint's own stream, same config (RENDA_THIN)
        store = EventStore(nc)
        meta = CommandMeta(Actor("operator:bench", "operator"), "bench", "seed", datetime.now(UTC))
        await register_jurisdiction(RegisterJurisdiction(CITY, "基准市", "city"), OperatorContext(store, meta))
        for code in COUNTIES:
            m = CommandMeta(meta.actor, "bench", f"seed-{code}", meta.now)
            await register_jurisdiction(
                RegisterJurisdiction(code, f"基准县{code}", "county", CITY), OperatorContext(store, m)
            )
    finally:
        await nc.close()


async def run(ctx: Ctx) -> list[Row]:
    await seed_counties(ctx)
    n = ctx.sizes.http
    token = issue(
        Principal(subject="bench:staff", role="city_staff", jurisdiction=CITY), JWT_SECRET, timedelta(hours=2)
    )
    auth = {"Authorization": f"Bearer {token}"}
    next_code = iter(range(1, 40 * 999))

    def township(_i: int) -> tuple[str, dict[str, Any]]:
        k = next(next_code)
        county = COUNTIES[k % len(COUNTIES)]
        code = f"{county}{k // len(COUNTIES) % 999 + 1:03d}"
        return "/api/deputies/jurisdictions", {"code": code, "name": f"镇{code}", "kind": "township", "parent": county}

    def thin_body(i: int) -> tuple[str, dict[str, Any]]:
        return "/thin", {"code": f"9{i:08d}", "name": f"镇{i}", "kind": "township", "parent": "123401"}

    figures: dict[tuple[str, int], float] = {}
    memory: dict[str, float] = {}
    for mode, health, make, headers in (
        ("thin", "/healthz", thin_body, {}),
        ("ours", "/api/deputies/healthz", township, auth),
    ):
        async with server(mode, ctx, health) as (base, pid):
            await drive(base, 4, 40, make, headers)  # warm-up
            for clients in (1, 16):
                runs = [await drive(base, clients, n // 2, make, headers) for _ in range(2)]
                figures[(mode, clients)] = max(runs)
            if mode == "ours":
                memory = vm_status(pid)
    ctx.figures["service.memory"] = memory
    base = "thinnest FastAPI endpoint: one nc.request publish, own uvicorn process"
    rows = [
        rate_row(
            f"HTTP POST jurisdictions, {c} client{'s' if c > 1 else ''}",
            figures[("ours", c)],
            figures[("thin", c)],
            goal,
            base,
            n=n,
        )
        for c, goal in ((1, 0.50), (16, 0.40))
    ]
    if memory:
        rows.append(
            Row(
                "memory: service process after HTTP load (VmHWM)",
                memory["VmHWM"],
                None,
                "MB",
                "<= 300 MB",
                None,
                memory["VmHWM"] <= 300,
                "",
                f"VmRSS now {memory['VmRSS']:.0f} MB",
            )
        )
    return rows
