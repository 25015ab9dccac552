"""Command handlers of the presidium and the county committee: extension, key supervision, the
"justified" mark, merge (并案), escalation (向上反映), and attachments. Same shape as ``commands.py``."""

from __future__ import annotations

import uuid
from dataclasses import replace

import structlog

from libs.auth.access import Access
from libs.auth.actor import Principal
from libs.events.store import Appended, CommandMeta
from libs.service.runtime import ServiceRuntime
from services.suggestions.commands import (
    ATTACH_NS,
    STAFF_ACTORS,
    check_assigner,
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
from services.suggestions.domain.errors import SuggestionNotFound
from services.suggestions.domain.state import SUGGESTION, Suggestion

log = structlog.get_logger("suggestions")


# -- the presidium and the county committee -----------------------------------------------------
async def extend_deadline(
    rt: ServiceRuntime,
    c: ExtendDeadline,
    meta: CommandMeta,
    principal: Principal | None = None,
    *,
    actor_role: str | None = None,
) -> Appended[Suggestion]:
    role = actor_role or (principal.role if principal is not None else meta.actor.role)
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        check_assigner,
        lambda s, street: sg.decide_extend(s, c, now=meta.now, is_street=street, actor_role=role),
    )


async def set_key_supervision(
    rt: ServiceRuntime,
    c: SetKeySupervision,
    meta: CommandMeta,
    principal: Principal | None = None,
    *,
    actor_role: str | None = None,
) -> Appended[Suggestion]:
    role = actor_role or (principal.role if principal is not None else meta.actor.role)
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        check_assigner,
        lambda s, street: sg.decide_key_supervision(s, c, now=meta.now, is_street=street, actor_role=role),
    )


async def justify_unsatisfied(
    rt: ServiceRuntime, c: JustifyUnsatisfied, meta: CommandMeta, principal: Principal | None = None
) -> Appended[Suggestion]:
    return await handle(
        rt,
        c.suggestion_id,
        meta,
        principal,
        role_check(*STAFF_ACTORS),
        lambda s, _: sg.decide_justify_unsatisfied(s, c, now=meta.now),
    )


async def merge_suggestion(
    rt: ServiceRuntime, c: MergeSuggestion, meta: CommandMeta, principal: Principal | None = None
) -> tuple[Appended[Suggestion], Appended[Suggestion]]:
    """并案: the merged one closes with its link, then its deputies join the target (each append guarded).

    A retry with the same command id finds the first append done and completes the second.
    """
    source = await rt.store.load(SUGGESTION, c.suggestion_id)
    target = await rt.store.load(SUGGESTION, c.into_id)
    if principal is not None:
        access = Access(principal)
        access.require(scope_of(source.state, False), STAFF_ACTORS)
        if target.exists and not access.sees(scope_of(target.state, False)):  # type: ignore[arg-type]
            target = replace(target, state=Suggestion(id=c.into_id))  # unseen: as if missing
    elif not source.exists:
        raise SuggestionNotFound()
    if source.applied(meta.command_id):
        first = done(source)
    else:
        first = await rt.store.append(source, sg.decide_merge(source.state, c, target=target.state, now=meta.now), meta)
    target = await rt.store.load(SUGGESTION, c.into_id)
    if target.applied(meta.command_id):
        return first, done(target)
    events = sg.decide_receive_merge(target.state, first.loaded.state, now=meta.now)
    return first, await rt.store.append(target, events, meta)


async def escalate_suggestion(
    rt: ServiceRuntime, suggestion_id: str, reason: str, meta: CommandMeta, principal: Principal | None = None
) -> tuple[Appended[Suggestion], Appended[Suggestion]]:
    """向上反映: the original closes as escalated, then the linked county-level suggestion is submitted.

    The county suggestion's id derives from the command id, so a retry completes the same one.
    """
    county_id = str(uuid.uuid5(ATTACH_NS, f"escalate/{meta.command_id}"))
    c = EscalateSuggestion(suggestion_id=suggestion_id, escalated_to=county_id, reason=reason)
    first = await handle(
        rt,
        suggestion_id,
        meta,
        principal,
        role_check(*STAFF_ACTORS),
        lambda s, street: sg.decide_escalate(s, c, now=meta.now, is_street=street),
    )
    original = first.loaded.state
    target_id = original.escalated_to or county_id
    submission = sg.escalated_submission(original, escalated_to=target_id)
    second = await rt.store.execute(
        SUGGESTION,
        target_id,
        lambda loaded: (
            [] if loaded.exists else sg.decide_submit(loaded.state, submission, now=meta.now, is_street=False)
        ),
        meta,
        jurisdiction=submission.jurisdiction,
    )
    log.info("suggestion.escalated", suggestion_id=suggestion_id, county_suggestion_id=target_id)
    return first, second


async def add_attachment(
    rt: ServiceRuntime,
    suggestion_id: str,
    *,
    filename: str,
    content_type: str,
    sha256: str,
    size: int,
    meta: CommandMeta,
    principal: Principal | None = None,
) -> tuple[Appended[Suggestion], str]:
    """Record a stored file (see ``attachments.py``); anyone who sees the suggestion may attach."""
    attachment_id = str(uuid.uuid5(ATTACH_NS, f"{meta.command_id}/{sha256}"))
    c = AddAttachment(
        suggestion_id=suggestion_id,
        attachment_id=attachment_id,
        filename=filename,
        content_type=content_type,
        sha256=sha256,
        size=size,
    )
    appended = await handle(
        rt, suggestion_id, meta, principal, see_check, lambda s, _: sg.decide_attachment(s, c, now=meta.now)
    )
    return appended, attachment_id
