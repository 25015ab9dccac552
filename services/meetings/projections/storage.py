"""How the meetings read models store what they keep (tables prefixed ``meetings_``: services may
share one database).

Times are stored as UTC ISO-8601 text of one fixed width (``0013-…`` as well as ``2024-…``), so
text order is time order on SQLite and PostgreSQL alike; reads turn them back into aware times,
and the API answers them in ``RENDA_TIMEZONE`` with its offset.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import MetaData

# The tables of the ``meetings-index`` projection (meetings, invitees, review opinions).
index_metadata = MetaData()


def utc_text(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
