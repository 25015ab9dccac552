"""Read models of the meetings context, one module per aggregate (tables prefixed ``meetings_``).

- ``meetings``: the ``meetings-index`` projection (meetings, invitees; review opinions from
  ``review_opinions``);
- ``joint_inspections``: the ``meetings-joint-progress`` projection;
- ``reference``: other contexts' facts (deputies, organizer units) kept in this service's tables.
"""

from services.meetings.projections.joint_inspections import (
    JointInspectionProgress,
    joint,
    joint_findings,
    joint_opinions,
    joint_suggestions,
    joint_townships,
)
from services.meetings.projections.meetings import MeetingsIndex, invitees, meetings
from services.meetings.projections.reference import OrganizerUnits, ref, reference, units
from services.meetings.projections.review_opinions import opinions
from services.meetings.projections.storage import from_text, utc_text

__all__ = [
    "JointInspectionProgress",
    "MeetingsIndex",
    "OrganizerUnits",
    "from_text",
    "invitees",
    "joint",
    "joint_findings",
    "joint_opinions",
    "joint_suggestions",
    "joint_townships",
    "meetings",
    "opinions",
    "ref",
    "reference",
    "units",
    "utc_text",
]
