"""The pull-consumer protocol, driven by hand: a durable or ephemeral consumer, batches, ack subjects.

nats-py's ``fetch()`` costs ~2.5x here, so pulls are requests on the JetStream API subject and
the messages arrive on an inbox of our own.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from nats import errors as nats_errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from libs.events import jetstream as jsapi
from libs.events.client import Client
from libs.events.envelope import Envelope, from_body
from libs.events.event import registry
from libs.events.subjects import stream_name, stream_subjects

log = structlog.get_logger("events.consumer")
FILL_WAIT = 0.05  # seconds to wait for the rest of a batch the server says is on its way


@dataclass
class Delivered:
    seq: int
    timestamp_ns: int
    pending: int
    data: bytes
    subject: str
    reply: str


_Delivered = Delivered  # the name earlier code and tests use


def parse_ack_subject(reply: str) -> tuple[int, int, int]:
    """(stream sequence, timestamp ns, pending) from a JetStream ack subject (v1 or v2 form)."""
    t = reply.split(".")
    if len(t) == 9:  # $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>
        return int(t[5]), int(t[7]), int(t[8])
    # $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>]
    return int(t[7]), int(t[9]), int(t[10])


def decode_delivered(d: Delivered, wanted: frozenset[str] | None) -> Envelope | None:
    b = orjson.loads(d.data)
    if (wanted is not None and b["type"] not in wanted) or not registry.known(b["type"]):
        return None
    return from_body(b, stream_seq=d.seq, subject=d.subject)


class ConsumerGone(RuntimeError):
    """The server no longer has the consumer (deleted, or expired while disconnected)."""


class PullSource:
    """A hand-driven pull consumer: ask for a batch, hand over what has arrived so far.

    On renda's ``Client`` the inbox's messages come straight from the parser (``Client.sink``):
    no ``Msg``, no subscription queue, no callback task per message.
    """

    def __init__(self, nc: NATS, stream: str, consumer: str, batch: int) -> None:
        self.nc = nc
        self.stream = stream
        self.consumer = consumer
        self.batch = batch
        # Arrived messages, and the headers of each status message (a pull request's end).
        self._arrived: deque[Delivered | dict[str, str]] = deque()
        self._wake = asyncio.Event()
        self._sub: Any = None
        self._inbox = ""
        self._outstanding = 0

    async def open(self) -> None:
        self._inbox = self.nc.new_inbox()
        if isinstance(self.nc, Client):
            self._sub = await self.nc.subscribe(self._inbox)
            self.nc.sink(self._sub, self._take)
            return

        async def cb(m: Msg) -> None:  # another client (nats-py's own): its messages as a sink gets them
            self._take(m.subject.encode(), m.reply.encode(), m.data, None if m.data else m.headers)

        self._sub = await self.nc.subscribe(self._inbox, cb=cb)

    def _take(self, subject: bytes, reply: bytes, data: bytes, headers: dict[str, str] | None) -> None:
        if headers and headers.get("Status"):
            self._arrived.append(headers)
        else:
            r = reply.decode()
            seq, ts, pending = parse_ack_subject(r)
            self._arrived.append(Delivered(seq, ts, pending, data, subject.decode(), r))
        self._wake.set()

    async def _next(self, timeout: float) -> Delivered | dict[str, str] | None:
        """The next arrived message, waiting up to ``timeout`` seconds for one; None if none came."""
        if not self._arrived:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return None
        return self._arrived.popleft()

    async def close(self) -> None:
        if self._sub is not None:
            if isinstance(self.nc, Client):
                self.nc.unsink(self._sub)
            with contextlib.suppress(nats_errors.ConnectionClosedError):
                await self._sub.unsubscribe()
            self._sub = None

    def reset(self) -> None:
        """Forget the pull request in flight (the consumer was re-created)."""
        self._outstanding = 0
        self._arrived.clear()

    async def next_batch(self, expires: float = 2.0) -> list[Delivered]:
        """Up to ``batch`` messages: waits for the first (up to ``expires``), then takes what has arrived.

        While the server says more are pending for this request, it waits a moment for them
        rather than handing over a handful: catching up then commits big batches, not one
        transaction per few messages. At the head (nothing pending) it hands over at once.
        """
        if self._outstanding <= 0:
            req = {"batch": self.batch, "expires": int(expires * 1e9)}
            await self.nc.publish(
                f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.consumer}", orjson.dumps(req), reply=self._inbox
            )
            self._outstanding = self.batch
        out: list[Delivered] = []
        m = await self._next(expires + 1.0)
        while m is not None:
            if isinstance(m, dict):
                self._outstanding = 0  # 404/408/409: this request is over
                status, description = m["Status"], m.get("Description", "")
                if status == "503" or (status == "409" and "Deleted" in description):
                    raise ConsumerGone(f"{self.stream}/{self.consumer}: {status} {description}")
                if status == "409":
                    log.warning(
                        "projection.pull_409", stream=self.stream, consumer=self.consumer, description=description
                    )
                break
            out.append(m)
            self._outstanding -= 1
            if self._outstanding <= 0 or len(out) >= self.batch:
                break
            if self._arrived:
                m = self._arrived.popleft()
            elif m.pending == 0:
                break
            else:
                m = await self._next(FILL_WAIT)
        if not out and m is None:
            self._outstanding = 0  # nothing came in time: the next call asks again
        return out


class StreamReadStalled(RuntimeError):
    """An ordered read could not go on: its consumer kept failing for longer than its patience."""


READ_PATIENCE = 60.0  # seconds a read may spend re-creating its consumer (a leader election takes a few)


async def _open_reader(nc: NATS, stream: str, subjects: list[str], start: int, batch: int) -> PullSource:
    name = f"read_{uuid.uuid4().hex}"
    config: dict[str, Any] = {
        "name": name,
        "ack_policy": "none",
        "inactive_threshold": 60_000_000_000,
        "filter_subjects": subjects,
        "mem_storage": True,
    }
    config.update(
        {"deliver_policy": "by_start_sequence", "opt_start_seq": start} if start > 1 else {"deliver_policy": "all"}
    )
    reply = await jsapi.api(nc, f"CONSUMER.CREATE.{stream}.{name}", {"stream_name": stream, "config": config})
    if reply.get("error"):
        raise ConsumerGone(f"cannot create consumer on {stream}: {reply['error']}")
    source = PullSource(nc, stream, name, batch)
    await source.open()
    return source


async def _drop_reader(nc: NATS, source: PullSource) -> None:
    await source.close()
    with contextlib.suppress(Exception):  # gone with its server, or expiring by itself
        await jsapi.api(nc, f"CONSUMER.DELETE.{source.stream}.{source.consumer}", timeout=2.0)


async def _nothing_pending(nc: NATS, source: PullSource) -> bool:
    """An empty pull: the consumer's own count says whether the read is over or stalled."""
    info = await jsapi.api(nc, f"CONSUMER.INFO.{source.stream}.{source.consumer}", timeout=2.0)
    if info.get("error"):
        raise ConsumerGone(f"{source.stream}/{source.consumer}: {info['error']}")
    return int(info.get("num_pending", 0)) == 0


async def read_stream(
    nc: NATS,
    context: str,
    *,
    batch: int = 1000,
    subject_filter: str | None = None,
    patience: float = READ_PATIENCE,
    start: int = 1,
) -> AsyncIterator[list[Delivered]]:
    """Every message of a context's stream as it stands now, in order, in batches, via an ephemeral consumer.

    The read never ends short: a consumer lost on the way (its server restarted, a leader
    elected elsewhere: 503, "consumer deleted", no answer) is created again from the message
    after the last one handed over, with back-off, for up to ``patience`` seconds without
    progress (then ``StreamReadStalled``). An empty pull ends the read only when the consumer
    says nothing is pending. ``start``: the first stream sequence to read.
    """
    stream = stream_name(context)
    head = await jsapi.last_seq(nc, stream)
    if head == 0:
        return
    subjects = [subject_filter] if subject_filter else stream_subjects(context)
    last = max(start, 1) - 1
    waited_since: float | None = None
    pause = 0.1
    while True:
        source: PullSource | None = None
        try:
            source = await _open_reader(nc, stream, subjects, last + 1, batch)
            while True:
                delivered = await source.next_batch(expires=1.0)
                if not delivered:
                    if await _nothing_pending(nc, source):
                        return
                    raise ConsumerGone(f"{stream}/{source.consumer}: an empty pull with messages pending")
                waited_since, pause = None, 0.1
                last = delivered[-1].seq
                yield delivered
                if last >= head or delivered[-1].pending == 0:
                    return
        except (ConsumerGone, nats_errors.TimeoutError, nats_errors.NoRespondersError) as exc:
            now = asyncio.get_running_loop().time()
            waited_since = now if waited_since is None else waited_since
            if now - waited_since > patience:
                raise StreamReadStalled(f"{stream}: no progress past #{last} for {patience:.0f} s: {exc}") from exc
            log.warning("events.read_resumed", stream=stream, after=last, error=str(exc) or type(exc).__name__)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)
        finally:
            if source is not None:
                await _drop_reader(nc, source)
