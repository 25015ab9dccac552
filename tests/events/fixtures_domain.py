"""Test-only events, one aggregate and one projection, living in the ``notify`` stream.

Type names start with ``Test`` so they never collide with the contract's event types.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.events.aggregate import AggregateType
from libs.events.envelope import Actor, Envelope
from libs.events.event import Event, upcaster
from libs.events.projection import Projection, on
from libs.events.store import CommandMeta

CONTEXT = "notify"
STREAM = "RENDA_NOTIFY"
JURISDICTION = "340499"  # a county of Huainan that the samples do not use


class CounterOpened(Event, type_name="TestCounterOpened"):
    counter_id: str
    label: str


class CounterIncremented(Event, type_name="TestCounterIncremented"):
    counter_id: str
    by: int
    note: str = ""


class NoteTagged(Event, version=2, type_name="TestNoteTagged"):
    """Version 2 holds a tuple of tags; version 1 held a single optional ``tag``."""

    counter_id: str
    tags: tuple[str, ...]


@upcaster(NoteTagged, from_version=1)
def _note_tagged_v1(data: dict[str, Any]) -> dict[str, Any]:
    tag = data.get("tag")
    return {"counter_id": data["counter_id"], "tags": [tag] if tag else []}


@dataclass(frozen=True)
class Counter:
    id: str
    label: str = ""
    value: int = 0
    events: int = 0
    tags: tuple[str, ...] = ()


def evolve(c: Counter, e: Event) -> Counter:
    match e:
        case CounterOpened():
            return replace(c, label=e.label, events=c.events + 1)
        case CounterIncremented():
            return replace(c, value=c.value + e.by, events=c.events + 1)
        case NoteTagged():
            return replace(c, tags=c.tags + e.tags, events=c.events + 1)
    return c


COUNTER: AggregateType[Counter] = AggregateType("testcounter", CONTEXT, lambda i: Counter(id=i), evolve)


def new_id() -> str:
    return uuid.uuid4().hex


def meta(command_id: str | None = None) -> CommandMeta:
    return CommandMeta(
        actor=Actor(subject="test:clerk", role="county_staff"),
        correlation_id="corr-" + uuid.uuid4().hex[:8],
        command_id=command_id or str(uuid.uuid4()),
        now=datetime.now(UTC),
    )


# -- a projection ---------------------------------------------------------------------------------
totals_metadata = MetaData()
totals = Table(
    "test_counter_totals",
    totals_metadata,
    Column("id", String(64), primary_key=True),
    Column("label", String(100), nullable=False),
    Column("value", Integer, nullable=False),
    Column("events", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
)


class CounterTotals(Projection):
    """Its ``handles`` come from the ``@on`` dispatch table (no second list to keep in step)."""

    name: ClassVar[str] = "test-counter-totals"
    contexts: ClassVar[tuple[str, ...]] = (CONTEXT,)
    metadata: ClassVar[MetaData] = totals_metadata

    @on(CounterOpened)
    async def opened(self, e: CounterOpened, env: Envelope, tx: AsyncConnection) -> None:
        await tx.execute(
            totals.insert().values(id=e.counter_id, label=e.label, value=0, events=1, last_seq=env.sequence)
        )

    @on(CounterIncremented)
    async def incremented(self, e: CounterIncremented, env: Envelope, tx: AsyncConnection) -> None:
        # Not idempotent on its own: a redelivery applied twice would count twice.
        await tx.execute(
            update(totals)
            .where(totals.c.id == e.counter_id)
            .values(value=totals.c.value + e.by, events=totals.c.events + 1, last_seq=env.sequence)
        )


class CounterTotalsV2(CounterTotals):
    version: ClassVar[int] = 2


async def table_checksum(engine: AsyncEngine) -> tuple[str, int]:
    """sha256 over the sorted rows of the read model, and the number of rows."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(totals))).all()
    text = "\n".join(repr(tuple(r)) for r in sorted(tuple(r) for r in rows))
    return hashlib.sha256(text.encode()).hexdigest(), len(rows)


async def read_until(stdout: Any, marker: bytes, limit: int = 10_000) -> bytes:
    """Read a child's output lines (logs may come first) until one is ``marker``; b"" at its end."""
    for _ in range(limit):
        line = await stdout.readline()
        if not line or line.strip() == marker:
            return bytes(line.strip())
    return b""
