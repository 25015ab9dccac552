"""``renda init``: what an operator runs once before the first ``renda serve`` of an installation.

Creates, on the configured NATS and database:

- the event streams (one per context) with ``RENDA_STREAM_REPLICAS``, and the snapshot stream;
- every service's read-model tables (its projections', the locator's, the revocations', the
  reactions' and the projections' kept tables such as audit anchors), the checkpoint table and the
  idempotency records.

Safe to run again: what exists is reported and left alone. A stream that exists with another
configuration is never "fixed" (an update could, e.g., drop replicas under a running system):
each difference is reported as (stream, field, expected, found) and the run fails.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from nats.aio.client import Client as NATS
from sqlalchemy import MetaData, inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.config.settings import Settings
from libs.db.engine import companion_url, is_sqlite, make_engine, writing
from libs.events import jetstream as jsapi
from libs.events.client import connect as nats_connect
from libs.events.errors import EventStoreError
from libs.events.streams import snapshot_stream_config, stream_config
from libs.events.subjects import CONTEXTS

Factory = Callable[[Settings], FastAPI]
# Fields the server fills in when a config leaves them out; a missing field found equals these.
_ABSENT_MEANS = {False, None, "", -1}


@dataclass(frozen=True)
class Difference:
    stream: str
    field: str
    expected: Any
    found: Any

    def __str__(self) -> str:
        return f"{self.stream}.{self.field}: expected {self.expected!r}, found {self.found!r}"


@dataclass
class InitReport:
    created: list[str] = field(default_factory=list)  # "stream RENDA_X", "table suggestions: x"
    existing: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


# -- streams -------------------------------------------------------------------------------------
def differences(name: str, expected: dict[str, Any], found: dict[str, Any]) -> list[Difference]:
    """The fields of ``expected`` that ``found`` (a server's stream config) does not hold."""
    out = []
    for key, want in expected.items():
        if key == "name":
            continue
        have = found.get(key)
        if key == "subjects":
            if sorted(have or []) != sorted(want):
                out.append(Difference(name, key, want, have))
            continue
        if have is None and want in _ABSENT_MEANS:
            continue
        if have != want:
            out.append(Difference(name, key, want, have))
    return out


async def init_streams(nc: NATS, replicas: int, report: InitReport, contexts: Iterable[str] = CONTEXTS) -> None:
    wanted = [stream_config(c, replicas) for c in contexts] + [snapshot_stream_config(replicas)]
    for config in wanted:
        name = config["name"]
        info = await jsapi.api(nc, f"STREAM.INFO.{name}")
        err = info.get("error")
        if err and err.get("err_code") != jsapi.STREAM_NOT_FOUND:
            raise EventStoreError(f"stream {name}: {err.get('description', err)}")
        if not err:
            found = differences(name, config, info.get("config", {}))
            report.differences.extend(found)
            if not found:
                report.existing.append(f"stream {name}")
            continue
        reply = await jsapi.api(nc, f"STREAM.CREATE.{name}", config)
        err = reply.get("error")
        if err and err.get("err_code") == jsapi.STREAM_NAME_IN_USE:
            report.existing.append(f"stream {name}")  # another init won the race
        elif err:
            raise EventStoreError(f"cannot create stream {name}: {err.get('description', err)}")
        else:
            report.created.append(f"stream {name} (replicas {replicas})")


# -- read-model tables ---------------------------------------------------------------------------
def service_tables(name: str, app: FastAPI, settings: Settings, runtime: Any) -> tuple[list[MetaData], list[MetaData]]:
    """(read-model metadata, request-path metadata) of one service, as its lifespan would create them.

    Mirrors libs/service/app.py's lifespan: the definition's projections and reactions, the
    revocations every service runs, and a context's locator and audit anchors.
    """
    from libs.auth.revocation import revocations_projection
    from libs.events.anchors import tables as anchor_tables
    from libs.events.locator import locator_projection
    from libs.web.idempotency import metadata as idempotency_metadata

    defn = app.state.definition
    projections = list(defn.projections(settings))
    projections.append(revocations_projection(name))
    read: list[MetaData] = []
    if name in CONTEXTS:
        projections.append(locator_projection(name))
        read.append(anchor_tables(name).metadata)  # the audit anchors: kept across rebuilds
    projections.extend(defn.reactions(runtime))
    for p in projections:
        read.append(p.metadata)
        if getattr(p, "kept", None) is not None:
            read.append(p.kept)
    return read, [idempotency_metadata]


async def _table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def create_tables(engine: AsyncEngine, metadatas: list[MetaData], *, state: bool) -> tuple[set[str], set[str]]:
    """Create what is missing (never drop or alter); (created, existing) table names of ``metadatas``."""
    cp = importlib.import_module("libs.events.projection.checkpoints")  # the package re-exports a table by that name

    names = {t.name for m in metadatas for t in m.sorted_tables}
    if state:
        names |= {t.name for t in cp.state_metadata.sorted_tables}
    before = await _table_names(engine)
    async with writing(engine) as tx:
        await cp.lock_ddl(tx)
        if state:
            await cp.ensure_state_tables(tx)
        for m in metadatas:
            await tx.run_sync(m.create_all)
    return names - before, names & before


async def init_tables(settings: Settings, factories: dict[str, Factory], nc: NATS, report: InitReport) -> None:
    from libs.events.store import EventStore
    from libs.service.runtime import ServiceRuntime

    for name, make in factories.items():
        app = make(settings)
        url = settings.database_url_for(name)
        engine = make_engine(url)
        requests_engine = make_engine(companion_url(url, "requests")) if is_sqlite(url) else engine
        try:
            runtime = ServiceRuntime(
                name=name, settings=settings, nc=nc, store=EventStore(nc), engine=engine, signing_key=""
            )
            read, requests = service_tables(name, app, settings, runtime)
            made, had = await create_tables(engine, read, state=True)
            made_r, had_r = await create_tables(requests_engine, requests, state=False)
        finally:
            await engine.dispose()
            if requests_engine is not engine:
                await requests_engine.dispose()
        report.created.extend(f"table {name}: {t}" for t in sorted(made | made_r))
        report.existing.extend(f"table {name}: {t}" for t in sorted(had | had_r))


# -- the whole of it -----------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def connected(settings: Settings) -> AsyncIterator[NATS]:
    """The configured NATS; the embedded server for the duration when none is configured and none runs."""
    from libs.runtime.nats_server import EmbeddedNats, port_free

    embedded = None
    if settings.embedded_nats and port_free(settings.embedded_nats_port):
        embedded = EmbeddedNats(settings.embedded_nats_port, settings.data_dir / "nats").start()
    try:
        nc = await nats_connect(servers=settings.nats_servers, name="renda-init", connect_timeout=5)
        try:
            jsapi.check_server_version(nc)
            yield nc
        finally:
            await nc.drain()
    finally:
        if embedded is not None:
            embedded.stop()


async def initialise(settings: Settings, factories: dict[str, Factory]) -> InitReport:
    """Streams first (a difference stops the run before any table is made), then the tables."""
    report = InitReport()
    async with connected(settings) as nc:
        await init_streams(nc, settings.stream_replicas, report)
        if not report.ok:
            return report
        if settings.embedded_nats:
            from libs.runtime.embedded import MARKER

            marker = settings.data_dir / MARKER
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("streams created by renda init\n")
        await init_tables(settings, factories, nc, report)
    return report


async def missing_streams(nc: NATS, contexts: Iterable[str] = CONTEXTS) -> list[str]:
    """The event streams that do not exist: what ``renda serve`` should name before telling the operator
    to run ``renda init`` (instead of a StreamMissing traceback)."""
    from libs.events.subjects import stream_name

    out = []
    for context in contexts:
        info = await jsapi.api(nc, f"STREAM.INFO.{stream_name(context)}")
        err = info.get("error")
        if err and err.get("err_code") == jsapi.STREAM_NOT_FOUND:
            out.append(stream_name(context))
    return out


def run_init_first(missing: list[str]) -> str:
    """The operator's message (zh-CN) for ``missing`` streams."""
    return (
        f"事件流 {', '.join(missing)} 不存在：这是一套新的安装时，请先运行 renda init 创建事件流和读模型表；"
        "如果这套安装已经有数据，说明事件流丢失，请先从备份恢复（见 docs/operations.md），不要直接 init。"
    )
