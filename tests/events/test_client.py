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


class _Recorder:
    """What a parser hands the client: every call, in order."""

    def __init__(self, sink_sid: int | None = None) -> None:
        self.calls: list[tuple[object, ...]] = []
        self.stats = {"in_msgs": 0, "in_bytes": 0}
        self._sinks = {} if sink_sid is None else {sink_sid: lambda *a: self.calls.append(("msg", sink_sid, *a))}

    async def _process_msg(self, sid: int, subject: bytes, reply: bytes, data: bytes, headers: bytes | None) -> None:
        # as Client._process_msg: a sink's message with a payload carries no headers
        self.calls.append(("msg", sid, subject, reply, data, headers if sid not in self._sinks else None))

    def _hand(self, *args: object) -> None:
        Client._hand(self, *args)  # type: ignore[arg-type]  # the client's own, on this stand-in

    async def _process_ping(self) -> None:
        self.calls.append(("ping",))

    async def _process_pong(self) -> None:
        self.calls.append(("pong",))

    async def _process_info(self, info: dict[str, object]) -> None:
        self.calls.append(("info", info))

    async def _process_err(self, err: str) -> None:
        self.calls.append(("err", err))


def _msg(subject: str, sid: int, reply: str, payload: bytes, headers: bytes | None = None, pad: str = " ") -> bytes:
    args = [subject, str(sid), *([reply] if reply else [])]
    if headers is None:
        line = f"MSG{pad}{pad.join(args)}{pad}{len(payload)}"
    else:
        line = f"HMSG{pad}{pad.join(args)}{pad}{len(headers)}{pad}{len(headers) + len(payload)}"
    return line.encode() + b"\r\n" + (headers or b"") + payload + b"\r\n"


WIRE = b"".join(
    [
        b'INFO {"server_id":"x","max_payload":1048576}\r\n',
        _msg("a.b", 1, "", b"hello"),
        _msg("a.b", 1, "reply.to", b"hel\r\nlo"),  # CRLF inside a payload
        b"+OK\r\n",
        _msg(
            "$JS.ACK.x", 2, "$JS.ACK.S.C.1.5.5.1700000000000000000.3", b"hello", b"NATS/1.0\r\nNats-Msg-Id: m1\r\n\r\n"
        ),
        b"PING\r\n",
        _msg("_INBOX.x", 2, "", b"", b"NATS/1.0 404 No Messages\r\n\r\n"),  # a status: headers, no payload
        _msg("spaced", 1, "", b"", pad="   "),  # several spaces, an empty payload
        b"PONG\r\n",
        _msg("a.c", 3, "r", b"", b"NATS/1.0\r\n\r\n"),  # headers only, no status
        b"-ERR 'Stale Connection'\r\n",
        _msg("a.d", 1, "", b"end"),
    ]
)


@pytest.mark.parametrize("sink_sid", [None, 2])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 16, 64, len(WIRE)])
async def test_renda_s_protocol_parser_reads_the_wire_as_nats_py_s_does(chunk: int, sink_sid: int | None) -> None:
    from nats.protocol.parser import Parser

    from libs.events.client import _Parser

    theirs, ours = _Recorder(sink_sid), _Recorder(sink_sid)
    stock, fast = Parser(theirs), _Parser(ours)  # type: ignore[arg-type]
    for i in range(0, len(WIRE), chunk):
        await stock.parse(WIRE[i : i + chunk])
        await fast.parse(WIRE[i : i + chunk])
    assert ours.calls == theirs.calls
    assert [c[0] for c in ours.calls].count("msg") == 7 and ("ping",) in ours.calls and ("pong",) in ours.calls
    assert not fast.buf and fast.state == stock.state
