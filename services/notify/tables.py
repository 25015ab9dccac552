"""The notify service's tables.

Two kinds, two ``MetaData``:

- ``reference``: facts of the other contexts (units, deputies, users, suggestions, meetings),
  rebuilt from the events whenever the consumer's definition changes;
- ``ledger``: the inbox, the outbox and the preferences. Never dropped by a rebuild: the
  outbox's unique key (source event, recipient, channel) is what makes a replay send nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

reference = MetaData()
ledger = MetaData()

units = Table(
    "notify_units",
    reference,
    Column("unit_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=True),
    Column("phone", String(40), nullable=True),
)
deputies = Table(
    "notify_deputies",
    reference,
    Column("deputy_id", String(64), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("township", String(12), nullable=True),
    Column("phone", String(40), nullable=True),
)
users = Table(
    "notify_users",
    reference,
    Column("username", String(100), primary_key=True),
    Column("email", String(320), nullable=True),
    Column("phone", String(40), nullable=True),
    Column("role", String(20), nullable=True),
    Column("jurisdiction", String(12), nullable=True, index=True),
    Column("deputy_id", String(64), nullable=True, index=True),
    Column("unit_id", String(64), nullable=True, index=True),
    Column("disabled", Boolean, nullable=False, default=False),
)
places = Table(
    "notify_places",
    reference,
    Column("code", String(12), primary_key=True),
    Column("name", String(200), nullable=False),
)
suggestions = Table(
    "notify_suggestions",
    reference,
    Column("suggestion_id", String(64), primary_key=True),
    Column("title", String(500), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
    Column("deputy_ids", JSON, nullable=False),
    Column("lead_unit_id", String(64), nullable=True),
    Column("co_unit_ids", JSON, nullable=True),
    Column("last_comment", Text, nullable=True),  # the deputy's last evaluation comment
)
meetings = Table(
    "notify_meetings",
    reference,
    Column("meeting_id", String(64), primary_key=True),
    Column("title", String(500), nullable=False),
    Column("body", String(12), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=True),
    Column("venue", String(500), nullable=True),
    Column("invitee_ids", JSON, nullable=False),
)
review_opinions = Table(
    "notify_review_opinions",
    reference,
    Column("review_opinion_id", String(64), primary_key=True),
    Column("meeting_id", String(64), nullable=False),
    Column("body", String(12), nullable=False),
    Column("to_unit_id", String(64), nullable=False),
)

# -- the ledger ----------------------------------------------------------------------------------
inbox = Table(
    "notify_inbox",
    ledger,
    Column("id", String(36), primary_key=True),  # uuid5(source event, addressee)
    Column("addressee", String(80), nullable=False),  # unit:<id> | deputy:<id> | staff:<code>
    Column("kind", String(40), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("link", String(300), nullable=False),
    Column("source_event_id", String(64), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
    Index("ix_notify_inbox_addressee", "addressee", "created_at"),
)
outbox = Table(
    "notify_outbox",
    ledger,
    Column("id", String(36), primary_key=True),  # the notification id: uuid5(source event, recipient, channel)
    Column("source_event_id", String(64), nullable=False),
    Column("recipient", String(120), nullable=False),  # unit:<id> | deputy:<id> | user:<name> | bot:<label>
    Column("channel", String(10), nullable=False),  # email | sms | bot
    Column("address", String(320), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
    Column("title", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("link", String(300), nullable=False),
    Column("params", JSON, nullable=False),
    Column("digest", Boolean, nullable=False, default=False),
    Column("state", String(10), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_owner", String(36), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True), nullable=True),
    Column("reported", Boolean, nullable=False, default=False),  # its Sent/Failed event is appended
    UniqueConstraint("source_event_id", "recipient", "channel", name="uq_notify_outbox_delivery"),
    Index("ix_notify_outbox_due", "state", "channel", "next_attempt_at"),
    Index("ix_notify_outbox_jurisdiction", "jurisdiction"),
)
preferences = Table(
    "notify_preferences",
    ledger,
    Column("owner", String(120), primary_key=True),  # unit:<id> | deputy:<id> | user:<name>
    Column("muted", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

DDL_LOCK = 0x4E4F54494659  # "NOTIFY"


def dialect_of(tx: AsyncConnection) -> str:
    """The database of a transaction (SQLite's in-thread writer, ``InlineTx``, has no ``dialect``)."""
    d = getattr(tx, "dialect", None)
    return d.name if d is not None else "sqlite"


async def create_ledger(tx: AsyncConnection) -> None:
    if dialect_of(tx) == "postgresql":
        await tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK})
    await tx.run_sync(ledger.create_all)


def insert_ignore(table: Table, dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING on both databases."""
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    return mod.insert(table).on_conflict_do_nothing()


@functools.lru_cache(maxsize=128)
def upsert_statement(table: Table, dialect: str, keys: tuple[str, ...], columns: tuple[str, ...]) -> Any:
    """INSERT … ON CONFLICT (keys) DO UPDATE of ``columns``, on both databases, built once and run
    with the values as parameters, one row or many (statement building costs more than the row on a
    hot path). Only the given columns are set on a conflict."""
    mod: Any = postgresql if dialect == "postgresql" else sqlite
    stmt = mod.insert(table)
    set_ = {c: stmt.excluded[c] for c in columns if c not in keys}
    if not set_:
        return stmt.on_conflict_do_nothing(index_elements=list(keys))
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=set_)


@functools.lru_cache(maxsize=128)
def update_statement(table: Table, key: str, columns: tuple[str, ...]) -> Any:
    """``UPDATE table SET columns WHERE key = …`` built once; parameters ``key_`` and ``v_<column>``."""
    values = {c: bindparam(f"v_{c}", type_=table.c[c].type) for c in columns}
    return update(table).where(table.c[key] == bindparam("key_", type_=table.c[key].type)).values(values)
