"""HTTP routes of the 三关 review: send back for revision (退回修改) and the lead deputy's revision.
No rules, no SQL."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from libs.web.deps import CommandContext, command_context
from services.suggestions.api import SuggestionId
from services.suggestions.api.views import answer
from services.suggestions.commands import revision as handlers
from services.suggestions.commands.context import ASSIGNING, Context
from services.suggestions.domain import commands as dc

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])


class SendBackIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="退回修改的理由（法律法规、内容质量、文字格式）")


@router.post("/{suggestion_id}/send-back")
async def post_send_back(
    ctx: Annotated[CommandContext, Depends(command_context(*ASSIGNING))], suggestion_id: SuggestionId, body: SendBackIn
) -> dict[str, Any]:
    """退回修改: a submitted suggestion goes back to its deputies; it cannot be assigned until revised."""
    c = dc.SendBackSuggestion(suggestion_id=suggestion_id, reason=body.reason)
    return {**answer(ctx, await handlers.send_back_suggestion(c, Context.of(ctx))), "revision_requested": True}


class ReviseIn(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    content: str | None = Field(default=None, min_length=1, max_length=20_000)
    category: str | None = Field(default=None, max_length=100)


@router.post("/{suggestion_id}/revise")
async def post_revise(
    ctx: Annotated[CommandContext, Depends(command_context("deputy"))], suggestion_id: SuggestionId, body: ReviseIn
) -> dict[str, Any]:
    """The lead deputy's revision (only the fields given change); back in the staff's queue."""
    c = dc.ReviseSuggestion(suggestion_id=suggestion_id, title=body.title, content=body.content, category=body.category)
    return {**answer(ctx, await handlers.revise_suggestion(c, Context.of(ctx))), "revision_requested": False}
