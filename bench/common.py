"""What every benchmark shares: the result row, sizes, timing, a fresh NATS and the bench aggregate."""

from __future__ import annotations

import contextlib
import statistics
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NATS

from libs.events import jetstream as jsapi
from libs.events.aggregate import AggregateType
from libs.events.envelope import Actor, encode, seal
from libs.events.event import Event
from libs.events.store import CommandMeta, Loaded
from libs.events.streams import stream_config
from libs.events.subjects import aggregate_subject, stream_name
from libs.runtime import nats_server
from libs.runtime.nats_server import EmbeddedNats, free_port

BENCH_CONTEXT = "bench"  # a stream of its own (RENDA_BENCH), configured exactly like the event streams
ACTOR = Actor(subject="bench:runner", role="system")


@dataclass
class Row:
    name: str
    ours: float | None  # our figure
    raw: float | None  # the baseline's figure, same run
    unit: str  # "ops/s" (higher is better) or "ms" (lower is better) or "MB"
    goal: str  # human form: ">= 60% of raw", "<= 1.5x raw", "<= 300 MB", "report"
    ratio: float | None = None  # ours/raw for rates, ours/raw for latencies
    passed: bool | None = None  # None: reported only
    baseline: str = ""  # what the raw figure is
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        return asdict(self)


def rate_row(
    name: str, ours: float, raw: float, min_ratio: float | None, baseline: str, notes: str = "", **extra: Any
) -> Row:
    ratio = ours / raw if raw else None
    goal = f">= {min_ratio:.0%} of baseline" if min_ratio is not None else "report"
    passed = None if min_ratio is None or ratio is None else ratio >= min_ratio
    return Row(name, ours, raw, "ops/s", goal, ratio, passed, baseline, notes, extra)


def latency_row(
    name: str, ours: float, raw: float, max_ratio: float | None, baseline: str, notes: str = "", **extra: Any
) -> Row:
    ratio = ours / raw if raw else None
    goal = f"<= {max_ratio:g}x baseline" if max_ratio is not None else "report"
    passed = None if max_ratio is None or ratio is None else ratio <= max_ratio
    return Row(name, ours, raw, "ms", goal, ratio, passed, baseline, notes, extra)


@dataclass(frozen=True)
class Sizes:
    quick: bool
    append_seq: int  # commands, sequential
    append_pipe: int  # commands, 64 in flight
    http: int  # requests per client count
    stream_events: int  # the "big" stream for load and replay
    load_samples: int
    peer_append: int
    peer_events: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(True, 400, 2_000, 300, 20_000, 200, 200, 2_000)
        return cls(False, 2_000, 10_000, 1_500, 200_000, 1_000, 1_000, 20_000)


def p(values: list[float], q: float) -> float:
    """Percentile ``q`` (0..100) by nearest rank on sorted values."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * (len(s) - 1))))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values)


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


# -- NATS -------------------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_nats(folder: Path, *, sync_always: bool = True) -> Iterator[EmbeddedNats]:
    """A fresh server from the wheel, free port, its own store; ``sync_always=False`` drops the fsync line."""
    original = nats_server.CONFIG
    if not sync_always:
        nats_server.CONFIG = original.replace("  sync_interval: always\n", "")
        assert nats_server.CONFIG != original
    try:
        server = EmbeddedNats(free_port(), folder).start()
    finally:
        nats_server.CONFIG = original
    try:
        yield server
    finally:
        server.stop()


async def connect(url: str) -> NATS:
    nc = await nats.connect(url, name="renda-bench")
    jsapi.check_server_version(nc)
    return nc


async def create_stream(nc: NATS, context: str) -> str:
    """The event-stream config of libs/events/streams.py, for a bench context."""
    name = stream_name(context)
    await jsapi.api(nc, f"STREAM.DELETE.{name}")
    reply = await jsapi.api(nc, f"STREAM.CREATE.{name}", stream_config(context, 1))
    if reply.get("error"):
        raise RuntimeError(f"cannot create {name}: {reply['error']}")
    return name


# -- the bench aggregate: a counter ---------------------------------------------------------------


class BenchIncremented(Event):
    counter_id: str
    by: int
    note: str = ""


@dataclass(frozen=True)
class Counter:
    id: str
    value: int = 0
    events: int = 0


def evolve(c: Counter, e: Event) -> Counter:
    match e:
        case BenchIncremented():
            return replace(c, value=c.value + e.by, events=c.events + 1)
    return c


def counter_type(context: str) -> AggregateType[Counter]:
    return AggregateType[Counter](name="counter", context=context, initial=lambda i: Counter(id=i), evolve=evolve)


COUNTER = counter_type(BENCH_CONTEXT)  # the big stream: load, replay, memory
WRITE_CONTEXT = "benchw"
WCOUNTER = counter_type(WRITE_CONTEXT)  # appends
NOTE = "x" * 120  # a payload of a realistic size (~600 bytes of envelope)


def decide_increment(loaded: Loaded[Counter]) -> list[Event]:
    return [BenchIncremented(counter_id=loaded.id, by=1, note=NOTE)]


def jurisdiction_of(i: int) -> str:
    """Township codes spread over 10 counties of one city."""
    return f"1234{i % 10:02d}{i % 997:03d}"


def meta() -> CommandMeta:
    return CommandMeta(
        actor=ACTOR, correlation_id=str(uuid.uuid4()), command_id=str(uuid.uuid4()), now=datetime.now(UTC)
    )


def counter_envelopes(
    counter_id: str, jurisdiction: str, n: int, start: int = 1, prev: str = "", note: str = NOTE
) -> list[bytes]:
    """``n`` sealed, hash-chained envelopes of one counter, encoded as stored."""
    out = []
    now = datetime.now(UTC)
    for seq in range(start, start + n):
        env = seal(
            id=str(uuid.uuid4()),
            event=BenchIncremented(counter_id=counter_id, by=1, note=note),
            aggregate_type=COUNTER.name,
            aggregate_id=counter_id,
            sequence=seq,
            jurisdiction=jurisdiction,
            occurred_at=now,
            actor=ACTOR,
            correlation_id="seed",
            causation_id=str(uuid.uuid4()),
            prev_hash=prev,
        )
        prev = env.hash
        out.append(encode(env))
    return out


def counter_subject(counter_id: str, jurisdiction: str, context: str = BENCH_CONTEXT) -> str:
    return aggregate_subject(context, jurisdiction, COUNTER.name, counter_id)


def vm_status(pid: int | str = "self") -> dict[str, float]:
    """VmRSS and VmHWM (peak) in MB from /proc (psutil is not available)."""
    out: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out
