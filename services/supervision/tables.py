"""Tables of the joint-supervision read models (prefixed ``supervision_``: one database may hold
every service's tables).

Every fact carries the time it became true (the event's time) and, where it can stop being true,
the time it stopped (``valid_to``, a status left; ``withdrawn_at``, a round handed back;
``superseded_at``, a promise replaced). A view "as of the end of day D" therefore reads the same
rows as the live view, with one more condition, and never replays a stream.

Times are UTC ISO-8601 text of one fixed width (text order is time order on SQLite and PostgreSQL
alike); dates are ISO dates.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text

from libs.db.instants import from_text, utc_text

__all__ = ["from_text", "utc_text"]  # the one storage convention of times (libs/db/instants)


def row_date(value: str | date) -> date:
    """A date column that is never empty."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def from_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


# -- suggestions ----------------------------------------------------------------------------------
suggestion_metadata = MetaData()
units = Table(
    "supervision_units",
    suggestion_metadata,
    Column("unit_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(60), nullable=False),
    Column("head", String(100), nullable=False),
    Column("deputy_head", String(100), nullable=False),
    Column("known_at", String(40), nullable=True),  # when it was registered (a past view leaves later ones out)
)
suggestions = Table(
    "supervision_suggestions",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("title", String(300), nullable=False),
    Column("category", String(100), nullable=False),
    Column("source", String(30), nullable=False),
    Column("source_id", String(64), nullable=True, index=True),
    Column("deputy_ids", JSON, nullable=False),  # lead first
    Column("submitted_at", String(40), nullable=False),
    Column("submitted_year", Integer, nullable=False),  # local year of submission
    Column("status", String(12), nullable=False),
    Column("lead_unit_id", String(64), nullable=True),
    Column("co_unit_ids", JSON, nullable=False),
    Column("complexity", String(10), nullable=True),
    Column("responsible_leader", String(100), nullable=True),
    Column("assigned_at", String(40), nullable=True),
    Column("key_supervision", Boolean, nullable=False),
    Column("closed_because", String(12), nullable=True),
    Column("link", String(64), nullable=True),  # merged into / escalated to
)
# One row per status a suggestion held, from ``valid_from`` until ``valid_to`` (NULL: still).
statuses = Table(
    "supervision_statuses",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("valid_from", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True),  # the event's sequence in its aggregate
    Column("jurisdiction", String(12), nullable=False),
    Column("submitted_year", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("valid_to", String(40), nullable=True),
    Index("ix_supervision_statuses_open", "jurisdiction", "valid_to"),
)
# Handling rounds: the first (assignment) and each re-handling.
rounds = Table(
    "supervision_rounds",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("opened_at", String(40), primary_key=True),  # a re-assignment after 退办 opens round 1 again
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False, index=True),
    Column("first_due_at", String(40), nullable=False),
    Column("due_at", String(40), nullable=False),  # after every extension so far
    Column("replied_at", String(40), nullable=True),
    Column("withdrawn_at", String(40), nullable=True),  # 退办: the round never counts from then on
)
extensions = Table(
    "supervision_extensions",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("extended_at", String(40), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("new_due_at", String(40), nullable=False),
)
replies = Table(
    "supervision_replies",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("replied_at", String(40), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False),
    Column("result", String(1), nullable=False),
    Column("consultation_modes", JSON, nullable=False),
)
evaluations = Table(
    "supervision_evaluations",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("evaluated_at", String(40), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False),
    Column("satisfaction", String(24), nullable=False),
)
promises = Table(
    "supervision_promises",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("made_at", String(40), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("lead_unit_id", String(64), nullable=False),
    Column("promised_by", String(10), nullable=False),
    Column("carried_out_on", String(10), nullable=True),
    Column("carried_out_at", String(40), nullable=True),  # when it was recorded
    Column("superseded_at", String(40), nullable=True),  # a later reply replaced it unkept
)
justified = Table(
    "supervision_justified",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Column("justified_at", String(40), nullable=False),
)
# Each suggestion's history for the drill-down: who did what, when.
history = Table(
    "supervision_history",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("sequence", Integer, primary_key=True),
    Column("type", String(60), nullable=False),
    Column("occurred_at", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("data", JSON, nullable=False),
)
# Who submitted what, on which local date (deputies' activity).
submitters = Table(
    "supervision_submitters",
    suggestion_metadata,
    Column("suggestion_id", String(64), primary_key=True),
    Column("deputy_id", String(64), primary_key=True),
    Column("submitted_on", String(10), nullable=False),
    Column("known_at", String(40), nullable=False),
    Column("jurisdiction", String(12), nullable=False, index=True),
    Index("ix_supervision_submitters_latest", "deputy_id", "submitted_on", "known_at"),
)

# -- meetings -------------------------------------------------------------------------------------
meeting_metadata = MetaData()
meetings = Table(
    "supervision_meetings",
    meeting_metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("kind", String(30), nullable=False),
    Column("body", String(12), nullable=False, index=True),
    Column("group_id", String(64), nullable=True),
    Column("title", String(300), nullable=False),
    Column("starts_at", String(40), nullable=False),
    Column("ends_at", String(40), nullable=False),
    Column("scheduled_at", String(40), nullable=False),
    Column("convened_at", String(40), nullable=True),
    Column("adjourned_at", String(40), nullable=True),
    Column("cancelled_at", String(40), nullable=True),
    Column("joint_inspection_id", String(64), nullable=True, index=True),
)
# Attendance as recorded (present only matters for activity), with the local date of the meeting.
presence = Table(
    "supervision_presence",
    meeting_metadata,
    Column("meeting_id", String(64), primary_key=True),
    Column("deputy_id", String(64), primary_key=True),
    Column("body", String(12), nullable=False, index=True),
    Column("on_date", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("known_at", String(40), nullable=False),
    Index("ix_supervision_presence_latest", "deputy_id", "status", "on_date", "known_at"),
)
review_opinions = Table(
    "supervision_review_opinions",
    meeting_metadata,
    Column("review_opinion_id", String(64), primary_key=True),
    Column("meeting_id", String(64), nullable=False),
    Column("body", String(12), nullable=False, index=True),
    Column("to_unit_id", String(64), nullable=False),
    Column("content", Text, nullable=False),
    Column("sent_at", String(40), nullable=False),
    Column("due_at", String(40), nullable=False),
    Column("answered_at", String(40), nullable=True),
)
joint_inspections = Table(
    "supervision_joint_inspections",
    meeting_metadata,
    Column("joint_inspection_id", String(64), primary_key=True),
    Column("county", String(12), nullable=False, index=True),
    Column("theme", String(300), nullable=False),
    Column("law", String(300), nullable=True),
    Column("window_start", String(10), nullable=False),
    Column("window_end", String(10), nullable=False),
    Column("requirements", Text, nullable=False),
    Column("steps", JSON, nullable=False),
    Column("launched_at", String(40), nullable=False),
)
joint_townships = Table(
    "supervision_joint_townships",
    meeting_metadata,
    Column("joint_inspection_id", String(64), primary_key=True),
    Column("township", String(12), primary_key=True),
    Column("meeting_id", String(64), nullable=False, index=True),
)
findings = Table(
    "supervision_findings",
    meeting_metadata,
    Column("finding_id", String(64), primary_key=True),
    Column("joint_inspection_id", String(64), nullable=False, index=True),
    Column("township", String(12), nullable=False),
    Column("description", Text, nullable=False),
    Column("unit_id", String(64), nullable=True),
    Column("recorded_at", String(40), nullable=False),
)

# -- deputies' duty activities ----------------------------------------------------------------------
duty_metadata = MetaData()
activities = Table(
    "supervision_activities",
    duty_metadata,
    # in the order of recording, the activity's id a deferred unique index (as deputies_activities)
    Column("row_id", Integer, primary_key=True),
    Column("activity_id", String(64), nullable=False),
    Column("deputy_id", String(64), nullable=False),
    Column("township", String(12), nullable=True, index=True),
    Column("kind", String(30), nullable=False),
    Column("on_date", String(10), nullable=False),
    Column("people_count", Integer, nullable=False),
    Column("report_mode", String(10), nullable=True),
    Column("known_at", String(40), nullable=False),
    # covering the reads of the view: each deputy's latest activity, and reports to voters
    Index("ix_supervision_activities_latest", "deputy_id", "on_date", "known_at"),
    Index("ix_supervision_activities_reports", "kind", "deputy_id", "on_date"),
    Index("ux_supervision_activities_activity_id", "activity_id", unique=True),
)
# When each jurisdiction, deputy and group became known to the view, and when a deputy's
# termination was recorded (``ended_at``; effective ``ended_on``): the past shows what was known then.
known = Table(
    "supervision_known",
    duty_metadata,
    Column("kind", String(12), primary_key=True),  # jurisdiction | deputy | group
    Column("id", String(64), primary_key=True),
    Column("known_at", String(40), nullable=False),
    Column("ended_at", String(40), nullable=True),
    Column("ended_on", String(10), nullable=True),
)
