"""The workbench's entry: ``/work/`` sends each role to its own queue; its static files."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from libs.web.deps import public
from services.workbench.web.access import Anyone
from services.workbench.web.render import STATIC

router = APIRouter(include_in_schema=False)

HOME = {"deputy": "/work/deputy", "organizer": "/work/unit"}


@router.get("/work")
@router.get("/work/")
async def home(request: Request, who: Anyone) -> Response:
    if isinstance(who, Response):
        return who
    return RedirectResponse(HOME.get(who.role, "/work/staff"), status_code=303)


@router.get("/work/static/{path:path}", dependencies=[Depends(public())])
async def static(path: str) -> Response:
    file = (STATIC / path).resolve()
    if not file.is_relative_to(STATIC.resolve()) or not file.is_file():
        return Response("未找到", status_code=404, media_type="text/plain; charset=utf-8")
    kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind.endswith("javascript"):
        kind += "; charset=utf-8"
    return FileResponse(file, media_type=kind, headers={"Cache-Control": "no-cache"})
