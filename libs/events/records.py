"""What the store hands out: a loaded aggregate, an append's result, a command's metadata; event ids."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from libs.events import snapshots as snap
from libs.events.aggregate import AggregateType
from libs.events.envelope import Actor, Envelope

S = TypeVar("S")
EVENT_NS = uuid.UUID("5b0f7d8e-2c1a-4b7e-9a59-6c0d8e1f2a30")
_EVENT_NS_BYTES = EVENT_NS.bytes
RECENT = snap.RECENT_CAUSATIONS

Locate = Callable[[str, str, str], Awaitable[str | None]]  # (context, aggregate_type, id) -> jurisdiction


@dataclass(frozen=True)
class CommandMeta:
    actor: Actor
    correlation_id: str
    command_id: str  # becomes the events' causation id
    now: datetime


@dataclass(frozen=True)
class Loaded(Generic[S]):
    type: AggregateType[S]
    id: str
    state: S
    version: int  # aggregate sequence of its last event; 0 when it has none
    last_stream_seq: int  # the guard for the next append
    last_hash: str
    jurisdiction: str | None
    causations: frozenset[str]  # command ids already applied to this aggregate (see ``recent``)
    # The last RECENT command ids, oldest first: what a snapshot keeps of ``causations``, so a
    # state loaded from a snapshot knows these plus those of the events read after it.
    recent: tuple[str, ...] = ()
    # The version of the aggregate's last snapshot this process knows; bookkeeping, not state.
    snapshot_version: int = field(default=0, compare=False)

    @property
    def exists(self) -> bool:
        return self.version > 0

    def applied(self, command_id: str) -> bool:
        return command_id in self.causations


@dataclass(frozen=True)
class Appended(Generic[S]):
    loaded: Loaded[S]
    envelopes: tuple[Envelope, ...]
    stream: str
    stream_seq: int  # stream position of the last event: the read-your-writes token


def event_id(command_id: str, aggregate_id: str, sequence: int) -> str:
    """``str(uuid.uuid5(EVENT_NS, f"{command_id}/{aggregate_id}/{sequence}"))``, a fifth of its cost."""
    h = bytearray(hashlib.sha1(_EVENT_NS_BYTES + f"{command_id}/{aggregate_id}/{sequence}".encode()).digest())
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h[:16].hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


def _recent(before: tuple[str, ...], ids: Iterable[str]) -> tuple[str, ...]:
    """The last RECENT distinct command ids of ``before`` then ``ids``, oldest first."""
    seen: dict[str, None] = {}
    for c in itertools.chain(reversed(list(ids)), reversed(before)):
        if c not in seen:
            seen[c] = None
            if len(seen) == RECENT:
                break
    return tuple(reversed(seen))
