"""Reading back what a seed stored: every envelope of the seeded contexts, by subject."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import nats
import orjson

from libs.config.settings import Settings
from libs.events import jetstream as jsapi
from libs.events.subjects import stream_name
from renda.seed import Summary, seed

CONTEXTS = ("deputies", "suggestions", "meetings")


async def stored(url: str) -> dict[str, list[dict]]:  # type: ignore[type-arg]
    """Every stored body per subject, in stream order."""
    nc = await nats.connect(url)
    try:
        out: dict[str, list[dict]] = defaultdict(list)  # type: ignore[type-arg]
        for context in CONTEXTS:
            async for m in jsapi.direct_get_subject(nc, stream_name(context), f"renda.{context}.>"):
                out[m.subject].append(orjson.loads(m.data))
        return dict(out)
    finally:
        await nc.close()


def chains(bodies: dict[str, list[dict]]) -> dict[str, list[tuple[str, str]]]:  # type: ignore[type-arg]
    return {subject: [(b["id"], b["hash"]) for b in envs] for subject, envs in bodies.items()}


async def seed_into(url: str, data_dir: Path, *, seed_value: int = 7, **kw: object) -> Summary:
    nc = await nats.connect(url)
    try:
        return await seed(nc, Settings(data_dir=data_dir), scale="tiny", seed=seed_value, **kw)  # type: ignore[arg-type]
    finally:
        await nc.drain()
