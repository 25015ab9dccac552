"""The joint-supervision view (issue 14): answers against raw SQL of the same rows, as-of against
live, and projection catch-up against a raw pull + insert.

A county of 12 townships is written through the real event store with the suggestions' own
decisions (submit, assign, consult, reply, evaluate; some left open past their deadline), dated
over the last 15 months. The services run in this process behind one base URL on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn
from sqlalchemy import text

from bench.common import Row, latency_row, p, rate_row
from bench.context import Ctx
from libs.auth.actor import Principal
from libs.auth.tokens import SESSION_COOKIE, issue, signing_key
from libs.config.settings import Settings
from libs.db.engine import make_engine
from libs.events import jetstream as jsapi
from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from libs.runtime.embedded import build_gateway
from libs.runtime.nats_server import free_port
from renda import registry
from services.deputies.domain.deputy import DEPUTY
from services.deputies.domain.jurisdiction import JURISDICTION
from services.deputies.events import DeputyRegistered, JurisdictionRegistered
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EvaluateSuggestion,
    RecordConsultation,
    ReplyToSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.unit import ORGANIZER_UNIT
from services.suggestions.events import OrganizerUnitRegistered

POLICY = SuggestionPolicy.parse()


def meta(now: datetime) -> CommandMeta:
    cid = str(uuid.uuid4())
    return CommandMeta(actor=Actor("bench", "township_staff"), correlation_id=cid, command_id=cid, now=now)


async def seed_county(store: EventStore, county: str, suggestions: int) -> tuple[int, int]:
    """Write the county; returns (events written, last stream sequence of RENDA_SUGGESTIONS)."""
    n = 0
    city = county[:4]
    now = datetime.now(UTC)

    async def put(agg: Any, aid: str, jur: str, events: list[Any], when: datetime = now) -> int:
        nonlocal n
        done = await store.execute(agg, aid, lambda _l: events, meta(when), jurisdiction=jur)
        n += len(events)
        return done.stream_seq

    await put(JURISDICTION, city, city, [JurisdictionRegistered(code=city, name="基准市", kind="city")])
    await put(
        JURISDICTION, county, county, [JurisdictionRegistered(code=county, name="基准县", kind="county", parent=city)]
    )
    towns = [f"{county}{i:03d}" for i in range(1, 13)]
    deputies: dict[str, list[str]] = {}
    units: dict[str, list[str]] = {}
    for t in towns:
        await put(
            JURISDICTION, t, t, [JurisdictionRegistered(code=t, name=f"第{t[-2:]}镇", kind="township", parent=county)]
        )
        deputies[t] = []
        for i in range(20):
            did = f"d{uuid.uuid4().hex[:12]}"
            await put(
                DEPUTY,
                did,
                t,
                [
                    DeputyRegistered(
                        deputy_id=did,
                        name=f"代表{i}",
                        gender="male",
                        level="township",
                        congress=t,
                        township=t,
                        constituency="一",
                        term=19,
                        elected_on=date(2021, 10, 1),
                    )
                ],
            )
            deputies[t].append(did)
        units[t] = []
        for name in ("财政所", "土地所", "派出所", "民政办"):
            uid = f"u{uuid.uuid4().hex[:12]}"
            await put(
                ORGANIZER_UNIT,
                uid,
                t,
                [
                    OrganizerUnitRegistered(
                        unit_id=uid,
                        jurisdiction=t,
                        name=f"{t[-2:]}镇{name}",
                        kind="station",
                        head="所长",
                        deputy_head="副所长",
                        registered_at=now,
                    )
                ],
            )
            units[t].append(uid)
    start = now - timedelta(days=450)
    last = 0
    for k in range(suggestions):
        t = towns[k % len(towns)]
        sid = str(uuid.uuid4())
        when = start + timedelta(days=(k * 440) // max(1, suggestions), hours=k % 7)
        lead = deputies[t][k % 20]
        unit = units[t][k % 4]

        async def step(decide: Any, at: datetime, **kw: Any) -> int:
            nonlocal n
            done = await store.execute(sg.SUGGESTION, sid, lambda x: decide(x.state), meta(at), **kw)
            n += len(done.envelopes)
            return done.stream_seq

        c = SubmitSuggestion(sid, t, f"建议{k}", "内容", (lead,))
        last = await step(lambda s, c=c, at=when: sg.decide_submit(s, c, now=at, is_street=False), when, jurisdiction=t)
        if k % 10 == 9:
            continue  # left submitted
        a_at = when + timedelta(days=3)
        ac = AssignSuggestion(sid, unit, "副镇长")
        last = await step(
            lambda s, at=a_at, ac=ac: sg.decide_assign(
                s, ac, now=at, policy=POLICY, is_street=False, actor_role="township_staff"
            ),
            a_at,
        )
        if k % 10 == 8 or a_at + timedelta(days=120) > now:
            continue  # left open: overdue once its deadline passes
        c_at = a_at + timedelta(days=20)
        cc = RecordConsultation(sid, c_at.date(), "face_to_face" if k % 3 else "phone", "面商")
        last = await step(lambda s, at=c_at, cc=cc: sg.decide_consult(s, cc, unit_id=None, now=at, policy=POLICY), c_at)
        r_at = a_at + timedelta(days=40 if k % 5 else 100)
        rc = ReplyToSuggestion(sid, "A" if k % 4 else "C", "答复", reason=None if k % 4 else "条件限制")
        last = await step(lambda s, at=r_at, rc=rc: sg.decide_reply(s, rc, unit_id=None, now=at, policy=POLICY), r_at)
        e_at = r_at + timedelta(days=5)
        ec = EvaluateSuggestion(sid, "unsatisfied" if k % 7 == 0 else "satisfied")
        last = await step(
            lambda s, at=e_at, ec=ec: sg.decide_evaluate(s, ec, deputy_id=lead, now=at, policy=POLICY), e_at
        )
    return n, last


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    gateway, _ = build_gateway(settings, registry.factories())
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(gateway, host="127.0.0.1", port=port, lifespan="on", log_level="warning"))
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


async def timed_get(client: httpx.AsyncClient, url: str, params: dict[str, Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.get(url, params=params)
        r.raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def timed_sql(engine: Any, sql: str, params: dict[str, Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        async with engine.connect() as conn:
            (await conn.execute(text(sql), params)).all()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def catch_up(settings: Settings, total: int) -> float:
    """Events per second the supervision read models take in from empty (its process alone)."""
    from services.supervision.app import create

    app = create(settings)
    t0 = time.perf_counter()
    async with app.router.lifespan_context(app):
        rt = app.state.runtime
        while True:
            lag = [sum((await r.lag()).values()) for r in rt.runners.values()]
            if not any(lag):
                break
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
    return total / elapsed


async def raw_pull_insert(ctx: Ctx, url: str, total: int) -> float:
    """The baseline: pull every event of the three streams and insert each as a row (executemany)."""
    nc = await ctx.connect()
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE raw_events (stream TEXT, seq INTEGER, type TEXT, body TEXT)"))
    t0 = time.perf_counter()
    pulled = 0
    for stream in ("RENDA_DEPUTIES", "RENDA_SUGGESTIONS", "RENDA_MEETINGS"):
        info = await jsapi.api(nc, f"STREAM.INFO.{stream}")
        last = int(info.get("state", {}).get("last_seq", 0))
        rows = []
        psub = await nc.jetstream().pull_subscribe(
            f"renda.{stream.split('_')[1].lower()}.>", durable=f"raw{uuid.uuid4().hex[:8]}", stream=stream
        )
        got = 0
        while got < last:
            try:
                msgs = await psub.fetch(500, timeout=0.2)
            except TimeoutError:
                break  # every message of the stream under our subjects is in
            for m in msgs:
                b = orjson.loads(m.data)
                rows.append({"stream": stream, "seq": got, "type": b["type"], "body": m.data.decode()})
                got += 1
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO raw_events VALUES (:stream, :seq, :type, :body)"), rows)
            rows = []
        await psub.unsubscribe()
        pulled += got
    elapsed = time.perf_counter() - t0  # includes one empty 0.2 s fetch per stream
    await engine.dispose()
    await nc.drain()
    return pulled / elapsed


async def run(ctx: Ctx) -> list[Row]:
    county = f"{7000 + os.getpid() % 900}{10 + os.getpid() % 80}"
    suggestions = 600 if ctx.sizes.quick else 6000
    folder = Path(ctx.folder) / f"supervision-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    nc = await ctx.connect()
    events, last = await seed_county(EventStore(nc), county, suggestions)
    await nc.drain()
    url = f"sqlite+aiosqlite:///{folder / 'read.sqlite3'}"
    settings = Settings(nats_url=ctx.url, database_url=url, data_dir=folder, jwt_secret="bench-" + uuid.uuid4().hex)
    key = signing_key(settings.jwt_secret, settings.data_dir)
    token = issue(Principal("bench", "county_staff", county), key, timedelta(hours=1))
    n = 30 if ctx.sizes.quick else 200
    rows: list[Row] = []
    async with serve(settings) as base:
        headers = {"Authorization": f"Bearer {token}", "Renda-After": f"RENDA_SUGGESTIONS:{last}"}
        async with httpx.AsyncClient(base_url=base, timeout=120, headers=headers) as client:
            t0 = time.perf_counter()
            while (await client.get("/api/supervision/townships", params={"under": county})).status_code == 503:
                t0 = time.perf_counter()  # the read models are still catching up with the seed
            cold = (time.perf_counter() - t0) * 1000
            client.headers.pop("Renda-After")
            engine = make_engine(url)
            ours = await timed_get(client, "/api/supervision/townships", {"under": county}, n)
            raw = await timed_sql(
                engine,
                "SELECT jurisdiction, status, count(*) FROM supervision_statuses WHERE jurisdiction LIKE :p "
                "AND valid_to IS NULL GROUP BY jurisdiction, status",
                {"p": f"{county}%"},
                n,
            )
            rows.append(
                latency_row(
                    "supervision townships p50",
                    p(ours, 50),
                    p(raw, 50),
                    3,
                    "raw SQL, same driver",
                    notes=f"{events} events, cold first answer {cold:.0f} ms",
                )
            )
            rows.append(latency_row("supervision townships p99", p(ours, 99), p(raw, 99), 3, "raw SQL, same driver"))
            ours = await timed_get(client, "/api/supervision/overdue", {"under": county}, n)
            raw = await timed_sql(
                engine,
                "SELECT * FROM supervision_rounds WHERE jurisdiction LIKE :p AND replied_at IS NULL "
                "AND withdrawn_at IS NULL AND due_at < :now ORDER BY due_at",
                {"p": f"{county}%", "now": datetime.now(UTC).isoformat()},
                n,
            )
            rows.append(latency_row("supervision overdue p50", p(ours, 50), p(raw, 50), 3, "raw SQL, same driver"))
            rows.append(latency_row("supervision overdue p99", p(ours, 99), p(raw, 99), 3, "raw SQL, same driver"))
            year_back = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()
            live = await timed_get(client, "/api/supervision/townships", {"under": county}, n)
            past = await timed_get(client, "/api/supervision/townships", {"under": county, "as_of": year_back}, n)
            rows.append(latency_row("supervision as_of -1y vs live p50", p(past, 50), p(live, 50), 2, "live view"))
            t0 = time.perf_counter()
            r = await client.get("/", cookies={SESSION_COOKIE: token})
            page_ms = (time.perf_counter() - t0) * 1000
            rows.append(
                Row("supervision overview page (server)", page_ms, None, "ms", "report", notes=f"{len(r.content)} B")
            )
            await engine.dispose()
    nc = await ctx.connect()
    total = 0
    for stream in ("RENDA_DEPUTIES", "RENDA_SUGGESTIONS", "RENDA_MEETINGS"):
        total += int((await jsapi.api(nc, f"STREAM.INFO.{stream}")).get("state", {}).get("messages", 0))
    await nc.drain()
    ours_rate = await catch_up(
        Settings(
            nats_url=ctx.url,
            database_url=f"sqlite+aiosqlite:///{folder / 'catchup.sqlite3'}",
            data_dir=folder,
            jwt_secret=settings.jwt_secret,
        ),
        total,
    )
    raw_rate = await raw_pull_insert(ctx, f"sqlite+aiosqlite:///{folder / 'raw.sqlite3'}", total)
    rows.append(rate_row("supervision projection catch-up", ours_rate, raw_rate, 0.5, "raw pull + insert"))
    load = os.getloadavg()
    for r in rows:
        r.extra["loadavg"] = load
    ctx.console.print(f"supervision: load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return rows


if __name__ == "__main__":  # uv run python -m bench.supervision [--full]
    import sys
    import tempfile

    from rich.console import Console

    from bench.common import Sizes, fresh_nats

    async def main() -> None:
        with contextlib.ExitStack() as stack:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="renda-bench-")))
            server = stack.enter_context(fresh_nats(folder / "nats"))
            nc = await ctx_connect(server.url)
            from libs.events.streams import ensure_streams

            await ensure_streams(nc, 1, create_missing=True)
            await nc.drain()
            ctx = Ctx(Sizes.of("--full" not in sys.argv), server, folder, Console(), stack)
            for r in await run(ctx):
                print(orjson.dumps(r.json(), default=str).decode())

    async def ctx_connect(url: str) -> Any:
        from bench.common import connect

        return await connect(url)

    asyncio.run(main())
