"""Review opinions (审议意见): the staff send one from a held inspection or special report hearing
(meeting page); the organizer unit reads those addressed to it, with the days left, and answers with
its feedback (反馈) on the opinion's own page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from libs.auth.actor import Principal
from services.workbench.api import Api, ApiError
from services.workbench.web.access import STAFF, PageAccess, guarded
from services.workbench.web.render import days_left, page

router = APIRouter(include_in_schema=False)
StaffOrUnit = Annotated[Principal | Response, Depends(PageAccess(*STAFF, "organizer"))]


def overdue(r: dict[str, Any]) -> bool:
    return r.get("status") == "sent" and bool(r.get("overdue") or r.get("overdue_for"))


async def opinion_rows(api: Api, **params: Any) -> list[dict[str, Any]]:
    """Review opinions the caller sees (``[]`` when the meetings service is not there), due first."""
    try:
        rows = await api.items("/api/meetings/review-opinions", **params)
    except ApiError:
        return []
    for r in rows:
        r["is_overdue"] = overdue(r)
        r["days"] = days_left(r.get("due_at")) if r.get("status") == "sent" else None
    return sorted(rows, key=lambda r: (r.get("status") != "sent", str(r.get("due_at") or "")))


async def unit_names(api: Api, under: str) -> dict[str, str]:
    try:
        return {u["unit_id"]: u["name"] for u in await api.items("/api/suggestions/units", under=under)}
    except ApiError:
        return {}


@router.get("/work/review-opinions/{opinion_id}")
async def review_opinion(request: Request, opinion_id: str, who: StaffOrUnit) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            r = await api.get(f"/api/meetings/review-opinions/{opinion_id}")
            meeting = await api.maybe(f"/api/meetings/{r['meeting_id']}") if who.role != "organizer" else None
            names = await unit_names(api, r["body"])
        r["is_overdue"] = overdue(r)
        agenda = (meeting or {}).get("agenda") or []
        item = next((a["title"] for a in agenda if a.get("index") == r["agenda_index"]), None)
        return page(
            request,
            "opinion.html",
            principal=who,
            title="审议意见",
            r=r,
            meeting=meeting,
            item=item,
            unit=names.get(r["to_unit_id"], r["to_unit_id"]),
            can_answer=who.role == "organizer" and r["status"] == "sent",
            days=days_left(r.get("due_at")),
        )

    return await guarded(request, who, render)
