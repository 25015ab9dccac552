"""Command handlers of the presidium and the county committee: extension, key supervision, the
"justified" mark, merge (并案), escalation (向上反映), and attachments. Same shape as ``suggestions.py``."""

from __future__ import annotations

import uuid
from dataclasses import replace

import structlog

from libs.auth.access import Access
from libs.events.store import Appended
from services.suggestions.commands.context import (
    ASSIGNING,
    STAFF_ACTORS,
    Context,
    done,
    handle,
    role_check,
    scope_of,
    see_check,
)
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AddAttachment,
    EscalateSuggestion,
    ExtendDeadline,
    JustifyUnsatisfied,
    MergeSuggestion,
    SetKeySupervision,
)
from services.suggestions.domain.errors import SuggestionNotFound, UnknownReference
from services.suggestions.domain.state import SUGGESTION, Suggestion

log = structlog.get_logger("suggestions")
ATTACH_NS = uuid.UUID("2f3e4c5d-6a7b-4c8d-9e0f-a1b2c3d4e5f6")


# -- the presidium and the county committee -----------------------------------------------------
async def extend_deadline(c: ExtendDeadline, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*ASSIGNING),
        lambda s, street: sg.decide_extend(s, c, now=ctx.meta.now, is_street=street, actor_role=ctx.role),
    )


async def set_key_supervision(c: SetKeySupervision, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*ASSIGNING),
        lambda s, street: sg.decide_key_supervision(s, c, now=ctx.meta.now, is_street=street, actor_role=ctx.role),
    )


async def justify_unsatisfied(c: JustifyUnsatisfied, ctx: Context) -> Appended[Suggestion]:
    return await handle(
        ctx,
        c.suggestion_id,
        role_check(*STAFF_ACTORS),
        lambda s, _: sg.decide_justify_unsatisfied(s, c, now=ctx.meta.now),
    )


async def merge_suggestion(c: MergeSuggestion, ctx: Context) -> tuple[Appended[Suggestion], Appended[Suggestion]]:
    """并案: the merged one closes with its link, then its deputies join the target (each append guarded).

    ``into_id`` must name a suggestion the caller sees: an unknown and an unseen one get the same
    422 naming ``into_id``. A retry with the same command id finds the first append done and
    completes the second.
    """
    rt, meta, principal = ctx.rt, ctx.meta, ctx.principal
    source = await rt.store.load(SUGGESTION, c.suggestion_id)
    if principal is not None:
        access = Access(principal)
        access.require(scope_of(source.state, False), STAFF_ACTORS)
    elif not source.exists:
        raise SuggestionNotFound()
    target = await rt.store.load(SUGGESTION, c.into_id) if c.into_id != c.suggestion_id else source
    seen = target.exists and (principal is None or Access(principal).sees(scope_of(target.state, False)))  # type: ignore[arg-type]
    if source.applied(meta.command_id):
        first = done(source)
    else:
        if not seen:
            raise UnknownReference("into_id", "建议")
        first = await rt.store.append(source, sg.decide_merge(source.state, c, target=target.state, now=meta.now), meta)
    target = await rt.store.load(SUGGESTION, c.into_id)
    if target.applied(meta.command_id):
        return first, done(target)
    events = sg.decide_receive_merge(target.state, first.loaded.state, now=meta.now)
    return first, await rt.store.append(target, events, meta)


async def escalate_suggestion(c: EscalateSuggestion, ctx: Context) -> tuple[Appended[Suggestion], Appended[Suggestion]]:
    """向上反映: the original closes as escalated, then the linked county-level suggestion is submitted.

    The county suggestion's id derives from the command id, so a retry completes the same one.
    """
    meta = ctx.meta
    county_id = c.escalated_to or str(uuid.uuid5(ATTACH_NS, f"escalate/{meta.command_id}"))
    c = replace(c, escalated_to=county_id)
    first = await handle(
        ctx,
        c.suggestion_id,
        role_check(*STAFF_ACTORS),
        lambda s, street: sg.decide_escalate(s, c, now=meta.now, is_street=street),
    )
    original = first.loaded.state
    target_id = original.escalated_to or county_id
    submission = sg.escalated_submission(original, escalated_to=target_id)
    second = await ctx.store.execute(
        SUGGESTION,
        target_id,
        lambda loaded: (
            [] if loaded.exists else sg.decide_submit(loaded.state, submission, now=meta.now, is_street=False)
        ),
        meta,
        jurisdiction=submission.jurisdiction,
    )
    log.info("suggestion.escalated", suggestion_id=c.suggestion_id, county_suggestion_id=target_id)
    return first, second


async def add_attachment(c: AddAttachment, ctx: Context) -> Appended[Suggestion]:
    """Record a stored file (see ``attachments.py``); anyone who sees the suggestion may attach.

    ``c.attachment_id`` "" is derived from the command id and the content (the same on a retry).
    """
    if not c.attachment_id:
        c = replace(c, attachment_id=attachment_id_of(ctx, c.sha256))
    return await handle(ctx, c.suggestion_id, see_check, lambda s, _: sg.decide_attachment(s, c, now=ctx.meta.now))


def attachment_id_of(ctx: Context, sha256: str) -> str:
    return str(uuid.uuid5(ATTACH_NS, f"{ctx.meta.command_id}/{sha256}"))
