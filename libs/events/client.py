"""nats-py's client, with a message-header parser that does not walk every name character by character.

nats-py (2.16) parses the header block of every message it delivers in Python, and checks each
header name for whitespace with ``any(c.isspace() for c in key)``: a generator step per
character. Every stored event carries four or five headers (``Nats-Msg-Id``, ``Nats-Batch-*``,
``Nats-Expected-*``), so a replay spent ~13 % of its time there (profiled: a county's
475,677 events). ``Client`` overrides that one static method with the same result computed by
bytes methods (``tests/events/test_client.py`` compares both on every form nats-py handles).
Every connection of renda is made by ``connect``.

A pull consumer's reader needs no header of a message with a payload at all: ``deliver_bare``
skips parsing them for its inbox.
"""

from __future__ import annotations

import re
from typing import Any

from nats.aio.client import Client as _NatsClient
from nats.aio.subscription import Subscription

_CRLF = b"\r\n"
# What ``str.isspace`` is true for among ASCII characters (a name is ASCII, or skipped).
_SPACE = re.compile(rb"[\t\n\x0b\x0c\r\x1c-\x1f ]")


class Client(_NatsClient):
    def __init__(self) -> None:
        super().__init__()
        self._bare: set[int] = set()

    def deliver_bare(self, sub: Subscription) -> None:
        """Messages with a payload on ``sub`` arrive with ``headers=None``: their headers are not parsed.

        For a reader that takes only a message's payload and reply subject (a pull consumer's
        inbox: ``libs/events/projection/consumer.py``); status messages (no payload) keep theirs.
        """
        self._bare.add(sub._id)

    def forget_bare(self, sub: Subscription) -> None:
        self._bare.discard(sub._id)

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes) -> None:
        if data and headers and sid in self._bare:
            headers = b""  # nats-py's "no headers"
        await super()._process_msg(sid, subject, reply, data, headers)

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
