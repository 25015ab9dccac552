"""Rendering: the Jinja2 environment, filters for numbers, rates and times, the page's frame."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from libs.auth.actor import Principal
from libs.domain.times import local, shown
from libs.figures.rates import RATE_NAMES
from libs.web.middleware import PAGE_HEADERS
from services.supervision.details import RESULT_ZH, ROLE_ZH, SATISFACTION_ZH
from services.supervision.exports import KIND_ZH, OVERDUE_KIND_ZH
from services.supervision.flags import FLAG_ZH, RATE_ZH, STATUS_ZH
from services.supervision.records import Moment

HERE = Path(__file__).parent
STATIC = HERE.parent / "static"
NO_DATA = "无可计算的事项"


def pct(r: dict[str, Any] | None) -> str:
    if not r or r.get("rate") is None:
        return "—"
    return f"{r['rate'] * 100:.1f}%"


def frac(r: dict[str, Any] | None) -> str:
    if not r:
        return ""
    return f"{r['numerator']}/{r['denominator']}"


def rate_cell(r: dict[str, Any] | None) -> Markup:
    """A rate with its fraction beside; 「—」 with the tooltip 「无可计算的事项」 when nothing counts."""
    if not r or r.get("rate") is None:
        return Markup('<span class="na" title="{0}">—</span>').format(NO_DATA)
    low = " low" if r["rate"] < 0.8 else ""
    return Markup('<span class="rate{0}" title="分子/分母 {1}">{2}</span> <small class="frac">{1}</small>').format(
        low, frac(r), pct(r)
    )


def when(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return shown(value, fmt)
    if isinstance(value, datetime):
        return local(value).strftime(fmt)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def as_json(value: Any) -> Markup:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


# A flag's few words for a table cell (the full sentence is its tooltip and on the place's page).
FLAG_SHORT = {
    "sessions_below_minimum": "人代会次数不足",
    "session_too_short": "人代会会期不足",
    "presidium_quarter_missed": "主席团季度未开",
    "presidium_gap_over_3_months": "主席团间隔超 3 个月",
    "group_activities_below_minimum": "小组活动不足",
    "reports_to_voters_below_30_percent": "述职不足 30%",
    "overdue_suggestions": "建议逾期",
    "unit_over_unsatisfied_limit": "单位不满意超限",
}

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
env.filters.update(pct=pct, frac=frac, rate_cell=rate_cell, when=when, as_json=as_json)
env.globals.update(
    RATE_NAMES=RATE_NAMES,
    RATE_ZH=RATE_ZH,
    STATUS_ZH=STATUS_ZH,
    FLAG_ZH=FLAG_ZH,
    FLAG_SHORT=FLAG_SHORT,
    KIND_ZH=KIND_ZH,
    OVERDUE_KIND_ZH=OVERDUE_KIND_ZH,
    RESULT_ZH=RESULT_ZH,
    SATISFACTION_ZH=SATISFACTION_ZH,
    ROLE_ZH=ROLE_ZH,
    NO_DATA=NO_DATA,
)


def query(m: Moment, **extra: Any) -> str:
    """The query string that keeps the date of the view (and ``extra``) on a link."""
    parts = [f"{k}={v}" for k, v in extra.items() if v not in (None, "")]
    if m.historical and m.as_of is not None:
        parts.append(f"as_of={m.as_of.isoformat()}")
    return ("?" + "&".join(parts)) if parts else ""


def page(
    request: Request,
    template: str,
    *,
    principal: Principal | None,
    m: Moment | None,
    title: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    body = env.get_template(template).render(
        request=request,
        principal=principal,
        jurisdiction_name=context.pop("jurisdiction_name", None),
        m=m,
        q=(lambda **kw: query(m, **kw)) if m else (lambda **kw: ""),
        title=title,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(body, status_code=status_code, headers=security_headers())


def security_headers() -> dict[str, str]:
    """This page's own CSP (no inline style) and no caching; nosniff and the rest come from libs/web."""
    return dict(PAGE_HEADERS)
