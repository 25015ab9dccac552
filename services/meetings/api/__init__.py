"""HTTP routes of the meetings context, one module per aggregate: parse, authorise, call, answer.
No rules, no SQL.

Static paths (compliance, review opinions, joint inspections) are included before the routes of
``/{meeting_id}``, so they are never taken for a meeting id.
"""

from fastapi import APIRouter

from services.meetings.api import compliance, joint_inspections, meetings, review_opinions

PREFIX = "/api/meetings"
router = APIRouter()
for part in (meetings.router, compliance.router, review_opinions.router, joint_inspections.router, meetings.one):
    router.include_router(part, prefix=PREFIX, tags=["会议与活动"])

__all__ = ["router"]
