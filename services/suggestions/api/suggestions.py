"""HTTP routes of one suggestion's life and its lists: parse, authorise, call, answer. No rules, no SQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from libs.auth.access import ANY_ROLE, STAFF_ROLES
from libs.domain.times import DateInRange, DeadlineTime
from libs.web.deps import CommandContext, ReadContext, RuntimeDep, command_context, public, read_context
from libs.web.lists import CursorParam, LimitParam, Page, decode_cursor, encode_cursor, page
from services.suggestions.api import CodeQuery, SuggestionId, views
from services.suggestions.api.views import answer, local_times
from services.suggestions.commands import suggestions as handlers
from services.suggestions.commands.context import ASSIGNING, UNIT_ROLES, Context
from services.suggestions.domain import commands as dc
from services.suggestions.projections.tables import from_text
from services.suggestions.queries import rates as rate_queries
from services.suggestions.queries import suggestions as queries
from services.suggestions.queries.units import unit_names

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])
CodeParam = Annotated[str | None, Query(max_length=9, pattern=CodeQuery)]
LIST_TIMES = ("submitted_at", "due_at", "assigned_at", "closed_at", "revision_requested_at")


# -- submit, list, five-open, rates --------------------------------------------------------------
class SubmitIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    content: str = Field(min_length=1, max_length=20_000)
    township: str = Field(min_length=6, max_length=9, description="乡镇（街道）9 位或县区 6 位行政区划代码")
    deputy_ids: list[str] = Field(min_length=1, max_length=200, description="领衔代表在前，联名代表在后")
    category: str = Field(default="", max_length=100)
    submitted_during: Literal["session", "recess"] = "recess"
    meeting_id: str | None = Field(
        default=None, max_length=64, description="大会期间提出时所属会议（须为本辖区的会议）"
    )
    source: Literal["deputy", "inspection", "joint_inspection"] = "deputy"
    source_id: str | None = Field(default=None, max_length=64)


@router.post("", status_code=status.HTTP_201_CREATED)
async def post_suggestion(
    body: SubmitIn, ctx: Annotated[CommandContext, Depends(command_context(*STAFF_ROLES, "deputy"))]
) -> dict[str, Any]:
    c = dc.SubmitSuggestion(
        suggestion_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"suggestion/{ctx.meta.command_id}")),
        jurisdiction=body.township,
        title=body.title,
        content=body.content,
        deputy_ids=tuple(body.deputy_ids),
        category=body.category,
        submitted_during=body.submitted_during,
        meeting_id=body.meeting_id,
        source=body.source,
        source_id=body.source_id,
    )
    return answer(ctx, await handlers.submit_suggestion(c, Context.of(ctx)))


@router.get("", response_model=Page[dict[str, Any]])
async def get_suggestions(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    township: CodeParam = None,
    status_: Annotated[
        Literal["submitted", "assigned", "replied", "rehandling", "closed"] | None, Query(alias="status")
    ] = None,
    overdue: bool | None = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    revision: Annotated[bool | None, Query(description="true：已退回修改、待代表修改；false：未退回")] = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    now = datetime.now(UTC)
    rows = await queries.list_suggestions(
        ctx.runtime.engine,
        ctx.principal,
        township=township,
        status=status_,
        overdue=overdue,
        unit_id=unit_id,
        now=now,
        limit=limit,
        cursor=cursor,
        revision=revision,
    )
    for r in rows:
        due = from_text(r["due_at"])
        r["overdue"] = r["status"] in ("assigned", "rehandling") and due is not None and now > due
        r["township"] = r["jurisdiction"]
        r["_key"] = [r["submitted_at"], r["suggestion_id"]]
        for k in LIST_TIMES:
            r[k] = local_times(from_text(r[k]))
    got = page(rows, limit, key=lambda r: r["_key"])
    for r in got.items:
        r.pop("_key", None)
    return got


@router.get("/public", response_model=Page[dict[str, Any]])
async def get_public(
    rt: RuntimeDep,
    _: Annotated[None, Depends(public())],
    under: Annotated[str, Query(min_length=4, max_length=9, pattern=r"^\d{4}(\d{2}(\d{3})?)?$")],
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    """五公开 (no token): the matter, the unit, the deadline, the result, the satisfaction; names only."""
    rows = await queries.public_list(rt.engine, under, limit, cursor)
    unit_ids = sorted({u for r in rows for u in [r["lead_unit_id"], *r["co_unit_ids"]] if u})
    deputy_ids = sorted({d for r in rows for d in r["deputy_ids"]})
    units = await unit_names(rt.engine, unit_ids)
    names = await queries.deputy_names(rt.engine, deputy_ids)
    items = [
        {
            "suggestion_id": r["suggestion_id"],
            "township": r["jurisdiction"],
            "title": r["title"],
            "category": r["category"],
            "status": r["status"],
            "lead_unit": units.get(r["lead_unit_id"]),
            "co_units": [units.get(u) for u in r["co_unit_ids"]],
            "due_at": local_times(from_text(r["due_at"])),
            "result": r["latest_result"],
            "satisfaction": r["latest_satisfaction"],
            "deputies": [names[d] for d in r["deputy_ids"] if d in names],
            "_key": [r["submitted_at"], r["suggestion_id"]],
        }
        for r in rows
    ]
    more = len(items) > limit
    items = items[:limit]
    cursor_out = encode_cursor(items[-1]["_key"]) if more and items else None
    for i in items:
        i.pop("_key")
    return Page(items=items, next_cursor=cursor_out)


@router.get("/rates")
async def get_rates(
    ctx: Annotated[ReadContext, Depends(read_context(*STAFF_ROLES))],
    under: CodeParam = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    by: Literal["township", "county", "unit"] = "township",
    limit: LimitParam = 500,
) -> dict[str, Any]:
    """The six rates per township, county or unit, and the unsatisfied count per unit with its flag."""
    rt = ctx.runtime
    tz = rt.settings.tz
    now = datetime.now(UTC)
    year = year or now.astimezone(tz).year
    prefix = ctx.access.prefix(under)
    limit_n = rt.settings.unsatisfied_limit
    if prefix is None:
        return {"under": under, "year": year, "by": by, "groups": [], "total": None, "unsatisfied_by_unit": []}
    names = await queries.jurisdiction_names(rt.engine)
    got = await rate_queries.rates_under(
        rt.engine, prefix, year=year, by=by, now=now, tz=tz, limit=limit, name_of=names.get
    )
    return {
        "under": prefix,
        "year": year,
        "by": by,
        "as_of": local_times(now),
        "groups": local_times(got["groups"]),
        "total": local_times(got["total"]),
        "unsatisfied_limit": limit_n,
        "unsatisfied_by_unit": rate_queries.unsatisfied_rows(got["unsatisfied"], got["units"], limit_n),
    }


# -- one suggestion ------------------------------------------------------------------------------
@router.get("/{suggestion_id}")
async def get_suggestion(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))], suggestion_id: SuggestionId
) -> dict[str, Any]:
    rt = ctx.runtime
    s, envelopes = await queries.suggestion_events(rt, ctx.principal, suggestion_id)
    units = await unit_names(rt.engine, [u for u in (s.lead_unit_id, *s.co_unit_ids) if u])
    names = await queries.deputy_names(rt.engine, list(s.deputy_ids))
    view = views.suggestion_view(s, envelopes, now=datetime.now(UTC), unit_names=units, deputy_names=names)
    return local_times(view)  # type: ignore[no-any-return]


@router.get("/{suggestion_id}/history", response_model=Page[dict[str, Any]])
async def get_history(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    suggestion_id: SuggestionId,
    limit: LimitParam = 500,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    """Every event of the suggestion, oldest first, with actor (subject, role), time and correlation id."""
    _, envelopes = await queries.suggestion_events(ctx.runtime, ctx.principal, suggestion_id)
    after = decode_cursor(cursor)
    items = [local_times(views.history_item(e)) for e in envelopes if after is None or e.sequence > int(after)]
    return page(items[: limit + 1], limit, key=lambda i: i["sequence"])


class AssignIn(BaseModel):
    lead_unit_id: str = Field(min_length=1, max_length=64)
    co_unit_ids: list[str] = Field(default_factory=list, max_length=50)
    complexity: Literal["normal", "complex"] = "normal"
    responsible_leader: str = Field(min_length=1, max_length=100)
    handler: str | None = Field(default=None, max_length=100)


@router.post("/{suggestion_id}/assign")
async def post_assign(
    ctx: Annotated[CommandContext, Depends(command_context(*ASSIGNING))], suggestion_id: SuggestionId, body: AssignIn
) -> dict[str, Any]:
    c = dc.AssignSuggestion(
        suggestion_id=suggestion_id,
        lead_unit_id=body.lead_unit_id,
        responsible_leader=body.responsible_leader,
        co_unit_ids=tuple(body.co_unit_ids),
        complexity=body.complexity,
        handler=body.handler,
    )
    return answer(ctx, await handlers.assign_suggestion(c, Context.of(ctx)))


@router.post("/{suggestion_id}/acknowledge")
async def post_acknowledge(
    ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))], suggestion_id: SuggestionId
) -> dict[str, Any]:
    c = dc.AcknowledgeSuggestion(suggestion_id=suggestion_id)
    return answer(ctx, await handlers.acknowledge_suggestion(c, Context.of(ctx)))


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{suggestion_id}/return")
async def post_return(
    ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))], suggestion_id: SuggestionId, body: ReasonIn
) -> dict[str, Any]:
    c = dc.ReturnSuggestion(suggestion_id=suggestion_id, reason=body.reason)
    return answer(ctx, await handlers.return_suggestion(c, Context.of(ctx)))


class ConsultationIn(BaseModel):
    held_on: DateInRange
    mode: Literal["face_to_face", "phone", "online"]
    summary: str = Field(min_length=1, max_length=5000)


@router.post("/{suggestion_id}/consultations", status_code=status.HTTP_201_CREATED)
async def post_consultation(
    ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))],
    suggestion_id: SuggestionId,
    body: ConsultationIn,
) -> dict[str, Any]:
    c = dc.RecordConsultation(suggestion_id=suggestion_id, held_on=body.held_on, mode=body.mode, summary=body.summary)
    return answer(ctx, await handlers.record_consultation(c, Context.of(ctx)))


class ReplyIn(BaseModel):
    result: Literal["A", "B", "C"]
    content: str = Field(min_length=1, max_length=20_000)
    promised_by: DeadlineTime | None = Field(default=None, description="承诺落实日期（只写日期即当日结束）")
    measures: str | None = Field(default=None, max_length=5000)
    reason: str | None = Field(default=None, max_length=5000)


@router.post("/{suggestion_id}/reply")
async def post_reply(
    ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))], suggestion_id: SuggestionId, body: ReplyIn
) -> dict[str, Any]:
    c = dc.ReplyToSuggestion(
        suggestion_id=suggestion_id,
        result=body.result,
        content=body.content,
        promised_by=body.promised_by.astimezone(ctx.runtime.settings.tz).date() if body.promised_by else None,
        measures=body.measures,
        reason=body.reason,
    )
    return answer(ctx, await handlers.reply_to_suggestion(c, Context.of(ctx)))


class EvaluationIn(BaseModel):
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    comment: str = Field(default="", max_length=5000)


@router.post("/{suggestion_id}/evaluation")
async def post_evaluation(
    ctx: Annotated[CommandContext, Depends(command_context("deputy"))], suggestion_id: SuggestionId, body: EvaluationIn
) -> dict[str, Any]:
    """Only the lead deputy's own login (never staff or the unit on the deputy's behalf)."""
    c = dc.EvaluateSuggestion(suggestion_id=suggestion_id, satisfaction=body.satisfaction, comment=body.comment)
    return answer(ctx, await handlers.evaluate_suggestion(c, Context.of(ctx)))


class ImplementationIn(BaseModel):
    carried_out_on: DateInRange
    summary: str = Field(min_length=1, max_length=5000)


@router.post("/{suggestion_id}/implementation")
async def post_implementation(
    ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))],
    suggestion_id: SuggestionId,
    body: ImplementationIn,
) -> dict[str, Any]:
    c = dc.RecordImplementation(suggestion_id=suggestion_id, carried_out_on=body.carried_out_on, summary=body.summary)
    return answer(ctx, await handlers.record_implementation(c, Context.of(ctx)))
