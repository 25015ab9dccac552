"""libs/events/client.py: renda's header parser gives what nats-py's own gives, on every form it handles."""

from __future__ import annotations

import asyncio

import pytest
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from libs.events.client import Client

BLOCKS = [
    b"Nats-Msg-Id: abc\r\nNats-Batch-Id: b1\r\nNats-Batch-Sequence: 3\r\n\r\n",
    b"Name:Value\r\nOther:\tspaced \r\n\r\n",  # no space after the colon; tab and trailing space
    b"Key: a: b: c\r\n\r\n",  # a colon in the value
    b"No colon here\r\nGood: 1\r\n\r\n",
    b"Bad Name: 1\r\nBad\tTab: 2\r\nBad\x1fUnit: 3\r\nok: 4\r\n\r\n",  # whitespace inside a name
    "Ünïcode: 1\r\nValue: 中文\r\n\r\n".encode(),  # a non-ASCII name is skipped, a UTF-8 value kept
    b"Broken: \xff\xfe\r\n\r\n",  # malformed UTF-8 in a value
    b"  Padded  :  x  \r\n\r\n",
    b": empty name\r\n\r\n",
    b"Dup: 1\r\nDup: 2\r\n\r\n",  # the last wins
    b"",
    b"\r\n\r\n",
]


@pytest.mark.parametrize("raw", BLOCKS)
def test_headers_parse_as_nats_py_parses_them(raw: bytes) -> None:
    ours = Client._parse_header_lines(raw)
    assert ours == NatsClient._parse_header_lines(raw)
    assert Client._parse_header_lines is not NatsClient._parse_header_lines


def test_the_overridden_method_is_nats_py_s_own() -> None:
    # an upgrade that renames or drops the method would leave the override unused: fail here instead
    assert "_parse_header_lines" in vars(NatsClient)
    assert "_parse_header_lines" in vars(Client)


async def test_a_sink_takes_its_subscription_s_messages_as_they_are_read(js: NatsClient) -> None:
    assert isinstance(js, Client)  # the suite connects as the services do
    sunk: list[tuple[bytes, bytes, bytes, dict[str, str] | None]] = []
    full: list[Msg] = []

    async def cb(m: Msg) -> None:
        full.append(m)

    sub = await js.subscribe("t.sunk", cb=cb)
    js.sink(sub, lambda *args: sunk.append(args))
    headers = {"Nats-Msg-Id": "m1", "Status": "100"}
    await js.publish("t.sunk", b"payload", reply="r.1", headers=headers)
    await js.publish("t.sunk", b"", headers={"Status": "404", "Description": "No Messages"})
    await js.flush()
    for _ in range(100):
        if len(sunk) == 2:
            break
        await asyncio.sleep(0.01)
    # a payload without its headers parsed; a status with them; the callback got neither
    assert sunk == [
        (b"t.sunk", b"r.1", b"payload", None),
        (b"t.sunk", b"", b"", {"Status": "404", "Description": "No Messages"}),
    ]
    assert full == []
    js.unsink(sub)
    await js.publish("t.sunk", b"again", headers=headers)
    await js.flush()
    for _ in range(100):
        if full:
            break
        await asyncio.sleep(0.01)
    assert len(sunk) == 2 and full[0].data == b"again" and full[0].headers == headers
