"""Rendering: the Jinja2 environment, zh-CN labels and filters, the page's frame and headers."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from libs.auth.actor import Principal
from libs.domain.times import local, shown
from libs.web.middleware import PAGE_HEADERS
from services.workbench.web import labels

HERE = Path(__file__).parent
STATIC = HERE.parent / "static"


def when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return shown(value, fmt)
    if isinstance(value, datetime):
        return local(value).strftime(fmt)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def day(value: Any) -> str:
    return when(value, "%Y-%m-%d")


def days_left(value: Any) -> int | None:
    """Whole days from today (local) to ``value``'s local date; negative when past."""
    if not value:
        return None
    try:
        due = local(datetime.fromisoformat(str(value))).date()
    except ValueError:
        return None
    return (due - local(datetime.now().astimezone()).date()).days


def key() -> str:
    """A fresh ``Idempotency-Key`` for one rendered form."""
    return str(uuid.uuid4())


def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    env.filters.update(when=when, day=day, days_left=days_left)
    env.globals.update(key=key, today=lambda: local(datetime.now().astimezone()).date().isoformat(), L=labels)
    return env


env = _env()


def page(
    request: Request,
    template: str,
    *,
    principal: Principal | None,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    body = env.get_template(template).render(
        request=request, principal=principal, title=title, path=request.url.path, **context
    )
    return HTMLResponse(body, status_code=status_code, headers=security_headers())


def security_headers() -> dict[str, str]:
    """This page's own CSP (no inline style) and no caching; nosniff and the rest come from libs/web."""
    return dict(PAGE_HEADERS)
