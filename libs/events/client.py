"""nats-py's client, with a message-header parser that does not walk every name character by character.

nats-py (2.16) parses the header block of every message it delivers in Python, and checks each
header name for whitespace with ``any(c.isspace() for c in key)``: a generator step per
character. Every stored event carries four or five headers (``Nats-Msg-Id``, ``Nats-Batch-*``,
``Nats-Expected-*``), so a replay spent ~13 % of its time there (profiled: a county's
475,677 events). ``Client`` overrides that one static method with the same result computed by
bytes methods (``tests/events/test_client.py`` compares both on every form nats-py handles).
Every connection of renda is made by ``connect``.

A pull consumer's reader needs no header of a message with a payload, nor nats-py's ``Msg``, its
subscription's queue and the task that hands each message to a callback: ``sink`` gives a
subscription's messages to a plain function as the parser reads them (a city's replay reads
9.4 M messages, each through two asyncio queues and two task switches before).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from nats.aio.client import Client as _NatsClient
from nats.aio.subscription import Subscription
from nats.errors import ProtocolError
from nats.protocol import parser as _proto

_CRLF = b"\r\n"
# What ``str.isspace`` is true for among ASCII characters (a name is ASCII, or skipped).
_SPACE = re.compile(rb"[\t\n\x0b\x0c\r\x1c-\x1f ]")


# A sink's arguments: subject, reply subject, payload, and the headers of a message without payload
# (a status: ``{"Status": "404", "Description": …}``), else None.
Sink = Callable[[bytes, bytes, bytes, dict[str, str] | None], None]


class _Parser(_proto.Parser):
    """nats-py's protocol parser, with messages (``MSG``, ``HMSG``) read without its regular expressions
    and a sink's messages handed over without a coroutine each. Any other line (``PING``, ``INFO``,
    ``-ERR`` …) goes to nats-py's own parser, which takes the rest of the buffer from there."""

    nc: Client

    async def parse(self, data: bytes = b"") -> None:
        buf = self.buf
        buf.extend(data)
        nc = self.nc
        while buf:
            if self.state == _proto.AWAITING_CONTROL_LINE:
                if not (buf.startswith(b"HMSG ") or buf.startswith(b"MSG ")):
                    await super().parse()
                    return
                end = buf.find(_CRLF)
                if end < 0:
                    if len(buf) > _proto.MAX_CONTROL_LINE_SIZE:
                        raise ProtocolError("nats: malformed MSG")
                    return  # the rest of the line is on its way
                args = bytes(buf[:end]).split()
                try:
                    if args[0] == b"HMSG":  # HMSG <subject> <sid> [reply] <header bytes> <total bytes>
                        self.header_needed, self.needed = int(args[-2]), int(args[-1])
                        reply = args[3] if len(args) == 6 else b""
                    else:  # MSG <subject> <sid> [reply] <bytes>
                        self.header_needed, self.needed = 0, int(args[-1])
                        reply = args[3] if len(args) == 5 else b""
                    self.msg_arg = {"subject": args[1], "sid": int(args[2]), "reply": reply}
                except (IndexError, ValueError):
                    raise ProtocolError("nats: malformed MSG") from None
                del buf[: end + 2]
                self.state = _proto.AWAITING_MSG_PAYLOAD
            else:
                needed = self.needed
                if len(buf) < needed + 2:
                    return  # the payload is on its way
                header_needed = self.header_needed
                headers = bytes(buf[:header_needed]) if header_needed else None
                payload = bytes(buf[header_needed:needed])
                del buf[: needed + 2]
                self.header_needed = 0
                self.state = _proto.AWAITING_CONTROL_LINE
                arg = self.msg_arg
                take = nc._sinks.get(arg["sid"])
                if take is not None and (payload or not headers):  # no headers to parse: no coroutine
                    nc._hand(take, arg["subject"], arg["reply"], payload, None)
                else:
                    await nc._process_msg(arg["sid"], arg["subject"], arg["reply"], payload, headers)  # type: ignore[arg-type]


class Client(_NatsClient):
    def __init__(self) -> None:
        super().__init__()
        self._sinks: dict[int, Sink] = {}
        self._ps = _Parser(self)

    def sink(self, sub: Subscription, take: Sink) -> None:
        """``sub``'s messages go to ``take``, called in the reading task; the subscription's own
        callback or iterator gets none of them. The headers of a message with a payload are not
        parsed (a pull consumer's reader needs its payload and reply subject only:
        ``libs/events/projection/consumer.py``); those of a message without one are."""
        self._sinks[sub._id] = take

    def unsink(self, sub: Subscription) -> None:
        self._sinks.pop(sub._id, None)

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        take = self._sinks.get(sid)
        if take is None:
            await super()._process_msg(sid, subject, reply, data, headers)
            return
        self._hand(take, subject, reply, data, None if data or not headers else await self._process_headers(headers))

    def _hand(self, take: Sink, subject: bytes, reply: bytes, data: bytes, status: dict[str, str] | None) -> None:
        """A sink's message, counted in the connection's statistics as nats-py counts its own."""
        self.stats["in_msgs"] += 1
        self.stats["in_bytes"] += len(data)
        take(subject, reply, data, status)

    @staticmethod
    def _parse_header_lines(raw: bytes) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in raw.split(_CRLF):
            name, sep, value = line.partition(b":")
            if not sep:
                continue
            name = name.strip()
            if not name.isascii() or _SPACE.search(name):
                continue  # nats-py skips a name that is not ASCII or holds whitespace
            out[name.decode("ascii")] = value.strip().decode("utf-8", "replace")
        return out


async def connect(**options: Any) -> Client:
    """``nats.connect`` with ``Client``: the same options."""
    nc = Client()
    await nc.connect(**options)
    return nc
