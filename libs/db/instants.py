"""Moments stored as UTC ISO-8601 text of one fixed width (``0013-…`` as well as ``2026-…``).

Text order is then time order on SQLite and PostgreSQL alike, and a read model's query can compare
a column with ``utc_text(now)``. Reads turn the text back into aware times; answers give them in
``RENDA_TIMEZONE`` (``libs.domain.times``). One convention for every context's read models.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


def utc_text(dt: datetime) -> str:
    """``dt`` (naive: taken as UTC) as ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")


@overload
def from_text(value: str) -> datetime: ...
@overload
def from_text(value: None) -> None: ...
@overload
def from_text(value: str | None) -> datetime | None: ...
def from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
