"""The caller's unread notifications on each queue (``/api/notify/inbox``), linked to workbench pages."""

from __future__ import annotations

from typing import Any

from libs.auth.actor import Principal
from services.workbench.api import Api, ApiError


def workbench_link(link: str, p: Principal) -> str:
    """The notice's dashboard path as the workbench page the caller may open."""
    if link.startswith("/suggestions/"):
        return "/work" + link
    if link.startswith("/meetings"):
        return "/work" + link if p.role not in ("deputy", "organizer") else "/work/"
    return "/work/"


async def unread(api: Api, p: Principal) -> list[dict[str, Any]]:
    """At most 20 unread notices, newest first; none when the notify service is not there."""
    try:
        page = await api.get("/api/notify/inbox", unread="true", limit=20)
    except ApiError:
        return []
    items = page.get("items", []) if isinstance(page, dict) else []
    return [{**i, "href": workbench_link(str(i.get("link") or ""), p)} for i in items]
