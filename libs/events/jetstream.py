"""Thin, fast JetStream calls over a plain nats-py connection.

nats-py's high-level helpers allocate and validate more than the hot paths need, and it
has no batch Direct Get or atomic batch publish, so these are written against the
JetStream API subjects directly (ADR-31, ADR-50).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout

from libs.events.errors import EventStoreError, ServerTooOld, StreamMissing

WRONG_LAST_SEQUENCE = 10071
BATCH_DUPLICATE_MSG_ID = 10201  # an atomic batch retried: "batch contains duplicate message id"
STREAM_NOT_FOUND = 10059
STREAM_NAME_IN_USE = 10058
NO_RESPONDERS = "503"  # a request to a subject nobody serves: for $JS.API.DIRECT.GET.<s>, no stream s
MIN_SERVER = (2, 12)
DIRECT_BATCH = 1000


@dataclass(frozen=True)
class StoredMsg:
    subject: str
    seq: int
    data: bytes
    headers: dict[str, str]
    timestamp: str


@dataclass(frozen=True)
class PubAck:
    seq: int
    duplicate: bool


class PublishRefused(EventStoreError):
    def __init__(self, err_code: int, description: str) -> None:
        super().__init__(f"{err_code}: {description}")
        self.err_code = err_code
        self.description = description


def check_server_version(nc: NATS) -> str:
    version = nc.connected_server_version
    if (version.major, version.minor) < MIN_SERVER:
        raise ServerTooOld(f"nats-server {version} is older than 2.12")
    return str(version)


async def api(nc: NATS, subject: str, body: dict[str, Any] | None = None, timeout: float = 5.0) -> dict[str, Any]:
    msg = await nc.request(f"$JS.API.{subject}", orjson.dumps(body) if body is not None else b"", timeout=timeout)
    reply: dict[str, Any] = orjson.loads(msg.data)
    return reply


async def stream_info(nc: NATS, stream: str) -> dict[str, Any]:
    reply = await api(nc, f"STREAM.INFO.{stream}")
    err = reply.get("error")
    if err:
        if err.get("err_code") == STREAM_NOT_FOUND:
            raise StreamMissing(stream)
        raise EventStoreError(f"stream info {stream}: {err}")
    return reply


async def last_seq(nc: NATS, stream: str) -> int:
    info = await stream_info(nc, stream)
    return int(info["state"]["last_seq"])


def _parse_ack(data: bytes) -> PubAck:
    reply = orjson.loads(data)
    err = reply.get("error")
    if err:
        raise PublishRefused(int(err.get("err_code", 0)), str(err.get("description", "")))
    return PubAck(seq=int(reply["seq"]), duplicate=bool(reply.get("duplicate", False)))


async def publish(nc: NATS, subject: str, payload: bytes, headers: dict[str, str], timeout: float = 5.0) -> PubAck:
    msg = await nc.request(subject, payload, timeout=timeout, headers=headers)
    return _parse_ack(msg.data)


async def publish_atomic(
    nc: NATS, subject: str, payloads: list[tuple[bytes, dict[str, str]]], batch_id: str, timeout: float = 5.0
) -> PubAck:
    """All-or-nothing publish of several messages (needs ``allow_atomic`` on the stream)."""
    last = len(payloads)
    for i, (payload, headers) in enumerate(payloads[:-1], start=1):
        await nc.publish(
            subject, payload, headers={**headers, "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(i)}
        )
    payload, headers = payloads[-1]
    commit = {**headers, "Nats-Batch-Id": batch_id, "Nats-Batch-Sequence": str(last), "Nats-Batch-Commit": "1"}
    msg = await nc.request(subject, payload, timeout=timeout, headers=commit)
    return _parse_ack(msg.data)


def _stored(m: Msg) -> StoredMsg:
    h = m.headers or {}
    return StoredMsg(
        subject=h.get("Nats-Subject", m.subject),
        seq=int(h.get("Nats-Sequence", "0")),
        data=m.data,
        headers=h,
        timestamp=h.get("Nats-Time-Stamp", ""),
    )


class _Batch:
    """Replies awaited on the mux: one batch (until its status message), or one reply per single get."""

    __slots__ = ("done", "left", "msgs")

    def __init__(self, singles: int = 0) -> None:
        self.msgs: list[Msg | None] = [None] * singles
        self.left = singles
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()


class _DirectMux:
    """One wildcard reply subscription per connection for batch Direct Gets.

    A subscription per read costs a SUB, an UNSUB and a reader task in nats-py; waiting once per
    batch instead of once per message saves a timer and a wake-up per event (measured in bench/).
    Several single gets sent together are awaited once too (``get_each``).
    """

    def __init__(self, nc: NATS) -> None:
        self.nc = nc
        self.prefix = nc.new_inbox()
        self.waiting: dict[str, tuple[_Batch, int]] = {}  # token -> (batch, index of a single get or -1)
        self.counter = 0
        self.ready: asyncio.Future[Any] = asyncio.ensure_future(self._start())

    async def _start(self) -> None:
        await self.nc.subscribe(self.prefix + ".*", cb=self._on_msg)

    async def _on_msg(self, m: Msg) -> None:
        entry = self.waiting.get(m.subject[len(self.prefix) + 1 :])
        if entry is None:
            return  # a late reply to a read that timed out
        batch, index = entry
        if index < 0:
            batch.msgs.append(m)
            if m.headers and m.headers.get("Status") and not batch.done.done():
                batch.done.set_result(None)
        elif batch.msgs[index] is None:
            batch.msgs[index] = m
            batch.left -= 1
            if batch.left == 0 and not batch.done.done():
                batch.done.set_result(None)

    def _token(self) -> str:
        self.counter += 1
        return str(self.counter)

    async def get(self, stream: str, req: dict[str, Any], timeout: float) -> list[Msg]:
        """Every reply of one batch request, up to and including its status message (EOB or 404)."""
        token = self._token()
        batch = _Batch()
        self.waiting[token] = (batch, -1)
        try:
            await self.nc.publish(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps(req), reply=f"{self.prefix}.{token}")
            try:
                await asyncio.wait_for(batch.done, timeout)
            except TimeoutError:
                raise NatsTimeout() from None
        finally:
            del self.waiting[token]
        return batch.msgs  # type: ignore[return-value]

    async def get_each(self, requests: list[tuple[str, dict[str, Any]]], timeout: float) -> list[Msg | None]:
        """The one reply of each single (non-batch) request, sent together; None where none came in time."""
        batch = _Batch(len(requests))
        tokens = []
        try:
            for i, (stream, req) in enumerate(requests):
                token = self._token()
                tokens.append(token)
                self.waiting[token] = (batch, i)
                await self.nc.publish(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps(req), reply=f"{self.prefix}.{token}")
            try:
                await asyncio.wait_for(batch.done, timeout)
            except TimeoutError:
                pass
        finally:
            for token in tokens:
                del self.waiting[token]
        return batch.msgs


_muxes: weakref.WeakKeyDictionary[NATS, _DirectMux] = weakref.WeakKeyDictionary()


async def _mux(nc: NATS) -> _DirectMux:
    mux = _muxes.get(nc)
    if mux is None or mux.ready.cancelled() or (mux.ready.done() and mux.ready.exception() is not None):
        mux = _DirectMux(nc)
        _muxes[nc] = mux
    await asyncio.shield(mux.ready)
    return mux


async def direct_get_subject(
    nc: NATS, stream: str, subject: str, start_seq: int = 1, timeout: float = 5.0
) -> AsyncIterator[StoredMsg]:
    """Every stored message of ``subject`` from ``start_seq`` on, oldest first, via batch Direct Get.

    The server walks its per-subject index, so the cost depends on the aggregate's length,
    not on the stream's. ``timeout`` bounds each batch of up to DIRECT_BATCH messages.
    """
    seq = start_seq
    mux = await _mux(nc)
    while True:
        req = {"seq": seq, "next_by_subj": subject, "batch": DIRECT_BATCH}
        more = False
        for m in await mux.get(stream, req, timeout):
            status = (m.headers or {}).get("Status")
            if status:
                if status in ("404", "204"):  # nothing (more) / end of batch
                    more = status == "204" and int((m.headers or {}).get("Nats-Num-Pending", "0")) > 0
                    break
                raise EventStoreError(f"direct get {stream} {subject}: status {status}")
            sm = _stored(m)
            seq = sm.seq + 1
            yield sm
        if not more:
            return


async def direct_get_last(nc: NATS, stream: str, subject: str, timeout: float = 5.0) -> StoredMsg | None:
    req = {"last_by_subj": subject}
    m = await nc.request(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps(req), timeout=timeout)
    status = (m.headers or {}).get("Status")
    if status == "404":
        return None
    if status:
        raise EventStoreError(f"direct get last {stream} {subject}: status {status}")
    return _stored(m)


async def direct_get_last_each(
    nc: NATS, targets: list[tuple[str, str]], timeout: float = 5.0, *, bodies_only: frozenset[str] = frozenset()
) -> list[StoredMsg | EventStoreError | None]:
    """The last message of each (stream, subject), all asked at once: one round trip for all.

    Per target: the message, None when the subject holds none, or the error (``StreamMissing``
    when the stream does not exist, ``EventStoreError`` on another status or no reply in time),
    so that a caller may do without one of them. Messages of the streams in ``bodies_only`` come
    without headers (``no_hdr``: no sequence, subject or time either), which nats-py parses at
    some 20 µs a message.
    """
    mux = await _mux(nc)
    requests = [
        (stream, {"last_by_subj": subject, "no_hdr": True} if stream in bodies_only else {"last_by_subj": subject})
        for stream, subject in targets
    ]
    replies = await mux.get_each(requests, timeout)
    out: list[StoredMsg | EventStoreError | None] = []
    for (stream, subject), m in zip(targets, replies, strict=True):
        status = (m.headers or {}).get("Status") if m is not None else "timeout"
        if not status:
            out.append(_stored(m))  # type: ignore[arg-type]
        elif status == "404":
            out.append(None)
        elif status == NO_RESPONDERS:
            out.append(StreamMissing(stream))
        else:
            out.append(EventStoreError(f"direct get last {stream} {subject}: {status}"))
    return out


async def direct_get_seq(nc: NATS, stream: str, seq: int, timeout: float = 5.0) -> StoredMsg | None:
    m = await nc.request(f"$JS.API.DIRECT.GET.{stream}", orjson.dumps({"seq": seq}), timeout=timeout)
    if (m.headers or {}).get("Status"):
        return None
    return _stored(m)


async def direct_get_next(nc: NATS, stream: str, subject: str, seq: int, timeout: float = 5.0) -> StoredMsg | None:
    """The first message of ``subject`` at or after ``seq``, or None (one plain request)."""
    m = await nc.request(
        f"$JS.API.DIRECT.GET.{stream}", orjson.dumps({"seq": seq, "next_by_subj": subject}), timeout=timeout
    )
    status = (m.headers or {}).get("Status")
    if status == "404":
        return None
    if status:
        raise EventStoreError(f"direct get next {stream} {subject}: status {status}")
    return _stored(m)


async def direct_get_first(nc: NATS, stream: str, subject: str, timeout: float = 5.0) -> StoredMsg | None:
    m = await nc.request(
        f"$JS.API.DIRECT.GET.{stream}", orjson.dumps({"seq": 1, "next_by_subj": subject}), timeout=timeout
    )
    if (m.headers or {}).get("Status"):
        return None
    return _stored(m)
