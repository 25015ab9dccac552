"""HTTP routes of the presidium's and the county's steps (extension, key supervision, merge,
escalation, the "justified" mark) and of attachments. No rules, no SQL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, UploadFile, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from libs.auth.access import ANY_ROLE
from libs.domain.times import DeadlineTime
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.errors import NotVisible
from services.suggestions.api import AttachmentId, SuggestionId
from services.suggestions.api.suggestions import ReasonIn
from services.suggestions.api.views import answer
from services.suggestions.commands import attachments
from services.suggestions.commands import oversight as handlers
from services.suggestions.commands.context import ASSIGNING, STAFF_ACTORS, Context
from services.suggestions.domain import commands as dc
from services.suggestions.queries import suggestions as queries

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])


class ExtensionIn(BaseModel):
    new_due_at: DeadlineTime = Field(description="新的答复期限（只写日期即当日结束）")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{suggestion_id}/extension")
async def post_extension(
    ctx: Annotated[CommandContext, Depends(command_context(*ASSIGNING))], suggestion_id: SuggestionId, body: ExtensionIn
) -> dict[str, Any]:
    c = dc.ExtendDeadline(suggestion_id=suggestion_id, new_due_at=body.new_due_at, reason=body.reason)
    return answer(ctx, await handlers.extend_deadline(c, Context.of(ctx)))


@router.post("/{suggestion_id}/key-supervision")
async def post_key_supervision(
    ctx: Annotated[CommandContext, Depends(command_context(*ASSIGNING))], suggestion_id: SuggestionId, body: ReasonIn
) -> dict[str, Any]:
    c = dc.SetKeySupervision(suggestion_id=suggestion_id, reason=body.reason)
    return answer(ctx, await handlers.set_key_supervision(c, Context.of(ctx)))


class MergeIn(BaseModel):
    into_id: str = Field(min_length=1, max_length=64, description="并入的建议（须为本人可见的建议）")
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{suggestion_id}/merge")
async def post_merge(
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))], suggestion_id: SuggestionId, body: MergeIn
) -> dict[str, Any]:
    c = dc.MergeSuggestion(suggestion_id=suggestion_id, into_id=body.into_id, reason=body.reason)
    first, second = await handlers.merge_suggestion(c, Context.of(ctx))
    return {**answer(ctx, first, second), "merged_into": body.into_id}


@router.post("/{suggestion_id}/escalate")
async def post_escalate(
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))], suggestion_id: SuggestionId, body: ReasonIn
) -> dict[str, Any]:
    c = dc.EscalateSuggestion(suggestion_id=suggestion_id, escalated_to="", reason=body.reason)
    first, second = await handlers.escalate_suggestion(c, Context.of(ctx))
    return {**answer(ctx, first, second), "escalated_to": second.loaded.id}


@router.post("/{suggestion_id}/unsatisfied-justified")
async def post_unsatisfied_justified(
    ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ACTORS))], suggestion_id: SuggestionId, body: ReasonIn
) -> dict[str, Any]:
    c = dc.JustifyUnsatisfied(suggestion_id=suggestion_id, reason=body.reason)
    return {
        **answer(ctx, await handlers.justify_unsatisfied(c, Context.of(ctx))),
        "unsatisfied_justified": True,
    }


@router.post("/{suggestion_id}/attachments", status_code=status.HTTP_201_CREATED)
async def post_attachment(
    ctx: Annotated[CommandContext, Depends(command_context(*ANY_ROLE))],
    suggestion_id: SuggestionId,
    file: Annotated[UploadFile, File(description="回复函、照片、会议记录等")],
) -> dict[str, Any]:
    rt = ctx.runtime
    await queries.suggestion_events(rt, ctx.principal, suggestion_id)  # 404 before storing anything
    sha, size = await attachments.store_upload(rt.settings.data_dir, file)
    c = dc.AddAttachment(
        suggestion_id=suggestion_id,
        attachment_id="",
        filename=file.filename or "",
        content_type=file.content_type or "",
        sha256=sha,
        size=size,
    )
    appended = await handlers.add_attachment(c, Context.of(ctx))
    ctx.answered(appended)
    attachment_id = handlers.attachment_id_of(Context.of(ctx), sha)
    return {"attachment_id": attachment_id, "sha256": sha, "size": size, "filename": file.filename}


@router.get("/{suggestion_id}/attachments/{attachment_id}", response_class=FileResponse)
async def get_attachment(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    suggestion_id: SuggestionId,
    attachment_id: AttachmentId,
) -> FileResponse:
    a = await queries.attachment(ctx.runtime, ctx.principal, suggestion_id, attachment_id)
    path = attachments.path_of(ctx.runtime.settings.data_dir, a.sha256)
    if not path.is_file():
        raise NotVisible()
    return FileResponse(path, media_type=a.content_type, filename=a.filename, headers={"X-Content-SHA256": a.sha256})
