"""The joint-supervision view (issue 14) on a seeded county (``renda seed --scale demo``, ≈ 50 k
events, county 340403): projection catch-up against a raw pull + insert; each answer served from its
precomputed rows against one raw SQL query of those rows, and recounted (rows and cache emptied, the
background count paused) against the very SELECTs it ran, replayed raw; as-of against live both ways;
the dashboard in Chromium against a static page with the same table. Every baseline is an endpoint of
the same server, through the same engine and driver as ours (the same HTTP boundary; the client runs in
this process); ≥ 200 requests each after a warm-up, ours and the baseline alternating. The supervision
service alone runs in this process on SQLite; the load average is printed beside the figures.

``uv run python -m bench.supervision [--scale demo|tiny|county] [--no-browser]``
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import text

from bench.common import Row, connect, fresh_nats, latency_row, p, rate_row
from bench.context import Ctx
from libs.auth.actor import Principal
from libs.auth.tokens import SESSION_COOKIE, issue, signing_key
from libs.config.settings import Settings
from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.runtime.nats_server import free_port

COUNTY = "340403"
WARM_UP = 20  # requests of each before measuring
STATIC = {"html": ""}  # the static page: the overview's township table alone, served by the same server
STREAMS = ("RENDA_DEPUTIES", "RENDA_SUGGESTIONS", "RENDA_MEETINGS")


@contextlib.asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def timed(n: int, call: Callable[[], Awaitable[Any]], before: Callable[[], None] | None = None) -> list[float]:
    out = []
    for _ in range(n):
        if before is not None:
            before()
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def stream_total(nc: Any) -> int:
    return sum([int((await jsapi.api(nc, f"STREAM.INFO.{s}")).get("state", {}).get("messages", 0)) for s in STREAMS])


async def catch_up(settings: Settings, total: int) -> float:
    """Events per second the supervision read models take in from empty (its process alone)."""
    from services.supervision.app import create

    app = create(settings)
    t0 = time.perf_counter()
    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        while any([sum((await r.lag()).values()) for r in rt.runners.values()]):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
    return total / elapsed


async def raw_pull_insert(nc: Any, url: str) -> float:
    """The baseline: pull every event of the three streams and insert each as a row (executemany per fetch)."""
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE raw_events (stream TEXT, seq INTEGER, type TEXT, body TEXT)"))
    t0 = time.perf_counter()
    pulled = 0
    for stream in STREAMS:
        info = await jsapi.api(nc, f"STREAM.INFO.{stream}")
        last = int(info.get("state", {}).get("last_seq", 0))
        psub = await nc.jetstream().pull_subscribe(
            f"renda.{stream.split('_')[1].lower()}.>", durable=f"raw{uuid.uuid4().hex[:8]}", stream=stream
        )
        got = 0
        while got < last:
            try:
                msgs = await psub.fetch(500, timeout=0.2)
            except TimeoutError:
                break
            rows = [{"s": stream, "q": m.metadata.sequence.stream, "t": "", "b": m.data.decode()} for m in msgs]
            got += len(rows)
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO raw_events VALUES (:s, :q, :t, :b)"), rows)
        await psub.unsubscribe()
        pulled += got
    elapsed = time.perf_counter() - t0
    await engine.dispose()
    return pulled / elapsed


async def paired(
    n: int, ours: Callable[[], Awaitable[Any]], raw: Callable[[], Awaitable[Any]], before: Callable[[], None] | None
) -> tuple[list[float], list[float]]:
    """Ours and the baseline alternately (after a warm-up of each), so both see the same load of a shared
    machine; the order within a pair alternates too."""
    for _ in range(WARM_UP):
        await timed(1, ours, before)
        await timed(1, raw)
    a: list[float] = []
    b: list[float] = []
    for i in range(n):
        if i % 2:
            b += await timed(1, raw)
            a += await timed(1, ours, before)
        else:
            a += await timed(1, ours, before)
            b += await timed(1, raw)
    return a, b


def captured(app: FastAPI) -> tuple[list[tuple[str, Any]], Callable[[], None]]:
    """The SQL statements the service runs (with their parameters) while recording."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []
    engine = app.state.runtime.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    return seen, lambda: event.remove(engine, "before_cursor_execute", record)


def raw_routes(app: FastAPI) -> dict[str, Any]:
    """The baselines, served by the same server as ours (the same HTTP boundary, no auth): ``/bench/rows``
    runs one raw SQL query through the service's own engine as its request path does (``reading``) and
    answers the rows as a JSON array; ``/bench/replay`` runs the recorded SELECTs raw through the
    service's engine (aiosqlite, as an uncached count does) and answers how many rows came."""
    from libs.db.engine import reading

    held: dict[str, Any] = {"rows": ("SELECT 1", {}), "replay": []}

    async def rows() -> Response:
        sql, params = held["rows"]
        async with reading(app.state.runtime.engine) as conn:
            found = [r[0] for r in await conn.execute(text(sql), params)]
        return Response(("[" + ",".join(found) + "]").encode(), media_type="application/json")

    async def replay() -> Response:
        n = 0
        async with app.state.runtime.engine.connect() as conn:
            for sql, params in held["replay"]:
                n += len((await conn.exec_driver_sql(sql, tuple(params) if isinstance(params, list) else params)).all())
        return Response(str(n).encode(), media_type="application/json")

    app.add_api_route("/bench/rows", rows, include_in_schema=False)
    app.add_api_route("/bench/replay", replay, include_in_schema=False)
    return held


def pair(
    name: str, ours: list[float], raw: list[float], goal: float, baseline: str, notes: str = "", p50: str = ""
) -> list[Row]:
    """The p50 and p99 rows of one comparison (``p50``: a note of the p50 row alone)."""
    return [
        latency_row(f"{name} p{q}", p(ours, q), p(raw, q), goal, baseline, notes=notes + (p50 if q == 50 else ""))
        for q in (50, 99)
    ]


TOWNSHIPS = "/api/supervision/townships"
ROWS_OF_ANSWER = "SELECT body FROM supervision_answers WHERE answer = :a ORDER BY seq"
BOUNDARY = "both over HTTP to the same uvicorn server, client in the same process"


async def answers(app: FastAPI, held: dict[str, Any], base: str, token: str, n: int) -> list[Row]:
    """Each endpoint served from its precomputed rows against one raw SQL query of those rows; recounted
    (precomputed rows and the cache emptied, the background count paused) against the very SELECTs it
    ran, replayed raw; as-of against live, both ways. Every baseline is served by the same server."""
    from sqlalchemy import delete

    from services.supervision import answers as an
    from services.supervision.queries import cache_of

    rt = app.state.runtime
    cache = cache_of(rt)
    year = datetime.now(UTC).year
    today = datetime.now(UTC).date()
    mid = date(today.year, 6, 30) if today > date(today.year, 7, 31) else today - timedelta(days=150)
    days = (("a year back", today - timedelta(days=365)), ("mid-year", mid))  # the notes give each answer's size
    rows: list[Row] = []
    async with httpx.AsyncClient(base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}) as c:

        def get(path: str, **q: Any) -> Callable[[], Awaitable[None]]:
            async def go() -> None:
                (await c.get(path, params={"under": COUNTY, **q})).raise_for_status()

            return go

        async def served(path: str, **q: Any) -> None:
            for _ in range(600):
                r = await c.get(path, params={"under": COUNTY, **q})
                if r.headers.get("x-renda-answer") == "precomputed":
                    return
                await asyncio.sleep(0.1)
            raise RuntimeError(f"{path} {q} never served from precomputed rows")

        async def raw(route: str) -> None:
            (await c.get(route)).raise_for_status()

        first = await timed(1, get(TOWNSHIPS))
        cases: tuple[tuple[str, str, dict[str, str], Any], ...] = (
            ("townships", TOWNSHIPS, {}, an.Spec("townships", COUNTY, year, None)),
            ("overdue", "/api/supervision/overdue", {}, an.Spec("overdue", COUNTY, None, None)),
        )
        for name, path, q, spec in cases:  # served from the precomputed rows
            await served(path, **q)
            held["rows"] = (ROWS_OF_ANSWER, {"a": spec.key})
            ours, base_ = await paired(n, get(path, **q), lambda: raw("/bench/rows"), cache.entries.clear)
            first_note = f"; first answer after start (counted) {first[0]:.0f} ms" if name == "townships" else ""
            rows += pair(name, ours, base_, 3, "one raw SQL query of its rows", BOUNDARY, first_note)
        for label, day in days:
            past = {"as_of": day.isoformat()}
            await served(TOWNSHIPS, **past)
            size = len((await c.get(TOWNSHIPS, params={"under": COUNTY, **past})).content)
            ours, live = await paired(n, get(TOWNSHIPS, **past), get(TOWNSHIPS), cache.entries.clear)
            size_note = f"its answer {size / 1024:.1f} KiB"
            rows += pair(f"as_of {label} ({day}) vs live", ours, live, 2, "live view, served", "", size_note)

        rt.extras["answers_paused"] = True  # recounted on every request: no precomputed rows, no cache
        async with rt.engine.begin() as conn:
            await conn.execute(delete(an.answers))
        for name, path, q, _spec in cases:
            cache.entries.clear()
            seen, stop = captured(app)
            await get(path, **q)()
            stop()
            held["replay"] = [(s, x) for s, x in seen if s.lstrip().upper().startswith("SELECT")]
            what = f"the {len(held['replay'])} SELECTs it ran, replayed raw, same driver"
            ours, base_ = await paired(n, get(path, **q), lambda: raw("/bench/replay"), cache.entries.clear)
            rows += pair(f"{name} recounted", ours, base_, 3, what, BOUNDARY)
        live_get = get(TOWNSHIPS)

        async def live_recounted() -> None:
            cache.entries.clear()
            await live_get()

        for label, day in days:
            ours, live = await paired(n, get(TOWNSHIPS, as_of=day.isoformat()), live_recounted, cache.entries.clear)
            rows += pair(f"as_of {label} ({day}) vs live, recounted", ours, live, 2, "live view, recounted")
        rt.extras["answers_paused"] = False
    return rows


async def dashboard(base: str, token: str) -> list[Row]:
    """Chromium: the overview until DOMContentLoaded and every chart drawn, against a static page with
    the same township table served by the same server; and the compressed page weight."""
    from playwright.async_api import async_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
    args += ["--no-first-run", "--disable-sync"]
    cookie = {"name": SESSION_COOKIE, "value": token, "url": base}
    out: list[Row] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        ctx = await browser.new_context(viewport={"width": 1366, "height": 768})
        await ctx.add_cookies([cookie])  # type: ignore[list-item]
        page = await ctx.new_page()
        ours: list[float] = []
        static: list[float] = []
        dcl: list[float] = []
        for _ in range(5):
            t0 = time.perf_counter()
            await page.goto(f"{base}/", wait_until="domcontentloaded")
            dcl.append((time.perf_counter() - t0) * 1000)
            await page.wait_for_function("() => document.body.dataset.charts === 'drawn'")
            ours.append((time.perf_counter() - t0) * 1000)
            table = await page.eval_on_selector("#townships table, table", "t => t.outerHTML")
            STATIC["html"] = (
                '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>乡镇</title>'
                f'<link rel="stylesheet" href="/static/app.css"></head><body>{table}</body></html>'
            )
            t0 = time.perf_counter()
            await page.goto(f"{base}/bench/static-table", wait_until="load")
            static.append((time.perf_counter() - t0) * 1000)
        out.append(latency_row("overview DOMContentLoaded (Chromium)", p(dcl, 50), p(static, 50), None, "static page"))
        out.append(
            latency_row(
                "overview rendered, charts drawn (Chromium)",
                p(ours, 50),
                p(static, 50),
                None,
                "static page with the same table, same server",
            )
        )
        await browser.close()
    out.append(await weight(base, token))
    return out


async def weight(base: str, token: str) -> Row:
    """The overview and every asset it loads, each gzip-compressed (what GZipMiddleware sends)."""
    import re

    async with httpx.AsyncClient(base_url=base, cookies={SESSION_COOKIE: token}) as c:
        r = await c.get("/")
        sent = len(gzip.compress(r.content))
        assets = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text))
        for a in assets:
            sent += len(gzip.compress((await c.get(a)).content))
    note = f"page {len(r.content) / 1024:.0f} KiB raw; {len(assets)} assets"
    return Row("overview page weight incl. assets, gzip", sent / 1024, None, "KiB", "report", notes=note)


async def run(ctx: Ctx, scale: str = "demo", browser: bool = True) -> list[Row]:
    from renda.seed import seed
    from services.supervision.app import create

    folder = Path(ctx.folder) / f"supervision-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    rows: list[Row] = []
    with fresh_nats(folder / "nats", sync_always=False) as server:
        url = f"sqlite+aiosqlite:///{folder / 'read.sqlite3'}"
        settings = Settings(
            nats_url=server.url, database_url=url, data_dir=folder / "data", jwt_secret=uuid.uuid4().hex
        )
        nc = await connect(server.url)
        summary = await seed(nc, settings, scale=scale)
        total = await stream_total(nc)
        ctx.console.print(f"supervision: seeded {summary.events:,} events ({scale}) in {summary.seconds:.0f} s")
        ours = await catch_up(settings, total)
        raw = await raw_pull_insert(nc, f"sqlite+aiosqlite:///{folder / 'raw.sqlite3'}")
        await nc.drain()
        rows.append(rate_row(f"projection catch-up, {total:,} events", ours, raw, 0.5, "raw pull + insert"))
        key = signing_key(settings.jwt_secret, settings.data_dir)
        token = issue(Principal("bench", "county_staff", COUNTY), key, timedelta(hours=1))
        app = create(settings)
        app.add_api_route("/bench/static-table", lambda: HTMLResponse(STATIC["html"]), include_in_schema=False)
        held = raw_routes(app)
        async with serve(app) as base:
            rows += await answers(app, held, base, token, 200 if ctx.sizes.quick else 300)
            if browser:
                rows += await dashboard(base, token)
    load = os.getloadavg()
    for r in rows:
        r.extra["loadavg"] = load
    ctx.console.print(f"supervision: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return rows


if __name__ == "__main__":
    import tempfile

    from rich.console import Console

    from bench.common import Sizes

    async def main() -> None:
        import logging

        logging.getLogger("httpx").setLevel(logging.WARNING)
        scale = sys.argv[sys.argv.index("--scale") + 1] if "--scale" in sys.argv else "demo"
        with contextlib.ExitStack() as stack:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="renda-bench-")))
            ctx = Ctx(Sizes.of("--full" not in sys.argv), None, folder, Console(), stack)  # type: ignore[arg-type]
            for r in await run(ctx, scale, browser="--no-browser" not in sys.argv):
                ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
                mark = {True: "ok", False: "MISSED", None: ""}[r.passed]
                raw = f"{r.raw:.1f}" if r.raw is not None else "-"
                print(f"| {r.name} | {r.ours:.1f} {r.unit} | {raw} | {ratio} | {r.goal} {mark} | {r.notes} |")
            load = os.getloadavg()
            print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    asyncio.run(main())
