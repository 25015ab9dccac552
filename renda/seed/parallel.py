"""Counties planned, decided and sealed in worker processes; this process only publishes.

Each worker takes every ``workers``-th county, runs its ``Producer`` (pure CPU: plan, decide, seal,
sign) and hands finished batches (bytes) to the publishing process through a queue, so on two cores
planning and sealing overlap the publishing and the server's writes. A county's events do not
depend on the worker or the interleaving: each county is planned from ``(seed, county)`` alone.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import traceback
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client as NATS

from libs.config.settings import Settings
from renda.seed.batch import Producer, Publisher
from renda.seed.places import CITY_NAME
from renda.seed.scales import CITY, Scale
from renda.seed.writer import Tally
from services.deputies.domain import jurisdiction as jd

QUEUE = 24  # finished batches waiting for the publisher (≈ 0.5 MB each)


def _work(worker: int, workers: int, seed: int, scale: Scale, settings: dict[str, Any], queue: Any) -> None:
    from renda.seed.run import plan_county, quiet_gc, service_signers

    with quiet_gc():
        _counties(worker, workers, seed, scale, settings, queue, plan_county, service_signers)


def _counties(
    worker: int,
    workers: int,
    seed: int,
    scale: Scale,
    settings: dict[str, Any],
    queue: Any,
    plan_county: Any,
    service_signers: Any,
) -> None:
    try:
        s = Settings(**settings)
        signers = service_signers(s)
        for index, code in enumerate(scale.county_codes()):
            if index % workers != worker:
                continue
            plan, county, _made = plan_county(seed, scale, index, code, s)
            steps = plan.ordered()
            queue.put(
                ("county", county.name, len(steps), len(county.places), sum(len(p.deputies) for p in county.places))
            )
            producer = Producer(seed, signers=signers)
            if index:  # registered by the first county's worker
                producer.assume(jd.JURISDICTION, CITY, jd.Jurisdiction(code=CITY, name=CITY_NAME, kind="city"))
            for batch in producer.produce(steps):
                queue.put(("batch", batch))
            queue.put(("tally", producer.tally))
        queue.put(("done", worker))
    except BaseException:
        queue.put(("error", traceback.format_exc()))


async def write_parallel(
    nc: NATS,
    seed: int,
    scale: Scale,
    settings: Settings,
    workers: int,
    *,
    on_county: Callable[[str, int], None] | None = None,
    on_step: Callable[[int], None] | None = None,
) -> tuple[Tally, int, int, int]:
    """(tally of every county, counties, places, deputies)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue(QUEUE)
    dump = settings.model_dump()
    procs = [
        ctx.Process(target=_work, args=(w, workers, seed, scale, dump, queue), daemon=True) for w in range(workers)
    ]
    for p in procs:
        p.start()
    total = Tally()
    counties = places = deputies = 0
    done = 0
    try:
        async with Publisher(nc) as publisher:
            while done < workers:
                item = await asyncio.to_thread(queue.get)
                kind = item[0]
                if kind == "batch":
                    await publisher.send(item[1])
                    if on_step is not None:
                        on_step(item[1].steps)
                elif kind == "county":
                    counties, places, deputies = counties + 1, places + item[3], deputies + item[4]
                    if on_county is not None:
                        on_county(item[1], item[2])
                elif kind == "tally":
                    _merge(total, item[1])
                elif kind == "done":
                    done += 1
                else:
                    raise RuntimeError(f"a seed worker failed:\n{item[1]}")
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(5)
    return total, counties, places, deputies


def _merge(total: Tally, t: Tally) -> None:
    total.events += t.events
    total.commands += t.commands
    total.aggregates += t.aggregates
    total.refused += t.refused
    total.skipped += t.skipped
    total.digest ^= t.digest
    for k, v in t.by_type.items():
        total.by_type[k] = total.by_type.get(k, 0) + v
