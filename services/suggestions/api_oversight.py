"""HTTP routes of the presidium's and the county's steps (extension, key supervision, merge,
escalation, the "justified" mark) and of attachments. No rules, no SQL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field

from libs.auth.access import ANY_ROLE, ASSIGNERS
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.errors import NotVisible
from services.suggestions import attachments, oversight_commands, queries
from services.suggestions.api import ID_PATTERN, STAFF_ACTORS, ReasonIn, SuggestionId, answer
from services.suggestions.domain import commands as dc

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])


class ExtensionIn(BaseModel):
    new_due_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{suggestion_id}/extension")
async def post_extension(
    suggestion_id: SuggestionId, body: ExtensionIn, ctx: Annotated[CommandContext, Depends(command_context(*ASSIGNERS))]
) -> dict[str, Any]:
    c = dc.ExtendDeadline(suggestion_id=suggestion_id, new_due_at=body.new_due_at, reason=body.reason)
    return answer(ctx, await oversight_commands.extend_deadline(ctx.runtime, c, ctx.meta, ctx.principal))


@router.post("/{suggestion_id}/key-supervision")
async def post_key_supervision(
    suggestion_id: SuggestionId, body: ReasonIn, ctx: Annotated[CommandContext, Depends(command_context(*ASSIGNERS))]
) -> dict[str, Any]:
    c = dc.SetKeySupervision(suggestion_id=suggestion_id, reason=body.reason)
    return answer(ctx, await oversight_commands.set_key_supervision(ctx.runtime, c, ctx.meta, ctx.principal))


class MergeIn(BaseModel):
    into_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{suggestion_id}/merge")
async def post_merge(
    suggestion_id: SuggestionId, body: MergeIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))]
) -> dict[str, Any]:
    c = dc.MergeSuggestion(suggestion_id=suggestion_id, into_id=body.into_id, reason=body.reason)
    first, second = await oversight_commands.merge_suggestion(ctx.runtime, c, ctx.meta, ctx.principal)
    return {**answer(ctx, first, second), "merged_into": body.into_id}


@router.post("/{suggestion_id}/escalate")
async def post_escalate(
    suggestion_id: SuggestionId, body: ReasonIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))]
) -> dict[str, Any]:
    first, second = await oversight_commands.escalate_suggestion(
        ctx.runtime, suggestion_id, body.reason, ctx.meta, ctx.principal
    )
    return {**answer(ctx, first, second), "escalated_to": second.loaded.id}


@router.post("/{suggestion_id}/unsatisfied-justified")
async def post_unsatisfied_justified(
    suggestion_id: SuggestionId, body: ReasonIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))]
) -> dict[str, Any]:
    c = dc.JustifyUnsatisfied(suggestion_id=suggestion_id, reason=body.reason)
    return {
        **answer(ctx, await oversight_commands.justify_unsatisfied(ctx.runtime, c, ctx.meta, ctx.principal)),
        "unsatisfied_justified": True,
    }


@router.post("/{suggestion_id}/attachments", status_code=status.HTTP_201_CREATED)
async def post_attachment(
    suggestion_id: SuggestionId,
    file: Annotated[UploadFile, File(description="回复函、照片、会议记录等")],
    ctx: Annotated[CommandContext, Depends(command_context(*ANY_ROLE))],
) -> dict[str, Any]:
    rt = ctx.runtime
    await queries.suggestion_events(rt, ctx.principal, suggestion_id)  # 404 before storing anything
    sha, size = await attachments.store_upload(rt.settings.data_dir, file)
    appended, attachment_id = await oversight_commands.add_attachment(
        rt,
        suggestion_id,
        filename=file.filename or "",
        content_type=file.content_type or "",
        sha256=sha,
        size=size,
        meta=ctx.meta,
        principal=ctx.principal,
    )
    ctx.answered(appended)
    return {"attachment_id": attachment_id, "sha256": sha, "size": size, "filename": file.filename}


@router.get("/{suggestion_id}/attachments/{attachment_id}", response_class=FileResponse)
async def get_attachment(
    suggestion_id: SuggestionId, attachment_id: str, ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))]
) -> FileResponse:
    a = await queries.attachment(ctx.runtime, ctx.principal, suggestion_id, attachment_id)
    path = attachments.path_of(ctx.runtime.settings.data_dir, a.sha256)
    if not path.is_file():
        raise NotVisible()
    return FileResponse(path, media_type=a.content_type, filename=a.filename, headers={"X-Content-SHA256": a.sha256})
