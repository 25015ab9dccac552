"""HTTP routes of the suggestions context: parse, authorise, call, answer. No rules, no SQL.

Static paths (units, opinions, public, rates) come before ``/{suggestion_id}``. Organizer units
and opinions are in ``api_more.py``; the presidium's and county's steps and attachments in
``api_oversight.py``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from libs.auth.access import ANY_ROLE, ASSIGNERS, STAFF_ROLES
from libs.events.store import Appended
from libs.web.deps import CommandContext, ReadContext, RuntimeDep, command_context, public, read_context
from libs.web.lists import CursorParam, LimitParam, Page, decode_cursor, encode_cursor, page
from services.suggestions import commands, queries, rate_queries, views
from services.suggestions.domain import commands as dc
from services.suggestions.domain.state import Suggestion
from services.suggestions.tables import from_text

router = APIRouter(prefix="/api/suggestions", tags=["代表建议"])
UNIT_ROLES = commands.UNIT_ROLES
STAFF_ACTORS = commands.STAFF_ACTORS
CodeParam = Annotated[str | None, Query(max_length=9, pattern=r"^\d{4}(\d{2}(\d{3})?)?$")]
ID_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"  # ids name NATS subjects
SuggestionId = Annotated[str, Path(pattern=ID_PATTERN, description="建议编号")]


def summary(s: Suggestion, now: datetime) -> dict[str, Any]:
    r = s.current_round
    return {
        "suggestion_id": s.id,
        "status": s.status,
        "round": r.number if r else None,
        "due_at": s.due_at,
        "overdue": s.overdue(now),
        "lead_unit_id": s.lead_unit_id,
        "closed_because": s.closed_because,
    }


def answer(ctx: CommandContext, *done: Appended[Suggestion]) -> dict[str, Any]:
    for d in done:
        ctx.answered(d)
    return summary(done[0].loaded.state, ctx.meta.now)


# -- submit, list, five-open, rates --------------------------------------------------------------
class SubmitIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    content: str = Field(min_length=1, max_length=20_000)
    township: str = Field(min_length=6, max_length=9, description="乡镇（街道）9 位或县区 6 位行政区划代码")
    deputy_ids: list[str] = Field(min_length=1, max_length=200, description="领衔代表在前，联名代表在后")
    category: str = Field(default="", max_length=100)
    submitted_during: Literal["session", "recess"] = "recess"
    meeting_id: str | None = Field(default=None, max_length=64)
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
    return answer(ctx, await commands.submit_suggestion(ctx.runtime, c, ctx.meta, ctx.principal))


@router.get("", response_model=Page[dict[str, Any]])
async def get_suggestions(
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    township: CodeParam = None,
    status_: Annotated[
        Literal["submitted", "assigned", "replied", "rehandling", "closed"] | None, Query(alias="status")
    ] = None,
    overdue: bool | None = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
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
    )
    for r in rows:
        due = from_text(r["due_at"])
        r["overdue"] = r["status"] in ("assigned", "rehandling") and due is not None and now > due
        r["township"] = r["jurisdiction"]
    return page(rows, limit, key=lambda r: [r["submitted_at"], r["suggestion_id"]])


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
    units = await queries.unit_names(rt.engine, unit_ids)
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
            "due_at": from_text(r["due_at"]),
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
        "as_of": now,
        "groups": got["groups"],
        "total": got["total"],
        "unsatisfied_limit": limit_n,
        "unsatisfied_by_unit": rate_queries.unsatisfied_rows(got["unsatisfied"], got["units"], limit_n),
    }


# -- one suggestion ------------------------------------------------------------------------------
@router.get("/{suggestion_id}")
async def get_suggestion(
    suggestion_id: SuggestionId, ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))]
) -> dict[str, Any]:
    rt = ctx.runtime
    s, envelopes = await queries.suggestion_events(rt, ctx.principal, suggestion_id)
    units = await queries.unit_names(rt.engine, [u for u in (s.lead_unit_id, *s.co_unit_ids) if u])
    names = await queries.deputy_names(rt.engine, list(s.deputy_ids))
    return views.suggestion_view(s, envelopes, now=datetime.now(UTC), unit_names=units, deputy_names=names)


@router.get("/{suggestion_id}/history", response_model=Page[dict[str, Any]])
async def get_history(
    suggestion_id: SuggestionId,
    ctx: Annotated[ReadContext, Depends(read_context(*ANY_ROLE))],
    limit: LimitParam = 500,
    cursor: CursorParam = None,
) -> Page[dict[str, Any]]:
    """Every event of the suggestion, oldest first, with actor (subject, role), time and correlation id."""
    _, envelopes = await queries.suggestion_events(ctx.runtime, ctx.principal, suggestion_id)
    after = decode_cursor(cursor)
    items = [views.history_item(e) for e in envelopes if after is None or e.sequence > int(after)]
    return page(items[: limit + 1], limit, key=lambda i: i["sequence"])


class AssignIn(BaseModel):
    lead_unit_id: str = Field(min_length=1, max_length=64)
    co_unit_ids: list[str] = Field(default_factory=list, max_length=50)
    complexity: Literal["normal", "complex"] = "normal"
    responsible_leader: str = Field(min_length=1, max_length=100)
    handler: str | None = Field(default=None, max_length=100)


@router.post("/{suggestion_id}/assign")
async def post_assign(
    suggestion_id: SuggestionId, body: AssignIn, ctx: Annotated[CommandContext, Depends(command_context(*ASSIGNERS))]
) -> dict[str, Any]:
    c = dc.AssignSuggestion(
        suggestion_id=suggestion_id,
        lead_unit_id=body.lead_unit_id,
        responsible_leader=body.responsible_leader,
        co_unit_ids=tuple(body.co_unit_ids),
        complexity=body.complexity,
        handler=body.handler,
    )
    return answer(ctx, await commands.assign_suggestion(ctx.runtime, c, ctx.meta, ctx.principal))


@router.post("/{suggestion_id}/acknowledge")
async def post_acknowledge(
    suggestion_id: SuggestionId, ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))]
) -> dict[str, Any]:
    return answer(ctx, await commands.acknowledge_suggestion(ctx.runtime, suggestion_id, ctx.meta, ctx.principal))


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/{suggestion_id}/return")
async def post_return(
    suggestion_id: SuggestionId, body: ReasonIn, ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))]
) -> dict[str, Any]:
    c = dc.ReturnSuggestion(suggestion_id=suggestion_id, reason=body.reason)
    return answer(ctx, await commands.return_suggestion(ctx.runtime, c, ctx.meta, ctx.principal))


class ConsultationIn(BaseModel):
    held_on: date
    mode: Literal["face_to_face", "phone", "online"]
    summary: str = Field(min_length=1, max_length=5000)


@router.post("/{suggestion_id}/consultations", status_code=status.HTTP_201_CREATED)
async def post_consultation(
    suggestion_id: SuggestionId,
    body: ConsultationIn,
    ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))],
) -> dict[str, Any]:
    c = dc.RecordConsultation(suggestion_id=suggestion_id, held_on=body.held_on, mode=body.mode, summary=body.summary)
    return answer(ctx, await commands.record_consultation(ctx.runtime, c, ctx.meta, ctx.principal))


class ReplyIn(BaseModel):
    result: Literal["A", "B", "C"]
    content: str = Field(min_length=1, max_length=20_000)
    promised_by: date | None = None
    measures: str | None = Field(default=None, max_length=5000)
    reason: str | None = Field(default=None, max_length=5000)


@router.post("/{suggestion_id}/reply")
async def post_reply(
    suggestion_id: SuggestionId, body: ReplyIn, ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))]
) -> dict[str, Any]:
    c = dc.ReplyToSuggestion(
        suggestion_id=suggestion_id,
        result=body.result,
        content=body.content,
        promised_by=body.promised_by,
        measures=body.measures,
        reason=body.reason,
    )
    return answer(ctx, await commands.reply_to_suggestion(ctx.runtime, c, ctx.meta, ctx.principal))


class EvaluationIn(BaseModel):
    satisfaction: Literal["satisfied", "basically_satisfied", "unsatisfied"]
    comment: str = Field(default="", max_length=5000)


@router.post("/{suggestion_id}/evaluation")
async def post_evaluation(
    suggestion_id: SuggestionId, body: EvaluationIn, ctx: Annotated[CommandContext, Depends(command_context("deputy"))]
) -> dict[str, Any]:
    """Only the lead deputy's own login (never staff or the unit on the deputy's behalf)."""
    c = dc.EvaluateSuggestion(suggestion_id=suggestion_id, satisfaction=body.satisfaction, comment=body.comment)
    return answer(ctx, await commands.evaluate_suggestion(ctx.runtime, c, ctx.meta, ctx.principal))


class ImplementationIn(BaseModel):
    carried_out_on: date
    summary: str = Field(min_length=1, max_length=5000)


@router.post("/{suggestion_id}/implementation")
async def post_implementation(
    suggestion_id: SuggestionId,
    body: ImplementationIn,
    ctx: Annotated[CommandContext, Depends(command_context(*UNIT_ROLES))],
) -> dict[str, Any]:
    c = dc.RecordImplementation(suggestion_id=suggestion_id, carried_out_on=body.carried_out_on, summary=body.summary)
    return answer(ctx, await commands.record_implementation(ctx.runtime, c, ctx.meta, ctx.principal))
