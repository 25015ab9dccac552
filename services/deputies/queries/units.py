"""Organizer units (承办单位) as the suggestions context publishes them: a read model of its
``OrganizerUnitRegistered`` events, built on demand for the operator's ``renda users add``.

Only ``services.suggestions.events`` is read (the published language), never its state or tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

import services.suggestions.events  # noqa: F401  (registers the suggestions' event types for decoding)
from libs.events import jetstream as jsapi
from libs.events.envelope import CorruptEnvelope, decode
from libs.events.errors import EventStoreError
from libs.events.subjects import any_jurisdiction_subject, stream_name
from services.deputies.commands.context import ID_PATTERN
from services.suggestions.events import OrganizerUnitRegistered

UNIT_AGGREGATE = "organizer_unit"  # the aggregate type in the suggestions' subjects


@dataclass(frozen=True)
class Unit:
    unit_id: str
    jurisdiction: str
    name: str


class UnitsUnreadable(Exception):
    """The suggestions stream could not be read: whether a unit exists is not known."""


async def registered_unit(nc: NATS, unit_id: str) -> Unit | None:
    """The unit as registered, or None when no such unit was ever registered."""
    if not ID_PATTERN.match(unit_id):
        return None
    subject = any_jurisdiction_subject("suggestions", UNIT_AGGREGATE, unit_id)
    try:
        first = await jsapi.direct_get_first(nc, stream_name("suggestions"), subject)
    except (NatsError, TimeoutError, EventStoreError) as exc:
        raise UnitsUnreadable(str(exc)) from exc
    if first is None:
        return None
    try:
        env = decode(first.data, stream_seq=first.seq, subject=first.subject)
    except CorruptEnvelope as exc:
        raise UnitsUnreadable(str(exc)) from exc
    e = env.data
    if not isinstance(e, OrganizerUnitRegistered):
        return None
    return Unit(unit_id=e.unit_id, jurisdiction=e.jurisdiction, name=e.name)
