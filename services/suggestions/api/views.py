"""What the API shows: one suggestion from its own events (always current), its history, a command's
answer; every time answered with the offset of ``RENDA_TIMEZONE`` (``local_times``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from libs.domain.times import local_iso
from libs.events.envelope import Envelope
from libs.events.store import Appended
from libs.web.deps import CommandContext
from services.suggestions.domain.state import Suggestion
from services.suggestions.events import (
    AttachmentAdded,
    ConsultationHeld,
    CoSubmittersAdded,
    DeadlineExtended,
    KeySupervisionSet,
    ReplyOverdue,
    SatisfactionEvaluated,
    SuggestionAcknowledged,
    SuggestionAssigned,
    SuggestionReplied,
    SuggestionReturned,
)


def suggestion_view(
    s: Suggestion,
    envelopes: list[Envelope],
    *,
    now: datetime,
    unit_names: dict[str, str],
    deputy_names: dict[str, str],
) -> dict[str, Any]:
    consultations: list[dict[str, Any]] = []
    replies: list[dict[str, Any]] = []
    evaluations: list[dict[str, Any]] = []
    extensions: list[dict[str, Any]] = []
    attachments: list[dict[str, Any]] = []
    overdue_raised: list[dict[str, Any]] = []
    returns: list[dict[str, Any]] = []
    merged_from: list[str] = []
    assignment: dict[str, Any] | None = None
    acknowledged_at = None
    key_supervision_reason = None
    for env in envelopes:
        e = env.data
        match e:
            case SuggestionAssigned():
                assignment = {
                    "responsible_leader": e.responsible_leader,
                    "handler": e.handler,
                    "assigned_at": e.assigned_at,
                    "return_by": e.return_by,
                }
                acknowledged_at = None
            case SuggestionAcknowledged():
                acknowledged_at = e.acknowledged_at
            case SuggestionReturned():
                returns.append({"unit_id": e.unit_id, "reason": e.reason, "returned_at": e.returned_at})
                assignment = None
            case ConsultationHeld():
                consultations.append(
                    {
                        "round": e.round,
                        "held_on": e.held_on,
                        "mode": e.mode,
                        "summary": e.summary,
                        "recorded_at": e.recorded_at,
                    }
                )
            case SuggestionReplied():
                replies.append(
                    {
                        "round": e.round,
                        "result": e.result,
                        "content": e.content,
                        "promised_by": e.promised_by,
                        "measures": e.measures,
                        "reason": e.reason,
                        "consultation_modes": list(e.consultation_modes),
                        "due_at": e.due_at,
                        "replied_at": e.replied_at,
                        "on_time": e.replied_at <= e.due_at,
                    }
                )
            case SatisfactionEvaluated():
                evaluations.append(
                    {
                        "round": e.round,
                        "deputy_id": e.deputy_id,
                        "satisfaction": e.satisfaction,
                        "comment": e.comment,
                        "evaluated_at": e.evaluated_at,
                    }
                )
            case DeadlineExtended():
                extensions.append(
                    {
                        "round": e.round,
                        "previous_due_at": e.previous_due_at,
                        "new_due_at": e.new_due_at,
                        "reason": e.reason,
                        "approved_by_role": e.approved_by_role,
                        "extended_at": e.extended_at,
                    }
                )
            case AttachmentAdded():
                attachments.append(
                    {
                        "attachment_id": e.attachment_id,
                        "filename": e.filename,
                        "content_type": e.content_type,
                        "sha256": e.sha256,
                        "size": e.size,
                        "added_at": e.added_at,
                    }
                )
            case ReplyOverdue():
                overdue_raised.append({"round": e.round, "due_at": e.due_at, "detected_at": e.detected_at})
            case KeySupervisionSet():
                key_supervision_reason = e.reason
            case CoSubmittersAdded():
                merged_from.append(e.merged_from)

    def unit(uid: str | None) -> dict[str, Any] | None:
        return None if uid is None else {"unit_id": uid, "name": unit_names.get(uid)}

    r = s.current_round
    return {
        "suggestion_id": s.id,
        "jurisdiction": s.jurisdiction,
        "township": s.jurisdiction,
        "title": s.title,
        "content": s.content,
        "category": s.category,
        "source": s.source,
        "source_id": s.source_id,
        "status": s.status,
        "deputy_ids": list(s.deputy_ids),
        "deputies": [{"deputy_id": d, "name": deputy_names.get(d), "lead": i == 0} for i, d in enumerate(s.deputy_ids)],
        "submitted_at": s.submitted_at,
        "round": r.number if r else None,
        "due_at": s.due_at,
        "overdue": s.overdue(now),
        "overdue_raised": overdue_raised,
        "complexity": s.complexity,
        "lead_unit": unit(s.lead_unit_id),
        "co_units": [unit(u) for u in s.co_unit_ids],
        "assignment": assignment,
        "acknowledged": s.acknowledged,
        "acknowledged_at": acknowledged_at,
        "return_by": s.return_by,
        "returns": returns,
        "consultations": consultations,
        "replies": replies,
        "evaluations": evaluations,
        "extensions": extensions,
        "promises": [
            {
                "round": p.round,
                "promised_by": p.promised_by,
                "measures": p.measures,
                "carried_out_on": p.carried_out_on,
                "superseded": p.superseded,
                "overdue_raised": p.overdue_raised,
            }
            for p in s.promises
        ],
        "key_supervision": s.key_supervision,
        "key_supervision_reason": key_supervision_reason,
        "unsatisfied": s.unsatisfied,
        "unsatisfied_justified": s.justified,
        "attachments": attachments,
        "closed_because": s.closed_because,
        "merged_into": s.merged_into,
        "merged_from": merged_from,
        "escalated_to": s.escalated_to,
        # 退回修改: while the lead deputy has not revised it, else null (each request and revision: the history)
        "revision": (
            None
            if s.revision_requested_at is None
            else {"requested_at": s.revision_requested_at, "reason": s.revision_reason}
        ),
    }


def history_item(env: Envelope) -> dict[str, Any]:
    return {
        "sequence": env.sequence,
        "event_id": env.id,
        "type": env.type,
        "version": env.version,
        "occurred_at": env.occurred_at,
        "actor": {"subject": env.actor.subject, "role": env.actor.role},
        "correlation_id": env.correlation_id,
        "causation_id": env.causation_id,
        "hash": env.hash,
        # As this version of the service reads the event (upcast), its times in RENDA_TIMEZONE (``local_times``).
        "data": env.data.model_dump(),
    }


def local_times(value: Any) -> Any:
    """``value`` with every ``datetime`` in it as ISO-8601 text in the configured zone (``+08:00``)."""
    if isinstance(value, datetime):
        return local_iso(value)
    if isinstance(value, dict):
        return {k: local_times(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [local_times(v) for v in value]
    return value


def summary(s: Suggestion, now: datetime) -> dict[str, Any]:
    r = s.current_round
    return {
        "suggestion_id": s.id,
        "status": s.status,
        "round": r.number if r else None,
        "due_at": local_iso(s.due_at),
        "overdue": s.overdue(now),
        "lead_unit_id": s.lead_unit_id,
        "closed_because": s.closed_because,
    }


def answer(ctx: CommandContext, *done: Appended[Suggestion]) -> dict[str, Any]:
    """A command's answer: the suggestion's summary; the stream positions for read-your-writes."""
    for d in done:
        ctx.answered(d)
    return summary(done[0].loaded.state, ctx.meta.now)
