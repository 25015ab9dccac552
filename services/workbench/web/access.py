"""Who is asking: the session's principal, or the way to ``/login?next=…``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from libs.auth.actor import Principal
from libs.web.deps import current_principal
from libs.web.errors import Unauthenticated
from services.workbench.api import ApiError
from services.workbench.web.render import page

STAFF = ("city_staff", "county_staff", "township_staff")
ALL = (*STAFF, "organizer", "deputy")


class PageAccess:
    """Pages need the session cookie (else: to /login); a role outside ``roles`` reads a zh-CN refusal."""

    def __init__(self, *roles: str) -> None:
        self.access_roles = roles

    async def __call__(self, request: Request) -> Principal | Response:
        try:
            p = await current_principal(request)
        except Unauthenticated:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={target}", status_code=303)
        if p.role not in self.access_roles:
            return refusal(request, p, "本页面不属于您的工作范围。", 403)
        return p


def refusal(request: Request, p: Principal | None, message: str, status: int) -> Response:
    return page(request, "error.html", principal=p, title="无法打开", message=message, status_code=status)


Staff = Annotated[Principal | Response, Depends(PageAccess(*STAFF))]
Anyone = Annotated[Principal | Response, Depends(PageAccess(*ALL))]
Deputy = Annotated[Principal | Response, Depends(PageAccess("deputy"))]
Unit = Annotated[Principal | Response, Depends(PageAccess("organizer"))]


async def guarded(request: Request, p: Principal, render: Callable[[], Awaitable[Response]]) -> Response:
    """Render, answering an API refusal (404, 403, a read model still behind) as a zh-CN page."""
    try:
        return await render()
    except ApiError as e:
        status = e.status if e.status in (403, 404, 409, 503) else 502
        return refusal(request, p, e.message, status)
    except httpx.HTTPError:
        return refusal(request, p, "暂时无法读取数据，请稍后刷新页面。", 502)
