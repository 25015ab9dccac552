"""``create_app``: the one wiring of a service — NATS, store, database, projections, routes, health."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from nats.aio.client import Client as NATS
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from libs.auth.revocation import revocations_projection, token_check
from libs.auth.tokens import signing_key
from libs.config.settings import Settings
from libs.db.engine import companion_url, is_sqlite, make_engine, writing
from libs.domain import times
from libs.events import jetstream as jsapi
from libs.events.anchors import Anchors, anchor_projection
from libs.events.client import connect as nats_connect
from libs.events.keys import Keyring, load_signer
from libs.events.locator import locate_with, locator_projection
from libs.events.projection import Projection, ProjectionGroup, ProjectionRunner
from libs.events.store import EventStore
from libs.events.streams import ensure_streams
from libs.events.subjects import CONTEXTS
from libs.observability.logging import configure
from libs.service.runtime import Background, ServiceRuntime
from libs.web import docs, errors
from libs.web.idempotency import Idempotency
from libs.web.idempotency import metadata as idempotency_metadata
from libs.web.idempotency import release as release_idempotency
from libs.web.middleware import InFlight, RequestContext

log = structlog.get_logger("service")
# A batch of the read models waits at most this long for the commands being answered, and for
# those that keep coming (libs/web/middleware.py ``InFlight``): a steady client meets one batch per
# this long instead of one per command. A request waiting for the read models lets it go at once.
COMMANDS_FIRST_FOR = 0.05


@dataclass
class ServiceDefinition:
    name: str  # "deputies": API under /api/deputies
    title: str  # zh-CN, shown in the OpenAPI docs
    routers: list[APIRouter]
    projections: Callable[[Settings], list[Projection]] = lambda _s: []
    # Process managers: projections that issue commands (need the store); never replayed by hand.
    reactions: Callable[[ServiceRuntime], list[Projection]] = lambda _rt: []
    background: list[Background] = field(default_factory=list)
    extra_prefixes: tuple[str, ...] = ()  # other /api/... prefixes it serves (auth lives in deputies)
    # Serves the web pages: every path outside /api/<service> and the process-wide /healthz,
    # /readyz, /metrics goes to it (the supervision dashboard at "/").
    web_root: bool = False


async def connect_nats(settings: Settings, name: str) -> NATS:
    nc = await nats_connect(
        servers=settings.nats_servers,
        name=f"renda-{name}",
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        allow_reconnect=True,
        ping_interval=10,  # a frozen server is noticed in ~30 s instead of minutes (nats-py: 120 s)
        max_outstanding_pings=3,
    )
    jsapi.check_server_version(nc)
    return nc


def create_app(defn: ServiceDefinition, settings: Settings) -> FastAPI:
    times.configure(settings.tz)
    prefix = f"/api/{defn.name}"
    inflight = InFlight()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure(settings.log_level)
        nc = await connect_nats(settings, defn.name)
        url = settings.database_url_for(defn.name)
        engine = make_engine(url)
        requests_engine = make_engine(companion_url(url, "requests")) if is_sqlite(url) else engine
        try:
            # Never create streams here: a missing stream on a running installation is lost data.
            await ensure_streams(nc, settings.stream_replicas, create_missing=False)
            async with writing(requests_engine) as tx:
                await tx.run_sync(idempotency_metadata.create_all)
            projections = list(defn.projections(settings))
            revocations = revocations_projection(defn.name)  # disabled users: refused by every service
            projections.append(revocations)
            locate = None
            # What this service appends is signed with its key; the keys of every writer verify.
            signer = load_signer(defn.name, settings.data_dir)
            keyring = Keyring.gather(settings.data_dir)
            keyring.add_signer(signer)
            if defn.name in CONTEXTS:
                locator = locator_projection(defn.name)
                projections.insert(0, locator)
                locate = locate_with(engine, locator)
                projections.insert(1, anchor_projection(defn.name, signer, keyring))
            rt = ServiceRuntime(
                name=defn.name,
                settings=settings,
                nc=nc,
                store=EventStore(nc, locate=locate, signer=signer),  # type: ignore[arg-type]
                engine=engine,
                requests_engine=requests_engine,
                signing_key=signing_key(settings.jwt_secret, settings.data_dir),
                inflight=inflight,
            )
            rt.extras["token_check"] = token_check(
                engine, revocations, generation=lambda: rt.runner(revocations.name).generation
            )
            app.state.runtime = rt
            # The read models share one consumer and one transaction per batch; each reaction
            # (it issues commands) runs alone, so a slow or failing one never holds the others.
            read_models = [ProjectionRunner(nc, engine, p, service=defn.name) for p in projections]
            group = ProjectionGroup(
                nc,
                engine,
                read_models,
                name=f"{defn.name}_read_models",
                defer=lambda: inflight.quiet(COMMANDS_FIRST_FOR),
            )
            await group.start()
            rt.groups.append(group)
            for runner in read_models:
                rt.runners[runner.projection.name] = runner
            for p in defn.reactions(rt):
                runner = ProjectionRunner(nc, engine, p, service=defn.name)
                await runner.start()
                rt.runners[p.name] = runner
            for bg in defn.background:
                work: Coroutine[Any, Any, None] = bg(rt)  # type: ignore[assignment]
                rt.tasks.append(asyncio.create_task(work, name=f"{defn.name}:{bg.__name__}"))
            log.info("service.started", service=defn.name, projections=list(rt.runners))
            yield
        finally:
            rt_ = getattr(app.state, "runtime", None)
            if rt_ is not None:
                for t in rt_.tasks:
                    t.cancel()
                for t in rt_.tasks:
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await t
                for g in rt_.groups:
                    await g.stop()
                for r in rt_.runners.values():
                    await r.stop()  # the reactions' own groups
            with contextlib.suppress(Exception):
                await nc.drain()
            release_idempotency(requests_engine)
            await engine.dispose()
            if requests_engine is not engine:
                await requests_engine.dispose()
            log.info("service.stopped", service=defn.name)

    app = FastAPI(
        title=defn.title,
        version="0.1.0",
        docs_url=None,  # offline Swagger UI below: no CDN
        redoc_url=None,
        openapi_url=f"{prefix}/openapi.json",
        lifespan=lifespan,
    )
    errors.install(app)
    docs.install_offline_docs(app, prefix, defn.title)
    docs.document_errors(app)
    ops = APIRouter(tags=["运维"])

    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": defn.name}

    async def readyz(request: Request) -> Response:
        body, ready = await readiness(request.app)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for base in (prefix, ""):
        ops.add_api_route(f"{base}/healthz", healthz, methods=["GET"], include_in_schema=bool(base))
        ops.add_api_route(f"{base}/readyz", readyz, methods=["GET"], include_in_schema=bool(base))
        ops.add_api_route(f"{base}/metrics", metrics, methods=["GET"], include_in_schema=bool(base))
    for route_fn in (healthz, readyz, metrics):
        setattr(route_fn, "access_roles", ("*",))  # noqa: B010 (read by the access middleware)
    app.include_router(ops)  # first, so a service's "/{id}" route never shadows /healthz, /readyz, /metrics
    for router in defn.routers:
        app.include_router(router)
    app.add_middleware(Idempotency, runtime_of=lambda: app.state.runtime)
    app.add_middleware(RequestContext, service=defn.name, inflight=inflight)
    app.state.definition = defn
    return app


async def readiness(app: FastAPI) -> tuple[dict[str, object], bool]:
    rt: ServiceRuntime | None = getattr(app.state, "runtime", None)
    if rt is None:
        return {"status": "starting"}, False
    nats_ok = rt.nc.is_connected
    lag: dict[str, dict[str, int]] = {}
    running = True
    if nats_ok:
        heads: dict[str, int] = {}  # one read of each stream's head for all runners
        for name, runner in rt.runners.items():
            try:
                lag[name] = await runner.lag(heads)
            except Exception:
                nats_ok = False
            running = running and runner.running()
    # A halted projection (a message it cannot decode or apply) and a batch failing over and
    # over (database or NATS trouble, retried with back-off) make the service not ready.
    halted = {
        n: [h.as_dict() for h in halts.values()] for n, r in rt.runners.items() if (halts := getattr(r, "halted", None))
    }
    trouble = {g.name: dict(g.trouble) for g in rt.groups if g.trouble}
    for r in rt.runners.values():
        own = getattr(r, "group", None)
        if getattr(r, "_own_group", False) and own is not None and own.trouble:
            trouble[own.name] = dict(own.trouble)
    ready = nats_ok and running and not halted and not trouble
    body: dict[str, object] = {
        "status": "ready" if ready else "not_ready",
        "service": rt.name,
        "nats": "connected" if nats_ok else "disconnected",
        "projections": {n: {"running": r.running(), "lag": lag.get(n, {})} for n, r in rt.runners.items()},
    }
    if halted:
        body["halted"] = halted
    if trouble:
        body["retrying"] = trouble
    unauthenticated = {
        n: p.health()
        for n, r in rt.runners.items()
        if isinstance(p := getattr(r, "projection", None), Anchors) and p.flagged
    }
    if unauthenticated:
        body["unauthenticated"] = unauthenticated  # reported, not a readiness failure: the data is still served
    return body, ready
