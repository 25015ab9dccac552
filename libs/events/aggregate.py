"""What the store needs to know of an aggregate: its name, its context and how to fold events.

Domain modules declare one ``AggregateType`` each; it holds pure functions only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from libs.events.event import Event

S = TypeVar("S")


@dataclass(frozen=True)
class AggregateType(Generic[S]):
    name: str  # subject token, e.g. "suggestion"
    context: str  # bounded context, e.g. "suggestions"
    initial: Callable[[str], S]  # the state before the first event
    evolve: Callable[[S, Event], S]  # pure fold; never raises, never reads the clock

    def replay(self, aggregate_id: str, events: list[Event]) -> S:
        state = self.initial(aggregate_id)
        for e in events:
            state = self.evolve(state, e)
        return state
