"""Stream names and subjects of the contract: the only place that spells them.

``renda.<context>.<city>.<county>.<township>.<aggregate_type>.<aggregate_id>``, with ``_``
where a level does not apply (a county-level aggregate has no township).
"""

from __future__ import annotations

import re

CONTEXTS = ("deputies", "suggestions", "meetings", "notify")
NONE = "_"
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]+$")


def stream_name(context: str) -> str:
    return f"RENDA_{context.upper()}"


def stream_subjects(context: str) -> list[str]:
    return [f"renda.{context}.>"]


def levels(jurisdiction: str) -> tuple[str, str, str]:
    """Split a national division code into (city, county, township) subject tokens."""
    code = jurisdiction.strip()
    if not code.isdigit() or len(code) not in (4, 6, 9):
        raise ValueError(f"not a city (4), county (6) or township (9) division code: {jurisdiction!r}")
    city = code[:4]
    county = code[:6] if len(code) >= 6 else NONE
    township = code if len(code) == 9 else NONE
    return city, county, township


def token(value: str) -> str:
    if not _TOKEN.match(value):
        raise ValueError(f"not usable in a subject: {value!r}")
    return value


def aggregate_subject(context: str, jurisdiction: str, aggregate_type: str, aggregate_id: str) -> str:
    city, county, township = levels(jurisdiction)
    return f"renda.{context}.{city}.{county}.{township}.{token(aggregate_type)}.{token(aggregate_id)}"


def any_jurisdiction_subject(context: str, aggregate_type: str, aggregate_id: str) -> str:
    """Wildcard subject of one aggregate whose jurisdiction is not known (a slow path)."""
    return f"renda.{context}.*.*.*.{token(aggregate_type)}.{token(aggregate_id)}"


def jurisdiction_filter(context: str, jurisdiction: str) -> str:
    """Subject filter of everything of ``context`` at or under ``jurisdiction``."""
    city, county, township = levels(jurisdiction)
    parts = [p for p in (city, county, township) if p != NONE]
    return "renda." + context + "." + ".".join(parts) + ".>"


# -- snapshots: a cache of folded states, in a stream of its own (libs/events/snapshots.py) ------
SNAPSHOT_STREAM = "RENDA_SNAPSHOTS"
SNAPSHOT_PREFIX = "renda.snapshots"  # never a context name: CONTEXTS holds no "snapshots"


def snapshot_subjects() -> list[str]:
    return [f"{SNAPSHOT_PREFIX}.>"]


def snapshot_subject(context: str, aggregate_type: str, aggregate_id: str) -> str:
    """``renda.snapshots.<context>.<aggregate_type>.<aggregate_id>``: one message per aggregate.

    No jurisdiction: an aggregate never moves, and the snapshot body names it.
    """
    return f"{SNAPSHOT_PREFIX}.{token(context)}.{token(aggregate_type)}.{token(aggregate_id)}"
