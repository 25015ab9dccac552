"""The township's bodies for its staff: the presidium, the deputy groups and the liaison stations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.workbench.api import Api
from services.workbench.web.access import Staff, guarded
from services.workbench.web.meetings import township_deputies
from services.workbench.web.render import page

router = APIRouter(include_in_schema=False)
SIX_HAVES = {
    "place": "有场所",
    "sign": "有标牌",
    "rules": "有制度",
    "materials": "有资料",
    "records": "有记录",
    "roll": "有名册",
}
DAYS = {
    "monday": "周一",
    "tuesday": "周二",
    "wednesday": "周三",
    "thursday": "周四",
    "friday": "周五",
    "saturday": "周六",
    "sunday": "周日",
}


@router.get("/work/bodies")
async def bodies(request: Request, who: Staff) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        code = who.jurisdiction
        township = len(code) == 9
        async with Api(request) as api:
            people = await township_deputies(api, code)
            presidium = await api.maybe("/api/deputies/presidium", township=code) if township else None
            groups = await api.items("/api/deputies/groups", township=code if township else None)
            stations = await api.items("/api/deputies/stations", township=code if township else None)
        return page(
            request,
            "bodies.html",
            principal=who,
            title="主席团、代表小组与联络站",
            township=township,
            presidium=presidium,
            groups=groups,
            stations=stations,
            people=[(d["deputy_id"], d["name"]) for d in people],
            SIX_HAVES=SIX_HAVES,
            DAYS=DAYS,
        )

    return await guarded(request, who, render)
