"""Tables of the suggestions read models (prefixed ``suggestions_``: services may share one database).

Times are stored as UTC ISO-8601 text of one fixed width, so text order is time order on SQLite
and PostgreSQL alike; dates as ISO dates.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from libs.db.instants import from_text, utc_text

__all__ = ["from_text", "utc_text"]  # the one storage convention of times (libs/db/instants)


def from_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


# -- organizer units, suggestions, opinions (the lists) -------------------------------------------
list_metadata = MetaData()
units = Table(
    "suggestions_units",
    list_metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("head", String(100), nullable=False),  # "" when not given
    Column("deputy_head", String(100), nullable=False),
    Column("supervising_department", String(200), nullable=False, default=""),
    Column("registered_at", String(40), nullable=False),
)
suggestions = Table(
    "suggestions_suggestions",
    list_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("title", String(300), nullable=False),
    Column("category", String(100), nullable=False, default=""),
    Column("source", String(30), nullable=False),
    Column("source_id", String(64), nullable=True),
    Column("submitted_during", String(10), nullable=False),
    Column("status", String(12), nullable=False, index=True),
    Column("deputy_ids", JSON, nullable=False),  # lead first
    Column("lead_unit_id", String(64), nullable=True, index=True),
    Column("co_unit_ids", JSON, nullable=False),
    Column("complexity", String(10), nullable=True),
    Column("round", Integer, nullable=False, default=0),
    Column("due_at", String(40), nullable=True, index=True),  # the current round's deadline
    Column("ever_assigned", Boolean, nullable=False, default=False),
    Column("acknowledged", Boolean, nullable=False, default=False),
    Column("overdue_raised", Boolean, nullable=False, default=False),  # ReplyOverdue for the current due_at
    Column("consultations", Integer, nullable=False, default=0),
    Column("latest_result", String(1), nullable=True),
    Column("latest_satisfaction", String(24), nullable=True),
    Column("key_supervision", Boolean, nullable=False, default=False),
    Column("justified", Boolean, nullable=False, default=False),
    Column("closed_because", String(12), nullable=True),
    Column("merged_into", String(64), nullable=True),
    Column("escalated_to", String(64), nullable=True),
    Column("revision_requested_at", String(40), nullable=True),  # 退回修改, not revised yet (else null)
    Column("revision_reason", Text, nullable=True),
    Column("submitted_at", String(40), nullable=False, index=True),
    Column("assigned_at", String(40), nullable=True),
    Column("closed_at", String(40), nullable=True),
)
# Who may see a suggestion in a list: its deputies (lead and co-submitters) and its units.
suggestion_deputies = Table(
    "suggestions_suggestion_deputies",
    list_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("deputy_id", String(64), primary_key=True, index=True),
)
suggestion_units = Table(
    "suggestions_suggestion_units",
    list_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("unit_id", String(64), primary_key=True, index=True),
    Column("lead", Boolean, nullable=False),
)
opinions = Table(
    "suggestions_opinions",
    list_metadata,
    Column("opinion_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("deputy_id", String(64), nullable=False, index=True),
    Column("on", String(10), nullable=False),
    Column("place", String(300), nullable=False),
    Column("content", Text, nullable=False),
    Column("people_count", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("suggestion_id", String(64), nullable=True),
    Column("answer", Text, nullable=True),
    Column("recorded_at", String(40), nullable=False),
)

# -- the due index of the deadline watcher -------------------------------------------------------
due_metadata = MetaData()
due = Table(
    "suggestions_due",
    due_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("kind", String(40), primary_key=True),  # reply_overdue | reply_reminder:<lead> | promise_overdue
    Column("due_at", String(40), primary_key=True),
    Column("round", Integer, nullable=False),
    Column("started_at", String(40), nullable=True),  # the round's start (reminders after an extension)
    Column("settled", Boolean, nullable=False, default=False),
    # Where the suggestion lives: the watcher loads it from its subject without asking the locator.
    Column("jurisdiction", String(12), nullable=True),
    Index("ix_suggestions_due_open", "settled", "due_at"),
)

# -- facts the rates are computed from (libs/figures/rates.py counts them) -----------------------------
rates_metadata = MetaData()
rate_rounds = Table(
    "suggestions_rate_rounds",
    rates_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False, index=True),
    Column("due_at", String(40), nullable=False),
    Column("replied_at", String(40), nullable=True),
)
rate_replies = Table(
    "suggestions_rate_replies",
    rates_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False, index=True),
    Column("result", String(1), nullable=False),
    Column("replied_at", String(40), nullable=False),
    Column("consultation_modes", JSON, nullable=False),
)
rate_evaluations = Table(
    "suggestions_rate_evaluations",
    rates_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False, index=True),
    Column("satisfaction", String(24), nullable=False),
    Column("evaluated_at", String(40), nullable=False),
)
rate_promises = Table(
    "suggestions_rate_promises",
    rates_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False, index=True),
    Column("promised_by", String(10), nullable=False),
    Column("carried_out_on", String(10), nullable=True),
    Column("superseded", Boolean, nullable=False, default=False),
)
rate_justified = Table(
    "suggestions_rate_justified",
    rates_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
)
