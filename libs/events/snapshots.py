"""Snapshots of folded aggregate states: a cache in RENDA_SNAPSHOTS so a cold load reads few events.

A snapshot is never the truth. ``EventStore.load`` uses one only if it fits the events it reads
along with it (same last stream sequence and hash, or a next event that links onto it), and
otherwise reads every event, as it does when the snapshot is missing, undecodable or of another
fingerprint. Audit, export and projections read events only.

The body (JSON): the aggregate, ``version``, ``last_stream_seq`` and ``last_hash`` of the last event
folded in, the fingerprint, the last ``RECENT_CAUSATIONS`` command ids and the state, encoded by
a pydantic ``TypeAdapter`` of the aggregate's state class.

Why the last 256 command ids are enough for ``Loaded.applied`` (a retried command decides
nothing): a retry arrives within seconds to minutes of its first attempt, while 256 other
commands on the same aggregate take far longer; HTTP retries are answered from the
Idempotency-Key records in SQL before the store is asked; a lost ack is retried with the same
event ids, which ``Nats-Msg-Id`` de-duplicates for two minutes and ``_stored_already`` recognises
after that; and system commands with derived ids (watchers, reactions) are refused or decide
nothing on a state that already holds their effect (``decide_*`` are idempotent on state). A load
that replays every event still knows every command id, as before.

Writing is a plain core publish after the command's result is decided (losing one is harmless).
Its reply comes to a subscription of its own: "no responders" means the stream is missing, and
the store creates it then (a cache may be created by any service, unlike the event streams) and
publishes that snapshot again.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import types
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, ConnectionDrainingError
from pydantic import TypeAdapter

from libs.events.aggregate import AggregateType
from libs.events.errors import EventStoreError, StreamMissing
from libs.events.jetstream import NO_RESPONDERS, api
from libs.events.streams import ensure_snapshot_stream
from libs.events.subjects import stream_name

log = structlog.get_logger("events.snapshots")
FORMAT = 1  # the body's layout
RECENT_CAUSATIONS = 256
PAUSE = 30.0  # seconds without snapshot reads after the stream was found missing or did not answer
UNACKED = 64  # snapshots kept for a second publish until the server answers (bounded: states can be large)


@dataclass(frozen=True)
class Codec:
    adapter: TypeAdapter[Any]
    fingerprint: str


@dataclass(frozen=True)
class Snapshot:
    version: int
    last_stream_seq: int
    last_hash: str
    jurisdiction: str
    causations: tuple[str, ...]  # the last RECENT_CAUSATIONS command ids, oldest first
    state: Any


class Unusable(ValueError):
    """A stored snapshot that cannot serve this load (the reason is the message)."""


def _code_parts(code: types.CodeType, out: list[bytes]) -> None:
    out.append(code.co_code)
    out.append(repr(code.co_names).encode())
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            _code_parts(c, out)
        elif isinstance(c, frozenset):
            out.append(repr(sorted(repr(x) for x in c)).encode())  # set order varies per process
        else:
            out.append(repr(c).encode())


def code_digest(fn: Any) -> str:
    """A digest of a function's own code (not of what it calls); "" when it has none."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    parts: list[bytes] = []
    _code_parts(code, parts)
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def build_codec(agg: AggregateType[Any]) -> Codec:
    """The state's TypeAdapter and the fingerprint a stored snapshot must carry to be used.

    The fingerprint covers the state's JSON schema (a field added, removed or retyped), the
    code of ``evolve`` (a fold that now means something else) and ``snapshot_version``.
    """
    adapter: TypeAdapter[Any] = TypeAdapter(agg.state_class)
    identity = {
        "format": FORMAT,
        "schema": adapter.json_schema(),
        "evolve": code_digest(agg.evolve),
        "snapshot_version": agg.snapshot_version,
    }
    return Codec(adapter, hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).hexdigest())


def encode(agg: AggregateType[Any], codec: Codec, aggregate_id: str, snapshot: Snapshot) -> bytes:
    return orjson.dumps(
        {
            "format": FORMAT,
            "context": agg.context,
            "aggregate_type": agg.name,
            "aggregate_id": aggregate_id,
            "jurisdiction": snapshot.jurisdiction,
            "version": snapshot.version,
            "last_stream_seq": snapshot.last_stream_seq,
            "last_hash": snapshot.last_hash,
            "fingerprint": codec.fingerprint,
            "causations": snapshot.causations,
            "state": orjson.Fragment(codec.adapter.dump_json(snapshot.state)),
        }
    )


def decode(agg: AggregateType[Any], codec: Codec, aggregate_id: str, payload: bytes) -> Snapshot:
    """The stored snapshot, or ``Unusable`` saying why it cannot be used."""
    try:
        b = orjson.loads(payload)
        if b.get("fingerprint") != codec.fingerprint:
            raise Unusable("fingerprint differs: the state's class, evolve or snapshot_version changed")
        if (b["context"], b["aggregate_type"], b["aggregate_id"]) != (agg.context, agg.name, aggregate_id):
            raise Unusable("snapshot of another aggregate")
        version, last_seq = int(b["version"]), int(b["last_stream_seq"])
        if version < 1 or last_seq < 1:
            raise Unusable("snapshot of no event")
        return Snapshot(
            version=version,
            last_stream_seq=last_seq,
            last_hash=str(b["last_hash"]),
            jurisdiction=str(b["jurisdiction"]),
            causations=tuple(str(c) for c in b["causations"]),
            state=codec.adapter.validate_python(b["state"]),
        )
    except Unusable:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError) as exc:
        raise Unusable(f"undecodable: {type(exc).__name__}: {str(exc)[:200]}") from exc


_codecs: dict[AggregateType[Any], Codec | None] = {}  # per aggregate type, for every store of the process


def codec_of(agg: AggregateType[Any]) -> Codec | None:
    """The aggregate type's codec, built once; None when it is not snapshotted (or cannot be)."""
    try:
        return _codecs[agg]
    except KeyError:
        pass
    codec = None
    if agg.snapshot_every > 0:
        try:
            codec = build_codec(agg)
        except Exception as exc:  # a state pydantic cannot encode: that type goes without snapshots
            log.warning("events.snapshot.disabled", aggregate_type=agg.name, reason=str(exc)[:300])
    _codecs[agg] = codec
    return codec


class Snapshots:
    """The write path of one store and what it learnt of the snapshot stream."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self._paused_until = 0.0  # monotonic time before which loads do not ask for snapshots
        self._checked = False  # the stream was found or created by this process
        self._ensuring: asyncio.Future[None] | None = None
        self._inbox = ""
        # token -> (subject, body, context, publish again if the stream is missing)
        self._unacked: OrderedDict[str, tuple[str, bytes, str, bool]] = OrderedDict()
        self._counter = 0
        self._tasks: set[asyncio.Future[None]] = set()
        self._said: set[tuple[str, str]] = set()
        self._acked = asyncio.Event()  # set whenever nothing awaits an answer

    def codec(self, agg: AggregateType[Any]) -> Codec | None:
        return codec_of(agg)

    def once(self, event: str, key: str, **fields: Any) -> None:
        """Log a fallback once per process and aggregate type: the next ones are the same story."""
        if (event, key) not in self._said:
            self._said.add((event, key))
            log.warning(event, **fields)

    @property
    def reads_paused(self) -> bool:
        """Loads skip the snapshot read for a while after it failed: no stream, or no answer in time.

        The next snapshot written creates the stream again; after ``PAUSE`` loads ask again anyway
        (another process may have created it).
        """
        return time.monotonic() < self._paused_until

    def read_failed(self, error: EventStoreError, agg: AggregateType[Any]) -> None:
        self._paused_until = time.monotonic() + PAUSE
        if isinstance(error, StreamMissing):
            self._checked = False
            self.once("events.snapshot.stream_missing", "", note="loads read every event until a snapshot is written")
        else:
            self.once("events.snapshot.unreadable", agg.name, aggregate_type=agg.name, error=str(error), pause_s=PAUSE)

    # -- writing --------------------------------------------------------------------------------
    def write(self, agg: AggregateType[Any], codec: Codec, subject: str, aggregate_id: str, snapshot: Snapshot) -> None:
        """Publish a snapshot in the background: the caller never waits for it."""
        task = asyncio.ensure_future(self._write(agg, codec, subject, aggregate_id, snapshot))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(
        self, agg: AggregateType[Any], codec: Codec, subject: str, aggregate_id: str, snapshot: Snapshot
    ) -> None:
        try:
            body = encode(agg, codec, aggregate_id, snapshot)
            await self._publish(subject, body, agg.context)
        except (ConnectionClosedError, ConnectionDrainingError):
            pass  # shutting down: the next process writes it when it folds these events again
        except Exception as exc:  # a cache: a failed write is logged and forgotten
            self.once("events.snapshot.write_failed", agg.name, aggregate_type=agg.name, error=repr(exc)[:300])

    async def _publish(self, subject: str, body: bytes, context: str, *, again: bool = True) -> None:
        if not self._checked:
            await self._ensure(context)
        if not self._inbox:
            self._inbox = self.nc.new_inbox()
            await self.nc.subscribe(self._inbox + ".*", cb=self._on_ack)
        self._counter += 1
        token = str(self._counter)
        self._unacked[token] = (subject, body, context, again)
        self._acked.clear()
        if len(self._unacked) > UNACKED:
            self._unacked.popitem(last=False)
        await self.nc.publish(subject, body, reply=f"{self._inbox}.{token}")

    async def _ensure(self, context: str) -> None:
        if self._ensuring is None or self._ensuring.done():
            self._ensuring = asyncio.ensure_future(self._create(context))
        await asyncio.shield(self._ensuring)

    async def _create(self, context: str) -> None:
        replicas = 1
        info = await api(self.nc, f"STREAM.INFO.{stream_name(context)}")
        if not info.get("error"):
            replicas = int(info["config"].get("num_replicas", 1))  # as many as the events it caches
        if await ensure_snapshot_stream(self.nc, replicas):
            log.info("events.snapshot.stream_created", replicas=replicas)
        self._checked = True
        self._paused_until = 0.0

    async def _on_ack(self, m: Msg) -> None:
        token = m.subject.rsplit(".", 1)[-1]
        sent = self._unacked.pop(token, None)
        if not self._unacked:
            self._acked.set()
        status = (m.headers or {}).get("Status")
        if status == NO_RESPONDERS:
            self._checked = False  # deleted while we ran: create it again, then publish this one again
            self._paused_until = time.monotonic() + PAUSE
            if sent is not None and sent[3]:
                subject, body, context, _ = sent
                task = asyncio.ensure_future(self._again(subject, body, context))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        elif status or b'"error"' in m.data[:200]:
            self.once("events.snapshot.refused", "", status=status, reply=m.data[:300].decode(errors="replace"))

    async def _again(self, subject: str, body: bytes, context: str) -> None:
        try:
            await self._publish(subject, body, context, again=False)
        except Exception as exc:  # a cache: a failed write is logged and forgotten
            self.once("events.snapshot.write_failed", "", error=repr(exc)[:300])

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait until the snapshots being written are stored (or refused): for tests and shutdown."""
        while self._tasks or self._unacked:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
            if self._unacked:
                await asyncio.wait_for(self._acked.wait(), timeout)
