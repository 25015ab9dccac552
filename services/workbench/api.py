"""Reading the contexts' JSON APIs with the caller's own session, server side.

The pages are rendered from the same answers a script would get: the session token goes on as a
bearer token (so the API applies the caller's own rights), and the ``renda_after`` cookie the forms
leave after a command goes on as ``Renda-After`` (the page shows the caller's own write).
``RENDA_WORKBENCH_API_URL`` names where the APIs answer; by default the base URL the page was asked
on (the one base URL of ``renda up``, or the ingress in production).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx
from fastapi import Request

from libs.auth.tokens import SESSION_COOKIE
from services.workbench.settings import workbench_settings

AFTER_COOKIE = "renda_after"


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        err = body.get("error") or {}
        self.status = status
        self.code = str(err.get("code", "error"))
        self.message = str(err.get("message") or "服务暂时不可用，请稍后再试。")
        super().__init__(f"{status} {self.code}")


def base_url(request: Request) -> str:
    configured = workbench_settings().workbench_api_url.strip()
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


class Api:
    def __init__(self, request: Request) -> None:
        headers = {"Authorization": f"Bearer {request.cookies.get(SESSION_COOKIE, '')}", "Accept": "application/json"}
        after = unquote(request.cookies.get(AFTER_COOKIE, ""))
        after = ",".join(p for p in after.split("|") if p.count(":") == 1)
        if after:
            headers["Renda-After"] = after
        self.client = httpx.AsyncClient(base_url=base_url(request), headers=headers, timeout=20)

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v not in (None, "")}
        r = await self.client.get(path, params=clean)
        if r.status_code >= 400:
            try:
                body = r.json()
            except ValueError:
                body = {}
            raise ApiError(r.status_code, body if isinstance(body, dict) else {})
        return r.json()

    async def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list (following ``next_cursor``, at most a few pages)."""
        out: list[dict[str, Any]] = []
        cursor = None
        for _ in range(10):
            page = await self.get(path, limit=500, cursor=cursor, **params)
            out.extend(page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return out

    async def maybe(self, path: str, default: Any = None, **params: Any) -> Any:
        """The answer, or ``default`` when the record is not there (404) or not the caller's (403)."""
        try:
            return await self.get(path, **params)
        except ApiError as e:
            if e.status in (403, 404):
                return default
            raise
