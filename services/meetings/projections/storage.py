"""How the meetings read models store what they keep (tables prefixed ``meetings_``: services may
share one database).

Times are stored as UTC ISO-8601 text of one fixed width (``0013-…`` as well as ``2024-…``), so
text order is time order on SQLite and PostgreSQL alike; reads turn them back into aware times,
and the API answers them in ``RENDA_TIMEZONE`` with its offset.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from libs.db.instants import from_text, utc_text

# The tables of the ``meetings-index`` projection (meetings, invitees, review opinions).
index_metadata = MetaData()


__all__ = ["from_text", "index_metadata", "utc_text"]  # times: the one storage convention (libs/db/instants)
