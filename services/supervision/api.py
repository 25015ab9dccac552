"""``/api/supervision``: the joint-supervision view (contract "Joint-supervision view").

Staff only (city → its counties and townships, county → its townships, township → itself);
deputies and organizer units get 403. Every endpoint takes ``as_of=DATE`` (the view at the end of
that day, from the read models) and ``format=csv|xlsx`` (a download of the same rows).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder

from libs.auth.access import STAFF_ROLES
from libs.domain.times import local_iso
from libs.web.deps import ReadContext, read_context
from libs.web.errors import NotVisible
from libs.web.lists import CursorParam, LimitParam, decode_cursor, encode_cursor
from services.supervision import answers, queries
from services.supervision import exports as ex
from services.supervision.answers import localized
from services.supervision.records import Moment

router = APIRouter(prefix="/api/supervision", tags=["县乡联动监督"])
Code = Annotated[
    str | None, Query(pattern=r"^\d{4}(\d{2}(\d{3})?)?$", description="区划代码（市 4 位、县 6 位、乡镇 9 位）")
]
Year = Annotated[int | None, Query(ge=1949, le=2200, description="年度，默认今年")]
AsOf = Annotated[date | None, Query(description="历史视图：截至该日（含）结束时的情况")]
Format = Annotated[Literal["json", "csv", "xlsx"], Query(alias="format", description="csv 或 xlsx：下载同样的行")]
STAFF = Depends(read_context(*STAFF_ROLES))


def ref(request: Request) -> Any:
    return request.app.state.reference


def moment(ctx: ReadContext, as_of: date | None) -> Moment:
    return Moment.of(as_of, ctx.runtime.settings.tz)


def stamp(body: dict[str, Any], m: Moment) -> dict[str, Any]:
    body = localized(body)
    if m.historical:
        body["as_of"] = m.as_of
        body["historical"] = True
    return body


def _page(
    items: list[dict[str, Any]], limit: int, cursor: str | None, key: Any
) -> tuple[list[dict[str, Any]], str | None]:
    after = decode_cursor(cursor)
    if after is not None:
        items = [i for i in items if key(i) > after]
    more = len(items) > limit
    items = items[:limit]
    return items, encode_cursor(key(items[-1])) if more and items else None


def encoded(cached: Any, key: tuple[Any, ...], body: Callable[[], dict[str, Any]]) -> Response:
    """The JSON of an answer built from a cached value, kept beside it (the same bytes FastAPI writes):
    a cached answer costs no encoding again. A new value (the read models moved) starts afresh."""
    memo = cached.setdefault("_encoded", {}) if isinstance(cached, dict) else None
    raw = memo.get(key) if memo is not None else None
    if raw is None:
        raw = json.dumps(
            jsonable_encoder(body()), ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
        ).encode()
        if memo is not None:
            if len(memo) > 32:
                memo.clear()
            memo[key] = raw
    return Response(raw, media_type="application/json", headers={"X-Renda-Answer": "counted"})


def precomputed(raw: bytes) -> Response:
    """An answer joined from its precomputed rows (``answers``); the header says so."""
    return Response(raw, media_type="application/json", headers={"X-Renda-Answer": "precomputed"})


def filename(kind: str, prefix: str, m: Moment) -> str:
    return f"{kind}-{prefix}-{(m.as_of or m.day).isoformat()}"


@router.get("/townships")
async def get_townships(
    request: Request,
    ctx: Annotated[ReadContext, STAFF],
    under: Code = None,
    year: Year = None,
    as_of: AsOf = None,
    level: Annotated[
        Literal["township", "county"], Query(description="county：按县（区）汇总（市级用户）")
    ] = "township",
    fmt: Format = "json",
    limit: LimitParam = 500,
    cursor: CursorParam = None,
) -> Any:
    """每个乡镇（街道）：建议各状态件数、逾期件数、六率（分子/分母）、人代会、主席团会议、代表活跃情况与问题。"""
    m = moment(ctx, as_of)
    y = queries.year_of(year, m)
    prefix = queries.scope(ctx.principal, under)
    spec = answers.spec_of(ctx.runtime, "townships", prefix, y, m) if prefix and fmt == "json" else None
    stored = await answers.fetch(ctx.runtime, spec, m) if spec else None
    if stored is not None:
        head = {"under": prefix, "year": y}
        part = "county" if level == "county" else "item"
        return precomputed(answers.assemble(stored, head, part, limit, cursor, m))
    if prefix is None:
        data: dict[str, Any] = {"items": [], "counties": [], "total": None, "units_over_limit": []}
    else:
        data = await queries.townships(ctx.runtime, prefix, y, m, ref(request))
        if spec is not None:
            answers.keep(ctx.runtime, spec, m, data, queries.cached(ctx.runtime, ("townships", prefix, y, m.as_of)))
    rows = data["counties"] if level == "county" else data["items"]
    if fmt != "json":
        return ex.download(fmt, rows, ex.TOWNSHIPS, filename("townships", prefix or "-", m), "乡镇监督总表")

    def body() -> dict[str, Any]:
        items, next_cursor = _page(rows, limit, cursor, lambda i: i["code"])
        out = {
            "under": prefix,
            "year": y,
            "items": items,
            "next_cursor": next_cursor,
            "total": data["total"],
            "units_over_limit": data["units_over_limit"],
        }
        return stamp(out, m)

    return encoded(data, ("townships", level, limit, cursor), body)


@router.get("/overdue")
async def get_overdue(
    request: Request,
    ctx: Annotated[ReadContext, STAFF],
    under: Code = None,
    as_of: AsOf = None,
    fmt: Format = "json",
    limit: LimitParam = 500,
    cursor: CursorParam = None,
) -> Any:
    """逾期督办：逾期未答复的建议、到期未落实的承诺、逾期未反馈的审议意见，最早的在前。"""
    m = moment(ctx, as_of)
    prefix = queries.scope(ctx.principal, under)
    spec = answers.spec_of(ctx.runtime, "overdue", prefix, None, m) if prefix and fmt == "json" else None
    stored = await answers.fetch(ctx.runtime, spec, m) if spec else None
    if stored is not None:
        return precomputed(answers.assemble(stored, {"under": prefix}, "item", limit, cursor, m))
    data = {"rows": []} if prefix is None else await queries.overdue_answer(ctx.runtime, prefix, m, ref(request))
    if spec is not None:
        answers.keep(ctx.runtime, spec, m, data, queries.cached(ctx.runtime, ("overdue-answer", prefix, m.as_of)))
    rows = data["rows"]
    if fmt != "json":
        return ex.download(fmt, rows, ex.OVERDUE, filename("overdue", prefix or "-", m), "逾期督办")

    def body() -> dict[str, Any]:
        keyed = [
            {**i, "_key": [local_iso(i["due_at"]), i["suggestion_id"] or i.get("review_opinion_id")]} for i in rows
        ]
        items, next_cursor = _page(keyed, limit, cursor, lambda i: i["_key"])
        for i in items:
            i.pop("_key")
        return stamp({"under": prefix, "items": items, "next_cursor": next_cursor}, m)

    return encoded(data, ("overdue", limit, cursor), body)


@router.get("/units")
async def get_units(
    request: Request,
    ctx: Annotated[ReadContext, STAFF],
    under: Code = None,
    year: Year = None,
    as_of: AsOf = None,
    fmt: Format = "json",
    limit: LimitParam = 500,
    cursor: CursorParam = None,
) -> Any:
    """承办单位：六率、不满意件数（不含认定有正当理由的）、是否超限（超限时列出负责人和分管副职）。"""
    m = moment(ctx, as_of)
    y = queries.year_of(year, m)
    prefix = queries.scope(ctx.principal, under)
    rows = [] if prefix is None else await queries.units(ctx.runtime, prefix, y, m, ref(request))
    if fmt != "json":
        return ex.download(fmt, rows, ex.UNITS, filename("units", prefix or "-", m), "承办单位")
    items, next_cursor = _page(rows, limit, cursor, lambda i: i["unit_id"])
    return stamp({"under": prefix, "year": y, "items": items, "next_cursor": next_cursor}, m)


@router.get("/suggestions")
async def get_suggestions(
    request: Request,
    ctx: Annotated[ReadContext, STAFF],
    under: Code = None,
    status: Annotated[
        Literal["submitted", "assigned", "replied", "rehandling", "closed", "overdue"] | None, Query()
    ] = None,
    unit_id: Annotated[str | None, Query(max_length=64)] = None,
    as_of: AsOf = None,
    fmt: Format = "json",
    limit: LimitParam = 500,
    cursor: CursorParam = None,
) -> Any:
    """一个数字背后的建议（五公开：事项、承办单位、期限、结果、满意度，代表仅列姓名）。"""
    m = moment(ctx, as_of)
    prefix = queries.scope(ctx.principal, under)
    rows = (
        []
        if prefix is None
        else await queries.suggestions_list(ctx.runtime, prefix, m, ref(request), status=status, unit_id=unit_id)
    )
    if fmt != "json":
        return ex.download(fmt, rows, ex.FIVE_OPEN, filename("suggestions", prefix or "-", m), "五公开清单")
    items, next_cursor = _page(rows, limit, cursor, lambda i: i["suggestion_id"])
    return stamp({"under": prefix, "items": items, "next_cursor": next_cursor}, m)


@router.get("/suggestions/{suggestion_id}")
async def get_suggestion(
    request: Request, suggestion_id: str, ctx: Annotated[ReadContext, STAFF], as_of: AsOf = None
) -> Any:
    """一件建议：五公开事项、承办单位、期限与逾期天数，以及完整的办理记录（时间、操作人、角色、事项）。"""
    m = moment(ctx, as_of)
    found = await queries.suggestion(ctx.runtime, ctx.principal, suggestion_id, m, ref(request))
    if found is None:
        raise NotVisible()
    return stamp(found, m)


@router.get("/joint-inspections/{joint_inspection_id}")
async def get_joint_inspection(
    request: Request,
    joint_inspection_id: str,
    ctx: Annotated[ReadContext, STAFF],
    as_of: AsOf = None,
    fmt: Format = "json",
) -> Any:
    """县乡联动：主题、时间窗口，以及每个乡镇是否已视察、发现问题、形成的建议及其办理状态。"""
    m = moment(ctx, as_of)
    found = await queries.joint_inspection(ctx.runtime, ctx.principal, joint_inspection_id, m, ref(request))
    if found is None:
        raise NotVisible()
    if fmt != "json":
        return ex.download(
            fmt, found["items"], ex.JOINT, filename("joint-inspection", joint_inspection_id[:12], m), "县乡联动"
        )
    return stamp(found, m)
