"""The dashboard's pages. Reading a page needs the session cookie (else: to /login); staff only.

Each page asks the same queries as ``/api/supervision`` and renders them; ``?as_of=DATE`` on any
page shows it as it stood at the end of that day (历史视图).
"""

from __future__ import annotations

import gzip
import mimetypes
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from libs.auth.access import STAFF_ROLES
from libs.auth.actor import Principal
from libs.web.deps import CSRF_COOKIE, clear_session, current_principal, public
from libs.web.errors import Unauthenticated
from services.supervision import queries
from services.supervision.records import Moment
from services.supervision.web import charts
from services.supervision.web.render import STATIC, page, security_headers

router = APIRouter(include_in_schema=False)


class PageAccess:
    """The session's principal, or the way to /login (or a zh-CN refusal for other roles)."""

    access_roles = STAFF_ROLES

    async def __call__(self, request: Request) -> Principal | Response:
        try:
            p = await current_principal(request)
        except Unauthenticated:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        if p.role not in STAFF_ROLES and request.url.path == "/":
            return RedirectResponse("/work/", status_code=303)  # a deputy or a unit works in the workbench
        if p.role not in STAFF_ROLES:
            return page(
                request,
                "error.html",
                principal=p,
                m=None,
                title="无权访问",
                status_code=403,
                message="联动监督视图仅供市、县（区）人大常委会和乡镇人大（街道人大工委）工作人员使用。",
            )
        return p


Who = Annotated[Principal | Response, Depends(PageAccess())]
AsOf = Annotated[date | None, Query()]
Year = Annotated[int | None, Query(ge=1949, le=2200)]


def ref(request: Request) -> Any:
    return request.app.state.reference


async def frame(request: Request, p: Principal, as_of: date | None) -> tuple[Moment, str]:
    m = Moment.of(as_of, request.app.state.runtime.settings.tz)
    async with request.app.state.runtime.engine.connect() as conn:
        names = await queries.names_of(conn, ref(request), {p.jurisdiction})
    return m, names.get(p.jurisdiction, p.jurisdiction)


@router.get("/login", dependencies=[Depends(public())])
async def login(request: Request, next: str = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return page(request, "login.html", principal=None, m=None, title="登录", next=target)


@router.post("/logout", dependencies=[Depends(public())])
async def logout(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303)
    clear_session(response, request)
    return response


_GZIPPED: dict[tuple[Path, float], bytes] = {}  # static files compressed once (ECharts: 650 KB → 220 KB)


@router.get("/static/{path:path}", dependencies=[Depends(public())])
async def static(request: Request, path: str) -> Response:
    file = (STATIC / path).resolve()
    if not file.is_relative_to(STATIC.resolve()) or not file.is_file():
        return Response("未找到", status_code=404, media_type="text/plain; charset=utf-8")
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    headers = {"Cache-Control": "public, max-age=3600", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "") and (kind.startswith("text/") or "javascript" in kind):
        key = (file, file.stat().st_mtime)
        body = _GZIPPED.get(key)
        if body is None:
            body = _GZIPPED[key] = gzip.compress(file.read_bytes(), compresslevel=9)
        return Response(body, media_type=kind, headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(file, media_type=kind, headers=headers)


@router.get("/")
async def overview(request: Request, who: Who, as_of: AsOf = None, year: Year = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    y = queries.year_of(year, m)
    data = await queries.townships(request.app.state.runtime, who.jurisdiction, y, m, ref(request))
    overdue = await queries.overdue(request.app.state.runtime, who.jurisdiction, m, ref(request))
    units = await queries.units(request.app.state.runtime, who.jurisdiction, y, m, ref(request))
    city = len(who.jurisdiction) == 4
    return page(
        request,
        "overview.html",
        principal=who,
        m=m,
        title="总览",
        jurisdiction_name=name,
        year=y,
        data=data,
        rows=data["counties"] if city else data["items"],
        city=city,
        overdue=overdue[:10],
        overdue_total=len(overdue),
        charts=charts.overview(data, units, await queries.trend(request.app.state.runtime, who.jurisdiction, m)),
    )


@router.get("/counties/{code}")
async def county(request: Request, code: str, who: Who, as_of: AsOf = None, year: Year = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    if not who.sees(code) or len(code) != 6:
        return not_found(request, who, m, name)
    y = queries.year_of(year, m)
    data = await queries.townships(request.app.state.runtime, code, y, m, ref(request))
    return page(
        request,
        "county.html",
        principal=who,
        m=m,
        title=data["total"]["name"],
        jurisdiction_name=name,
        year=y,
        data=data,
        code=code,
    )


@router.get("/townships/{code}")
async def township(request: Request, code: str, who: Who, as_of: AsOf = None, year: Year = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    y = queries.year_of(year, m)
    rt = request.app.state.runtime
    data = await queries.townships(rt, code, y, m, ref(request)) if who.sees(code) and len(code) == 9 else None
    if not data or not data["items"]:
        return not_found(request, who, m, name)
    item = data["items"][0]
    units = [u for u in await queries.units(rt, code, y, m, ref(request)) if u["jurisdiction"] == code]
    return page(
        request,
        "township.html",
        principal=who,
        m=m,
        title=item["name"],
        jurisdiction_name=name,
        year=y,
        t=item,
        units=units,
        overdue=[o for o in await queries.overdue(rt, code, m, ref(request))],
    )


@router.get("/suggestions")
async def suggestions(
    request: Request,
    who: Who,
    as_of: AsOf = None,
    under: str | None = None,
    status: str | None = None,
    unit_id: str | None = None,
) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    prefix = queries.scope(who, under) or who.jurisdiction
    rows = await queries.suggestions_list(
        request.app.state.runtime, prefix, m, ref(request), status=status, unit_id=unit_id
    )
    return page(
        request,
        "suggestions.html",
        principal=who,
        m=m,
        title="五公开清单",
        jurisdiction_name=name,
        rows=rows,
        under=prefix,
        status=status,
        unit_id=unit_id,
    )


@router.get("/suggestions/{suggestion_id}")
async def suggestion(request: Request, suggestion_id: str, who: Who, as_of: AsOf = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    s = await queries.suggestion(request.app.state.runtime, who, suggestion_id, m, ref(request))
    if s is None:
        return not_found(request, who, m, name)
    return page(request, "suggestion.html", principal=who, m=m, title=s["title"], jurisdiction_name=name, s=s)


@router.get("/overdue")
async def overdue(request: Request, who: Who, as_of: AsOf = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    rows = await queries.overdue(request.app.state.runtime, who.jurisdiction, m, ref(request))
    return page(request, "overdue.html", principal=who, m=m, title="逾期督办", jurisdiction_name=name, rows=rows)


@router.get("/units")
async def units(request: Request, who: Who, as_of: AsOf = None, year: Year = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    y = queries.year_of(year, m)
    rows = await queries.units(request.app.state.runtime, who.jurisdiction, y, m, ref(request))
    rows = sorted(rows, key=lambda u: (not u["over_limit"], -u["unsatisfied"], u["name"]))
    return page(request, "units.html", principal=who, m=m, title="承办单位", jurisdiction_name=name, rows=rows, year=y)


@router.get("/units/{unit_id}")
async def unit(request: Request, unit_id: str, who: Who, as_of: AsOf = None, year: Year = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    y = queries.year_of(year, m)
    rt = request.app.state.runtime
    found = [u for u in await queries.units(rt, who.jurisdiction, y, m, ref(request)) if u["unit_id"] == unit_id]
    if not found:
        return not_found(request, who, m, name)
    rows = await queries.suggestions_list(rt, who.jurisdiction, m, ref(request), unit_id=unit_id)
    return page(
        request,
        "unit.html",
        principal=who,
        m=m,
        title=found[0]["name"],
        jurisdiction_name=name,
        u=found[0],
        rows=rows,
        year=y,
    )


@router.get("/compliance")
async def compliance(request: Request, who: Who, as_of: AsOf = None, year: Year = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    y = queries.year_of(year, m)
    rt = request.app.state.runtime
    data = await queries.townships(rt, who.jurisdiction, y, m, ref(request))
    joint = await queries.joint_inspections(rt, who.jurisdiction, m)
    return page(
        request,
        "compliance.html",
        principal=who,
        m=m,
        title="会议合规",
        jurisdiction_name=name,
        data=data,
        year=y,
        joint=joint,
    )


@router.get("/joint-inspections/{jid}")
async def joint_inspection(request: Request, jid: str, who: Who, as_of: AsOf = None) -> Response:
    if isinstance(who, Response):
        return who
    m, name = await frame(request, who, as_of)
    j = await queries.joint_inspection(request.app.state.runtime, who, jid, m, ref(request))
    if j is None:
        return not_found(request, who, m, name)
    return page(request, "joint.html", principal=who, m=m, title=j["theme"], jurisdiction_name=name, j=j)


def not_found(request: Request, who: Principal, m: Moment, name: str) -> Response:
    return page(
        request,
        "error.html",
        principal=who,
        m=m,
        title="未找到",
        jurisdiction_name=name,
        status_code=404,
        message="没有找到这一页的内容，或者它不在您的辖区内。",
    )


def csrf_of(request: Request) -> str:
    return request.cookies.get(CSRF_COOKIE, "")


__all__ = ["Path", "router", "security_headers"]
