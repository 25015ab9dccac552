"""HTTP routes of organizer units (承办单位). Mounted before ``suggestions.py`` (static paths first)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from libs.auth.access import ANY_ROLE
from libs.web.deps import CommandContext, ReadContext, command_context, read_context
from libs.web.lists import CursorParam, LimitParam, Page, page
from services.suggestions.api import CodeQuery
from services.suggestions.api.views import local_times
from services.suggestions.commands import units as handlers
from services.suggestions.commands.context import Context
from services.suggestions.domain import commands as dc
from services.suggestions.projections.tables import from_text
from services.suggestions.queries import units as queries

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])
CodeParam = Annotated[str | None, Query(max_length=9, pattern=CodeQuery)]


def fresh_id(ctx: CommandContext, kind: str) -> str:
    """A new aggregate id, the same on a retry with the same Idempotency-Key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{ctx.meta.command_id}"))


class UnitIn(BaseModel):
    jurisdiction: str = Field(min_length=6, max_length=9)
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=60, description="例如 township_office、station、county_department")
    head: str = Field(default="", max_length=100, description="单位负责人（可选）")
    deputy_head: str = Field(default="", max_length=100, description="分管副职（可选）")
    supervising_department: str = Field(default="", max_length=200, description="主管局委（可选）")
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="接收通知的电子邮箱（可选）"
    )
    phone: str | None = Field(
        default=None, max_length=30, pattern=r"^\+?[0-9][0-9 \-]{5,28}$", description="接收短信通知的电话（可选）"
    )


@router.post("/units", status_code=status.HTTP_201_CREATED)
async def post_unit(
    ctx: Annotated[CommandContext, Depends(command_context(*handlers.UNIT_REGISTRARS))], body: UnitIn
) -> dict[str, Any]:
    c = dc.RegisterOrganizerUnit(
        unit_id=fresh_id(ctx, "unit"),
        jurisdiction=body.jurisdiction,
        name=body.name,
        kind=body.kind,
        head=body.head,
        deputy_head=body.deputy_head,
        supervising_department=body.supervising_department,
        email=body.email,
        phone=body.phone,
    )
    done = await handlers.register_unit(c, Context.of(ctx))
    ctx.answered(done)
    u = done.loaded.state
    return {
        "unit_id": u.id,
        "jurisdiction": u.jurisdiction,
        "name": u.name,
        "kind": u.kind,
        "head": u.head,
        "deputy_head": u.deputy_head,
        "supervising_department": u.supervising_department,
        "email": u.email,
        "phone": u.phone,
        "registered_at": local_times(u.registered_at),
    }


@router.get("/units", response_model=Page[dict[str, Any]])
async def get_units(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    under: CodeParam = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    rows = await queries.units_under(ctx.runtime.engine, ctx.principal, under, limit, cursor)
    for r in rows:
        r["registered_at"] = local_times(from_text(r["registered_at"]))
    return page(rows, limit, key=lambda r: r["unit_id"])
