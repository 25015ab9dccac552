"""Decisions of the presidium and the county committee on a suggestion, and its attachments.

Extension (延期), key supervision (重点督办), merge (并案), escalation to the county (向上反映),
the "justified" mark of an unsatisfied result, and attachments. For a street's suggestion,
extension and key supervision belong to county staff only (the caller passes ``is_street``
and the actor's role).
"""

from __future__ import annotations

import re
from datetime import datetime

from libs.events.event import Event
from services.suggestions.domain import rules
from services.suggestions.domain.commands import (
    AddAttachment,
    EscalateSuggestion,
    ExtendDeadline,
    JustifyUnsatisfied,
    MergeSuggestion,
    SetKeySupervision,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import (
    InvalidInput,
    MergeTargetInvalid,
    NotForStreet,
    NotUnsatisfied,
    SuggestionNotFound,
    WrongTransition,
)
from services.suggestions.domain.state import OPEN, Status, Suggestion, require, text
from services.suggestions.events import (
    AttachmentAdded,
    CoSubmittersAdded,
    DeadlineExtended,
    KeySupervisionSet,
    SuggestionClosed,
    SuggestionEscalated,
    SuggestionMerged,
    UnsatisfiedJustified,
)

NOT_CLOSED: tuple[Status, ...] = ("submitted", "assigned", "replied", "rehandling")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def decide_extend(s: Suggestion, c: ExtendDeadline, *, now: datetime, is_street: bool, actor_role: str) -> list[Event]:
    """Extension with the presidium's or the standing committee's approval, and a reason."""
    rules.check_street(is_street, actor_role)  # who acts, before what state
    require(s, OPEN, "extend")
    r = s.current_round
    assert r is not None
    reason = text(c.reason, "reason", "请填写延期理由。")
    if c.new_due_at.tzinfo is None:
        raise InvalidInput("new_due_at", "新的答复期限须带时区（例如 2026-05-01T17:00:00+08:00）。")
    if c.new_due_at <= r.due_at or c.new_due_at <= now:
        raise InvalidInput("new_due_at", "新的答复期限须晚于现有期限，也须晚于现在。")
    return [
        DeadlineExtended(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            unit_id=s.lead_unit_id or "",
            round=r.number,
            previous_due_at=r.due_at,
            new_due_at=c.new_due_at,
            reason=reason,
            approved_by_role=actor_role,
            extended_at=now,
        )
    ]


def decide_key_supervision(
    s: Suggestion, c: SetKeySupervision, *, now: datetime, is_street: bool, actor_role: str
) -> list[Event]:
    """Setting key supervision twice changes nothing."""
    if s.status == "new":
        raise SuggestionNotFound()
    rules.check_street(is_street, actor_role)
    if s.key_supervision:
        return []
    require(s, NOT_CLOSED, "key_supervision")
    reason = text(c.reason, "reason", "请填写列为重点督办的理由。")
    return [
        KeySupervisionSet(
            suggestion_id=s.id, jurisdiction=s.jurisdiction, reason=reason, set_by_role=actor_role, set_at=now
        )
    ]


def decide_merge(s: Suggestion, c: MergeSuggestion, *, target: Suggestion, now: datetime) -> list[Event]:
    """The merged suggestion is closed as merged and keeps its link (decided on ``s``)."""
    require(s, NOT_CLOSED, "merge")
    reason = text(c.reason, "reason", "请填写并案理由。")
    if target.id != c.into_id or target.id == s.id:
        raise MergeTargetInvalid(into_id=c.into_id)
    if target.status in ("new", "closed") or target.jurisdiction != s.jurisdiction:
        raise MergeTargetInvalid(into_id=c.into_id)
    return [
        SuggestionMerged(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            into_id=target.id,
            deputy_ids=s.deputy_ids,
            reason=reason,
            merged_at=now,
        ),
        SuggestionClosed(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            because="merged",
            merged_into=target.id,
            closed_at=now,
        ),
    ]


def decide_receive_merge(target: Suggestion, merged: Suggestion, *, now: datetime) -> list[Event]:
    """On the target: the merged suggestion's deputies become co-submitters (none new: nothing)."""
    if target.status in ("new", "closed") or merged.merged_into != target.id:
        raise MergeTargetInvalid(into_id=target.id)
    new = tuple(d for d in merged.deputy_ids if d not in target.deputy_ids)
    if not new:
        return []
    return [
        CoSubmittersAdded(
            suggestion_id=target.id,
            jurisdiction=target.jurisdiction,
            deputy_ids=new,
            merged_from=merged.id,
            added_at=now,
        )
    ]


def decide_escalate(s: Suggestion, c: EscalateSuggestion, *, now: datetime, is_street: bool) -> list[Event]:
    """A township suggestion beyond its powers goes to the county; the original closes as escalated."""
    require(s, NOT_CLOSED, "escalate")
    if is_street:
        raise NotForStreet("街道的建议本就由区人大常委会交办，无需向上反映。")
    if len(s.jurisdiction) != 9:
        raise WrongTransition(s.status, "escalate")
    reason = text(c.reason, "reason", "请说明向上反映的理由（例如超出乡镇职权）。")
    target = text(c.escalated_to, "escalated_to", "缺少县级建议的编号。")
    if target == s.id:
        raise InvalidInput("escalated_to", "县级建议须是另一件建议。")
    county = s.jurisdiction[:6]
    return [
        SuggestionEscalated(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            county=county,
            escalated_to=target,
            reason=reason,
            escalated_at=now,
        ),
        SuggestionClosed(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            because="escalated",
            escalated_to=target,
            closed_at=now,
        ),
    ]


def escalated_submission(s: Suggestion, *, escalated_to: str) -> SubmitSuggestion:
    """The county-level suggestion that continues an escalated one, linked to it."""
    return SubmitSuggestion(
        suggestion_id=escalated_to,
        jurisdiction=s.jurisdiction[:6],
        title=s.title,
        content=s.content,
        deputy_ids=s.deputy_ids,
        category=s.category,
        submitted_during="recess",
        source="escalation",
        source_id=s.id,
    )


def decide_justify_unsatisfied(s: Suggestion, c: JustifyUnsatisfied, *, now: datetime) -> list[Event]:
    """Staff leave a justified unsatisfied result out of the unit's yearly count; twice changes nothing."""
    if s.status == "new":
        raise SuggestionNotFound()
    if not s.unsatisfied:
        raise NotUnsatisfied()
    if s.justified:
        return []
    reason = text(c.reason, "reason", "请填写认定不满意有正当理由的依据。")
    return [
        UnsatisfiedJustified(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            lead_unit_id=s.lead_unit_id or "",
            reason=reason,
            justified_at=now,
        )
    ]


def decide_attachment(s: Suggestion, c: AddAttachment, *, now: datetime) -> list[Event]:
    """A content-addressed file (reply letter, photo, minutes); the same attachment twice: nothing."""
    if s.status == "new":
        raise SuggestionNotFound()
    if c.attachment_id in s.attachment_ids:
        return []
    filename = text(c.filename, "filename", "请提供文件名。")
    digest = c.sha256.strip().lower()
    if not SHA256.match(digest):
        raise InvalidInput("sha256", "附件的 SHA-256 摘要无效。")
    if c.size < 0:
        raise InvalidInput("size", "附件大小无效。")
    return [
        AttachmentAdded(
            suggestion_id=s.id,
            jurisdiction=s.jurisdiction,
            attachment_id=c.attachment_id,
            filename=filename,
            content_type=c.content_type or "application/octet-stream",
            sha256=digest,
            size=c.size,
            added_at=now,
        )
    ]
