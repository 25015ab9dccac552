"""``renda replay --all``: every read model of every service rebuilt from the streams, services side by side.

After an upgrade that changes read models, or to move them to another database, an operator
rebuilds them all. One process reads each stream once for all the read models it holds, each
in its own service's database (``rebuild_placed``), and the services are split across ``jobs``
processes (default: the machine's cores) by the work they are expected to do (``plan``):

- a service's weight is, per stream it reads, the stream's length times a reading cost plus the
  share of a sample of the stream's latest events its read models take (``weigh``);
- the heaviest services are placed first, each in the lightest process (longest processing time
  first);
- services kept in one SQLite file share a process: SQLite takes one writer at a time.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from sqlalchemy.engine import make_url

from libs.config.settings import Settings
from libs.events.projection import Projection

SAMPLE = 2000  # latest messages of each stream whose types stand for the whole stream
READ_COST = 0.5  # reading and skipping an event, against applying one (profiled on a county seed)

Progress = Callable[[int, str, int, int], None]  # (process, stream, sequence, head)


@dataclass
class GroupResult:
    """What one process rebuilt: its services, events read per stream, seconds, peak memory."""

    services: list[str]
    read_models: list[str]
    events: dict[str, int]
    seconds: float
    vmhwm_mb: float


@dataclass
class Plan:
    groups: list[list[str]]
    weights: dict[str, float] = field(default_factory=dict)


def by_service(settings: Settings) -> dict[str, list[Projection]]:
    """Every service's read models, as ``renda replay`` finds them."""
    from renda.cli.projections import all_projections

    out: dict[str, list[Projection]] = {}
    for service, projection in all_projections(settings):
        out.setdefault(service, []).append(projection)
    return out


async def sample_types(nc: NATS, contexts: Sequence[str]) -> dict[str, tuple[int, Counter[str]]]:
    """Per stream: its length, and the event types of its latest ``SAMPLE`` messages."""
    from libs.events import jetstream as jsapi
    from libs.events.projection import read_stream
    from libs.events.subjects import stream_name

    out: dict[str, tuple[int, Counter[str]]] = {}
    for context in contexts:
        head = await jsapi.last_seq(nc, stream_name(context))
        types: Counter[str] = Counter()
        if head:
            async for batch in read_stream(nc, context, start=max(1, head - SAMPLE + 1)):
                types.update(orjson.loads(d.data).get("type", "") for d in batch)
        out[context] = (head, types)
    return out


def weigh(projections: Sequence[Projection], samples: Mapping[str, tuple[int, Counter[str]]]) -> float:
    """Events the service's read models are expected to read and to apply (see the module's docstring)."""
    weight = 0.0
    for context in dict.fromkeys(c for p in projections for c in p.contexts):
        head, types = samples.get(context, (0, Counter()))
        weight += head * READ_COST
        total = sum(types.values()) or 1
        for p in projections:
            if context in p.contexts:
                wanted = p.wants()
                taken = total if wanted is None else sum(n for t, n in types.items() if t in wanted)
                weight += head * taken / total
    return weight


def plan(
    projections: Mapping[str, Sequence[Projection]],
    databases: Mapping[str, str],
    samples: Mapping[str, tuple[int, Counter[str]]],
    jobs: int,
) -> Plan:
    """Services split into at most ``jobs`` processes, the heaviest placed first in the lightest."""
    weights = {s: weigh(ps, samples) for s, ps in projections.items()}
    units: dict[str, list[str]] = {}  # services sharing a SQLite file go together
    for service in projections:
        url = databases[service]
        key = url if make_url(url).get_backend_name() == "sqlite" else service
        units.setdefault(key, []).append(service)
    bins: list[tuple[float, list[str]]] = [(0.0, []) for _ in range(max(1, min(jobs, len(units))))]
    for unit in sorted(units.values(), key=lambda u: -sum(weights[s] for s in u)):
        load, members = min(bins, key=lambda b: b[0])
        bins.remove((load, members))
        bins.append((load + sum(weights[s] for s in unit), members + unit))
    groups = [sorted(members, key=list(projections).index) for _, members in bins if members]
    return Plan(groups, weights)


def _vmhwm_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


async def _rebuild_group(
    settings: Settings,
    services: list[str],
    databases: Mapping[str, str],
    as_of: datetime | None,
    progress: Callable[[str, int, int], None] | None,
) -> tuple[list[str], dict[str, int]]:
    from libs.cli.connection import operator_nats
    from libs.db.engine import make_engine
    from libs.events.projection import rebuild_placed

    projections = by_service(settings)
    engines = {url: make_engine(url) for url in dict.fromkeys(databases[s] for s in services)}
    placed = [(engines[databases[s]], p) for s in services for p in projections[s]]
    try:
        async with operator_nats(settings) as (nc, _store):
            counts = await rebuild_placed(nc, placed, as_of=as_of, progress=progress)
    finally:
        for engine in engines.values():
            await engine.dispose()
    return [p.name for _, p in placed], counts


def run_group(
    fields: dict[str, Any],
    services: list[str],
    databases: dict[str, str],
    as_of: datetime | None,
    index: int,
    messages: Any,
) -> GroupResult:
    """One process's share (the pool's worker): its services' read models from zero."""
    from libs.observability.logging import configure

    # A forked worker writes to the real streams: the parent's may be a progress display's proxies
    # (rich), whose lock its refresh thread may have held at the fork.
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    settings = Settings(**fields)
    configure(settings.log_level)  # the worker logs at the operator's level
    shown = [0.0]

    def progress(stream: str, seq: int, head: int) -> None:
        now = time.monotonic()
        if messages is not None and (now - shown[0] > 0.25 or seq >= head):
            shown[0] = now
            messages.put((index, stream, seq, head))

    started = time.perf_counter()
    names, counts = asyncio.run(_rebuild_group(settings, services, databases, as_of, progress))
    return GroupResult(services, names, counts, time.perf_counter() - started, _vmhwm_mb())


def databases_for(settings: Settings, services: Sequence[str], database_url: str | None = None) -> dict[str, str]:
    """Each service's read-model database: its own, or ``database_url`` (``{service}`` in it: the service's name)."""
    return {s: database_url.replace("{service}", s) if database_url else settings.database_url_for(s) for s in services}


def replay_all(
    settings: Settings,
    *,
    jobs: int | None = None,
    as_of: datetime | None = None,
    database_url: str | None = None,
    on_plan: Callable[[Plan], None] | None = None,
    on_progress: Progress | None = None,
) -> list[GroupResult]:
    """Every read model of every service from zero, into ``database_url`` (default: each service's own;
    see ``databases_for``), in up to ``jobs`` processes. A read model that halts raises ``ProjectionHalted``."""
    from libs.cli.connection import operator_nats
    from libs.runtime.nats_server import EmbeddedNats, port_free

    projections = by_service(settings)
    targets = databases_for(settings, list(projections), database_url)
    contexts = list(dict.fromkeys(c for ps in projections.values() for p in ps for c in p.contexts))

    async def sampled() -> dict[str, tuple[int, Counter[str]]]:
        async with operator_nats(settings) as (nc, _store):
            return await sample_types(nc, contexts)

    # The embedded server, when it is the one, stays up in this process while the others read.
    embedded = None
    if settings.embedded_nats and port_free(settings.embedded_nats_port):
        embedded = EmbeddedNats(settings.embedded_nats_port, settings.data_dir / "nats").start()
    try:
        split = plan(projections, targets, asyncio.run(sampled()), jobs or os.cpu_count() or 1)
        if on_plan is not None:
            on_plan(split)
        fields = settings.model_dump()
        # Forked, the workers start with every service already imported (``by_service`` above): a
        # spawned one spent 8 s of a county's 70 s importing and compiling them again (profiled).
        context = multiprocessing.get_context("fork")
        with context.Manager() as manager, ProcessPoolExecutor(len(split.groups), mp_context=context) as pool:
            messages = manager.Queue()
            futures = [
                pool.submit(run_group, fields, group, targets, as_of, i, messages)
                for i, group in enumerate(split.groups)
            ]
            while not all(f.done() for f in futures):
                try:
                    index, stream, seq, head = messages.get(timeout=0.2)
                except queue.Empty:
                    continue
                if on_progress is not None:
                    on_progress(index, stream, seq, head)
            return [f.result() for f in futures]
    finally:
        if embedded is not None:
            embedded.stop()
