"""Reads of the meetings context, always scoped to the caller (foreign records: 404, never listed),
one module per aggregate; every time answered in ``RENDA_TIMEZONE`` with its offset."""

from services.meetings.queries.compliance import compliance, deputy_names
from services.meetings.queries.joint_inspections import joint_key, joint_progress, list_joint_inspections
from services.meetings.queries.meetings import list_meetings, meeting_detail, meeting_key
from services.meetings.queries.review_opinions import list_review_opinions, opinion_key, review_opinion

__all__ = [
    "compliance",
    "deputy_names",
    "joint_key",
    "joint_progress",
    "list_joint_inspections",
    "list_meetings",
    "list_review_opinions",
    "meeting_detail",
    "meeting_key",
    "opinion_key",
    "review_opinion",
]
