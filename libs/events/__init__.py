"""The event store on NATS JetStream: declaring events, the envelope, append and load."""

from libs.events.aggregate import AggregateType
from libs.events.envelope import Actor, Envelope
from libs.events.errors import ConcurrencyConflict
from libs.events.event import Event, registry, upcaster
from libs.events.store import Appended, CommandMeta, EventStore, Loaded

__all__ = [
    "Actor",
    "AggregateType",
    "Appended",
    "CommandMeta",
    "ConcurrencyConflict",
    "Envelope",
    "Event",
    "EventStore",
    "Loaded",
    "registry",
    "upcaster",
]
