"""Processes the benchmarks measure from outside: ``python -m bench.servers ours|thin|runner ...``.

- ``ours``: the deputies service as ``renda serve deputies`` runs it (uvicorn, its projections).
- ``thin``: the thinnest FastAPI endpoint that publishes once to JetStream, same uvicorn settings.
- ``runner``: a ProjectionRunner catching up on RENDA_BENCH; prints its memory as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import itertools
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import orjson
import uvicorn
from fastapi import FastAPI, Request, Response

JWT_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"


def uvicorn_run(app: object, port: int) -> None:
    profile = os.environ.get("BENCH_PROFILE_FILE")  # set by bench/http.py under BENCH_PROFILE_DIR
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        # uvicorn re-raises SIGTERM after its graceful shutdown with the handler it found: make
        # that one harmless so the profile gets written.
        signal.signal(signal.SIGTERM, lambda *_: None)
        profiler.enable()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)  # type: ignore[arg-type]
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)


def ours(url: str, port: int, data: Path) -> None:
    from libs.config.settings import Settings
    from services.deputies.app import create

    settings = Settings(nats_url=url, data_dir=data, jwt_secret=JWT_SECRET, log_level="INFO")
    uvicorn_run(create(settings), port)


def thin(url: str, port: int) -> None:
    state: dict[str, nats.NATS] = {}
    counter = itertools.count()

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state["nc"] = await nats.connect(url, name="bench-thin")
        yield
        await state["nc"].drain()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/thin")
    async def publish(request: Request) -> Response:
        body = await request.body()
        msg = await state["nc"].request(
            f"renda.thin.9999._._.thin.t{next(counter)}", body, timeout=5, headers={"Nats-Msg-Id": str(uuid.uuid4())}
        )
        if b'"error"' in msg.data:
            return Response(msg.data, status_code=500, media_type="application/json")
        return Response(msg.data, status_code=201, media_type="application/json")

    uvicorn_run(app, port)


async def runner(url: str, db: str, seconds: float) -> None:
    from bench.replay import CounterLog
    from libs.db.engine import make_engine
    from libs.events.projection import ProjectionRunner
    from libs.observability.logging import configure

    configure("INFO")
    nc = await nats.connect(url, name="bench-runner")
    engine = make_engine(db)
    r = ProjectionRunner(nc, engine, CounterLog(), batch=500)
    started = time.perf_counter()
    await r.start()
    head = max(r.heads.values())
    while time.perf_counter() - started < seconds and min(r.positions.values()) < head:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    from bench.common import vm_status

    mem = vm_status()
    done = min(r.positions.values())
    await r.stop()
    await nc.drain()
    await engine.dispose()
    print(orjson.dumps({"applied": done, "seconds": time.perf_counter() - started, **mem}).decode(), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["ours", "thin", "runner"])
    ap.add_argument("--nats", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--data", type=Path, default=Path("."))
    ap.add_argument("--db", default="")
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()
    if a.mode == "ours":
        ours(a.nats, a.port, a.data)
    elif a.mode == "thin":
        thin(a.nats, a.port)
    else:
        asyncio.run(runner(a.nats, a.db, a.seconds))
    sys.exit(0)
