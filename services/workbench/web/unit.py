"""The organizer unit's queue (承办单位): to sign or return within the window, in hand by deadline,
promises to carry out; review opinions (审议意见) to answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.workbench.api import Api
from services.workbench.web.access import Unit, guarded
from services.workbench.web.inbox import unread
from services.workbench.web.opinions import opinion_rows
from services.workbench.web.render import days_left, page

router = APIRouter(include_in_schema=False)


@router.get("/work/unit")
async def unit_queue(request: Request, who: Unit) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            notices = await unread(api, who)
            opinions = await opinion_rows(api)
            rows = await api.items("/api/suggestions", unit_id=who.unit_id)
            mine = [r for r in rows if r.get("lead_unit_id") == who.unit_id]
            new = [
                await api.get(f"/api/suggestions/{r['suggestion_id']}")
                for r in mine
                if r["status"] == "assigned" and not r.get("acknowledged")
            ]
            promised = [
                s
                for s in [
                    await api.get(f"/api/suggestions/{r['suggestion_id']}")
                    for r in mine
                    if r.get("latest_result") == "B"
                ]
                if any(not p.get("carried_out_on") and not p.get("superseded") for p in s.get("promises") or [])
            ]
        in_hand = sorted(
            [
                r
                for r in mine
                if r["status"] in ("assigned", "rehandling") and (r.get("acknowledged") or r["status"] == "rehandling")
            ],
            key=lambda r: r.get("due_at") or "9999",
        )
        co = [r for r in rows if r.get("lead_unit_id") != who.unit_id and r["status"] != "closed"]
        replied = [r for r in mine if r["status"] == "replied"]
        return page(
            request,
            "unit.html",
            principal=who,
            inbox=notices,
            title="承办工作",
            new=new,
            in_hand=in_hand,
            promised=promised,
            co=co,
            replied=replied,
            opinions=[o for o in opinions if o["status"] == "sent"],
            answered=[o for o in opinions if o["status"] != "sent"][:10],
            days_left=days_left,
        )

    return await guarded(request, who, render)
