"""Command handlers of the meetings context, one module per aggregate: load, check access, gather
facts, decide, append. Every handler is ``handler(command, context)``.

Facts the domain needs but may not look up itself (who the members are as of the meeting
date, whether a body is a street, whether a named id exists and is visible) come from this
service's own read models (``facts``), never from a number typed in by the caller.
"""

from services.meetings.commands.facts import meeting_date, members_of
from services.meetings.commands.joint_inspections import launch_joint_inspection, record_finding
from services.meetings.commands.meetings import (
    adjourn_meeting,
    cancel_meeting,
    change_meeting,
    convene_meeting,
    hold_vote,
    record_attendance,
    record_speech,
    schedule_meeting,
)
from services.meetings.commands.path import (
    FEEDBACK_ROLES,
    ORGANISERS,
    joint_visible,
    meeting_scope,
    new_id,
    opinion_scope,
    require_id,
    require_meeting_visible,
)
from services.meetings.commands.review_opinions import answer_review_opinion, send_review_opinion

__all__ = [
    "FEEDBACK_ROLES",
    "ORGANISERS",
    "adjourn_meeting",
    "answer_review_opinion",
    "cancel_meeting",
    "change_meeting",
    "convene_meeting",
    "hold_vote",
    "joint_visible",
    "launch_joint_inspection",
    "meeting_date",
    "meeting_scope",
    "members_of",
    "new_id",
    "opinion_scope",
    "record_attendance",
    "record_finding",
    "record_speech",
    "require_id",
    "require_meeting_visible",
    "schedule_meeting",
    "send_review_opinion",
]
