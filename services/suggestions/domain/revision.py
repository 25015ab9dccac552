"""Send back for revision (退回修改) and the lead deputy's revision: the 三关 review before assignment.

Before assigning, the presidium's staff (a street's suggestion: county staff) check a submitted
suggestion against the "三关" of the seeds — law (法律法规关), content (内容质量关) and form
(文字格式关) — and may send it back to its deputies with a reason. While it is sent back it stays
``submitted`` but cannot be assigned; the lead deputy revises it (title, content, category) and
it is back in the staff's queue.

The legal clock is untouched: domain.md counts the reply deadline "from the assignment date",
so neither sending back nor revising starts, stops or moves any deadline (none runs before
assignment) and ``submitted_at`` stays the original submission.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from libs.events.event import Event
from services.suggestions.domain import rules
from services.suggestions.domain.commands import ReviseSuggestion, SendBackSuggestion
from services.suggestions.domain.errors import (
    InvalidInput,
    NotForStreet,
    NotLeadDeputyToRevise,
    RevisionNotRequested,
    RevisionPending,
    SuggestionNotFound,
)
from services.suggestions.domain.state import Suggestion, require, text
from services.suggestions.events import SuggestionRevised, SuggestionSentBack

STREET_REFUSAL = "街道人大工委不审查、不交办建议；退回代表修改由区人大常委会负责。"


def require_not_sent_back(s: Suggestion, action: str, tz: ZoneInfo) -> None:
    """A suggestion sent back for revision waits for its lead deputy: no assignment meanwhile (409)."""
    if s.revision_requested_at is not None:
        on = rules.local_date(s.revision_requested_at, tz).isoformat()
        raise RevisionPending(action, requested_on=on)


def decide_send_back(
    s: Suggestion, c: SendBackSuggestion, *, now: datetime, is_street: bool, actor_role: str, tz: ZoneInfo
) -> list[Event]:
    """Only a submitted suggestion not yet sent back; by those who assign it (the street rule first)."""
    if is_street and actor_role != rules.STREET_ACTOR:
        raise NotForStreet(STREET_REFUSAL)
    require(s, ("submitted",), "send_back")
    require_not_sent_back(s, "send_back", tz)
    reason = text(c.reason, "reason", "请写明退回修改的理由（例如法律依据、内容或文字格式方面需修改之处）。")
    return [
        SuggestionSentBack(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            reason=reason,
            sent_back_by_role=actor_role,
            sent_back_at=now,
        )
    ]


def decide_revise(s: Suggestion, c: ReviseSuggestion, *, deputy_id: str | None, now: datetime) -> list[Event]:
    """The lead deputy's own login revises; only the fields that change are recorded.

    Revising with no change is allowed: the deputy may resubmit as it was, after talking it over.
    """
    if s.status == "new":
        raise SuggestionNotFound()
    if deputy_id is None or deputy_id != s.lead_deputy_id:
        raise NotLeadDeputyToRevise()
    if s.status != "submitted" or s.revision_requested_at is None:
        raise RevisionNotRequested(s.status)
    title = None if c.title is None else text(c.title, "title", "建议标题不能为空。")
    content = None if c.content is None else text(c.content, "content", "建议内容不能为空。")
    category = None if c.category is None else c.category.strip()
    if title is not None and len(title) > 300:
        raise InvalidInput("title", "建议标题不能超过 300 字。")
    return [
        SuggestionRevised(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            deputy_id=deputy_id,
            title=None if title == s.title else title,
            content=None if content == s.content else content,
            category=None if category == s.category else category,
            revised_at=now,
        )
    ]
