"""How the meetings read models store what they keep (tables prefixed ``meetings_``: services may
share one database).

Times are stored as UTC ISO-8601 text of one fixed width (``0013-…`` as well as ``2024-…``), so
text order is time order on SQLite and PostgreSQL alike; reads turn them back into aware times,
and the API answers them in ``RENDA_TIMEZONE`` with its offset.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope

# The tables of the ``meetings-index`` projection (meetings, invitees, review opinions).
index_metadata = MetaData()

# One handler per event type; a projection's ``handles`` is the key set of its table of handlers,
# so the types it subscribes to are exactly the types it applies.
Handler = Callable[[Any, Envelope, AsyncConnection, tzinfo], Awaitable[None]]


def utc_text(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
