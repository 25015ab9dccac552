"""One suggestion, for every role: its facts, its history, and the forms the caller may send now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from libs.auth.actor import Principal
from services.workbench.api import Api
from services.workbench.web import labels
from services.workbench.web.access import STAFF, Anyone, guarded
from services.workbench.web.render import page, when

router = APIRouter(include_in_schema=False)
OPEN = ("assigned", "rehandling")


def actions(p: Principal, s: dict[str, Any]) -> set[str]:
    """The forms this caller may use on ``s`` in its current state (the API decides in the end)."""
    status = s["status"]
    out: set[str] = set()
    sent_back = bool(s.get("revision"))  # 退回修改: waiting for the lead deputy's revision
    if p.role in STAFF:
        if status == "submitted":
            out |= {"merge", "escalate"} | (set() if sent_back else {"assign", "send_back"})
        if status in OPEN:
            out |= {"extension", "key_supervision"}
        if s.get("unsatisfied") and not s.get("unsatisfied_justified"):
            out.add("justify")
    if p.role == "organizer" and (s.get("lead_unit") or {}).get("unit_id") == p.unit_id:
        if status == "assigned" and not s.get("acknowledged"):
            out |= {"acknowledge", "return"}
        if status in OPEN:
            out |= {"consult", "reply", "attach"}
        if any(not pr.get("carried_out_on") and not pr.get("superseded") for pr in s.get("promises") or []):
            out.add("implement")
    if p.role == "organizer" and status in (*OPEN, "replied"):
        out.add("attach")  # the reply letter, photos: also once the reply is sent
    if p.role == "deputy" and status == "replied" and p.deputy_id in s.get("deputy_ids", []):
        out.add("evaluate")
    if p.role == "deputy" and status == "submitted" and sent_back and lead_deputy(s) == p.deputy_id:
        out.add("revise")
    return out


def lead_deputy(s: dict[str, Any]) -> str | None:
    lead = next((d.get("deputy_id") for d in s.get("deputies") or [] if d.get("lead")), None)
    return lead or next(iter(s.get("deputy_ids") or []), None)


def describe(item: dict[str, Any], units: dict[str, str] | None = None) -> str:
    """The gist of one event's data in a line (``units``: unit id → name)."""
    d = item.get("data") or {}
    parts = []
    if d.get("lead_unit_id"):
        parts.append(f"主办：{(units or {}).get(d['lead_unit_id'], d['lead_unit_id'])}")
    if d.get("due_at") and item.get("type") in ("SuggestionAssigned", "RehandlingStarted", "DeadlineExtended"):
        parts.append(f"答复期限 {when(d['due_at'], '%Y-%m-%d')}")
    if d.get("new_due_at"):
        parts.append(f"延期至 {when(d['new_due_at'], '%Y-%m-%d')}")
    words = {"result": labels.RESULT, "satisfaction": labels.SATISFACTION, "mode": labels.MODE}
    for k in ("title", "result", "satisfaction", "mode", "summary", "content", "comment", "reason", "measures"):
        v = d.get(k)
        if v and item.get("type") != "SuggestionClosed":
            parts.append(labels.of(words[k], v) if k in words else str(v))
    if d.get("promised_by"):
        parts.append(f"承诺 {str(d['promised_by'])[:10]} 前完成")
    if d.get("filename"):
        parts.append(str(d["filename"]))
    return " · ".join(parts)[:300]


@router.get("/work/suggestions/{suggestion_id}")
async def suggestion(request: Request, suggestion_id: str, who: Anyone) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            s = await api.get(f"/api/suggestions/{suggestion_id}")
            history = await api.items(f"/api/suggestions/{suggestion_id}/history")
            can = actions(who, s)
            units: list[dict[str, Any]] = []
            others: list[dict[str, Any]] = []
            if can & {"assign", "merge"}:
                units = await api.items("/api/suggestions/units", under=who.jurisdiction)
                units = [u for u in units if s["township"].startswith(u["jurisdiction"])]
                others = [
                    o
                    for o in await api.items("/api/suggestions", township=s["township"], status="submitted")
                    if o["suggestion_id"] != suggestion_id
                ]
        return page(
            request,
            "suggestion.html",
            principal=who,
            title=s["title"],
            s=s,
            history=history,
            can=can,
            unit_opts=[(u["unit_id"], u["name"]) for u in units],
            other_opts=[(o["suggestion_id"], o["title"]) for o in others],
            describe=describe,
            unit_names={u["unit_id"]: u["name"] for u in [s.get("lead_unit") or {}, *(s.get("co_units") or [])] if u},
        )

    return await guarded(request, who, render)
