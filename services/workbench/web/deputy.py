"""The deputy's pages (phone first): my suggestions and their progress, a new one (alone or
jointly), duty activities and the dossier (履职档案, 六个一), meetings I am invited to."""

from __future__ import annotations

from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from libs.domain.times import local
from libs.reference.deputies import is_current
from services.workbench.api import Api
from services.workbench.web.access import Deputy, guarded
from services.workbench.web.inbox import unread
from services.workbench.web.render import page

router = APIRouter(include_in_schema=False)


async def fellows(request: Request, township: str) -> list[tuple[str, str]]:
    """The deputies grouped in ``township`` who hold their seat today (id, name), by name."""
    t = request.app.state.reference
    cols = [t.deputies.c[n] for n in ("deputy_id", "name", "elected_on", "terminated_on")]
    async with request.app.state.runtime.engine.connect() as conn:
        rows = (await conn.execute(select(*cols).where(t.deputies.c.township == township))).mappings().all()
    today = local(datetime.now().astimezone()).date()
    return sorted(((r["deputy_id"], r["name"]) for r in rows if is_current(dict(r), today)), key=lambda p: p[1])


@router.get("/work/deputy")
async def deputy_queue(request: Request, who: Deputy) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            notices = await unread(api, who)
            rows = await api.items("/api/suggestions")
            meetings = await api.maybe("/api/meetings", default={"items": []}, year=date.today().year)
        rows.sort(key=lambda r: r.get("submitted_at") or "", reverse=True)
        return page(
            request,
            "deputy.html",
            principal=who,
            inbox=notices,
            title="我的建议",
            to_evaluate=[r for r in rows if r["status"] == "replied"],
            to_revise=[r for r in rows if r["status"] == "submitted" and r.get("revision_requested_at")],
            rows=rows,
            meetings=[m for m in meetings.get("items", []) if m.get("status") != "cancelled"],
        )

    return await guarded(request, who, render)


@router.get("/work/suggestions/new")
async def new_suggestion(request: Request, who: Deputy) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            me = await api.get(f"/api/deputies/{who.deputy_id}")
        others = [(i, n) for i, n in await fellows(request, me["township"]) if i != who.deputy_id]
        return page(request, "new.html", principal=who, title="提出建议", me=me, others=others)

    return await guarded(request, who, render)


@router.get("/work/duty")
async def duty(request: Request, who: Deputy) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            dossier = await api.get(f"/api/deputies/{who.deputy_id}/dossier")
            activities = await api.maybe(f"/api/deputies/{who.deputy_id}/activities", default={"items": []})
            opinions = await api.maybe("/api/suggestions/opinions", default={"items": []})
        return page(
            request,
            "duty.html",
            principal=who,
            title="履职档案",
            d=dossier,
            activities=activities.get("items", []),
            opinions=opinions.get("items", []),
        )

    return await guarded(request, who, render)
