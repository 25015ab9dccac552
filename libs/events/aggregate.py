"""What the store needs to know of an aggregate: its name, its context and how to fold events.

Domain modules declare one ``AggregateType`` each; it holds pure functions only.

Snapshots (libs/events/snapshots.py): the store keeps the folded state of an aggregate every
``snapshot_every`` events, encoded by a pydantic ``TypeAdapter`` of ``state_type``. A snapshot is
used only while its fingerprint matches: the JSON schema of ``state_type``, the code of
``evolve`` and ``snapshot_version``. Bump ``snapshot_version`` when the fold's meaning changes
outside ``evolve``'s own body (a helper it calls, an upcaster): old snapshots are then ignored
and rebuilt from the events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from libs.events.event import Event

S = TypeVar("S")
SNAPSHOT_EVERY = 10  # events folded past the last snapshot before the store writes a new one


@dataclass(frozen=True)
class AggregateType(Generic[S]):
    name: str  # subject token, e.g. "suggestion"
    context: str  # bounded context, e.g. "suggestions"
    initial: Callable[[str], S]  # the state before the first event
    evolve: Callable[[S, Event], S]  # pure fold; never raises, never reads the clock
    snapshot_every: int = SNAPSHOT_EVERY  # 0: never snapshot this type
    snapshot_version: int = 1  # bump to invalidate stored snapshots (see the module's docstring)
    state_type: type[Any] | None = None  # default: the class of ``initial(id)``

    def replay(self, aggregate_id: str, events: list[Event]) -> S:
        state = self.initial(aggregate_id)
        for e in events:
            state = self.evolve(state, e)
        return state

    @cached_property
    def state_class(self) -> type[Any]:
        """The state's class: ``state_type`` when given, else the class of the initial state."""
        return self.state_type or type(self.initial("snapshot-probe"))
