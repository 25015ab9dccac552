"""Each user's notification settings (通知设置, ``/work/settings``): mute a channel (e-mail, SMS, the
chat bot) with notify's own ``PUT /api/notify/preferences``; the in-app inbox always stays on. The page
also lists the caller's recent notifications, read or not."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.workbench.api import Api
from services.workbench.web.access import Anyone, guarded
from services.workbench.web.inbox import workbench_link
from services.workbench.web.render import page

router = APIRouter(include_in_schema=False)


@router.get("/work/settings")
async def preferences(request: Request, who: Anyone) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            prefs = await api.get("/api/notify/preferences")
            recent = (await api.get("/api/notify/inbox", limit=20)).get("items", [])
        for n in recent:
            n["href"] = workbench_link(str(n.get("link") or ""), who)
        return page(
            request,
            "settings.html",
            principal=who,
            title="通知设置",
            muted=set(prefs.get("muted") or []),
            recent=recent,
        )

    return await guarded(request, who, render)
