"""The township / county staff's queue (人大主席团、代表工委): to assign, in hand by deadline, to judge;
and the deputies' register."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.workbench.api import Api
from services.workbench.web.access import Staff, guarded
from services.workbench.web.inbox import unread
from services.workbench.web.render import days_left, page

router = APIRouter(include_in_schema=False)


def by_deadline(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r.get("due_at") or "9999")


@router.get("/work/staff")
async def staff_queue(request: Request, who: Staff) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            notices = await unread(api, who)
            rows = await api.items("/api/suggestions", township=who.jurisdiction)
            opinions = await api.maybe("/api/suggestions/opinions", default={"items": []}, township=who.jurisdiction)
        waiting = [r for r in rows if r["status"] == "submitted"]
        in_hand = by_deadline([r for r in rows if r["status"] in ("assigned", "rehandling")])
        replied = [r for r in rows if r["status"] == "replied"]
        unsatisfied = [r for r in rows if r.get("latest_satisfaction") == "unsatisfied" and not r.get("justified")]
        return page(
            request,
            "staff.html",
            principal=who,
            inbox=notices,
            title="建议办理",
            waiting=waiting,
            in_hand=in_hand,
            replied=replied,
            unsatisfied=unsatisfied,
            opinions=[o for o in opinions.get("items", []) if o.get("status") == "recorded"],
            days_left=days_left,
        )

    return await guarded(request, who, render)


@router.get("/work/deputies")
async def deputies(request: Request, who: Staff) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            rows = await api.items("/api/deputies", township=who.jurisdiction if len(who.jurisdiction) == 9 else None)
        active = [(d["deputy_id"], d["name"]) for d in rows if d["status"] == "active" and not d.get("terminated_on")]
        return page(request, "deputies.html", principal=who, title="代表", rows=rows, active=active)

    return await guarded(request, who, render)
