"""Meetings for the staff: schedule, invite (PATCH) or cancel, roll call with the live quorum, convene,
speeches, vote, adjourn with minutes, review opinions (审议意见) after an inspection or a hearing;
joint inspections and their findings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from libs.domain.times import local
from services.workbench.api import Api
from services.workbench.web.access import Staff, guarded
from services.workbench.web.labels import REVIEWABLE
from services.workbench.web.opinions import opinion_rows, unit_names
from services.workbench.web.render import page

router = APIRouter(include_in_schema=False)


def offset() -> str:
    """The configured zone's offset now (``+08:00``), appended to a ``datetime-local`` value."""
    text = local(datetime.now().astimezone()).strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def quorum_words(q: dict[str, Any] | None) -> str:
    if not q:
        return ""
    head = f"应到 {q['members']} 人，实到 {q['present']} 人"
    if q.get("needed", 0) == 0:
        return head
    if q.get("met") or q["present"] >= q["needed"]:
        return f"{head}，已达法定人数"
    return f"{head}，未达法定人数（至少需要 {q['needed']} 人）"


async def township_deputies(api: Api, code: str) -> list[dict[str, Any]]:
    return await api.items("/api/deputies", township=code, status="active") if len(code) == 9 else []


@router.get("/work/meetings")
async def meetings(request: Request, who: Staff) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            rows = await api.items("/api/meetings", body=who.jurisdiction, year=date.today().year)
            people = await township_deputies(api, who.jurisdiction)
            opinions = await opinion_rows(api, body=who.jurisdiction)
            units = await unit_names(api, who.jurisdiction) if opinions else {}
        rows.sort(key=lambda r: r.get("starts_at") or "", reverse=True)
        return page(
            request,
            "meetings.html",
            principal=who,
            title="会议",
            rows=rows,
            people=people,
            offset=offset(),
            opinions=opinions[:50],
            units=units,
        )

    return await guarded(request, who, render)


@router.get("/work/meetings/{meeting_id}")
async def meeting(request: Request, meeting_id: str, who: Staff) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            m = await api.get(f"/api/meetings/{meeting_id}")
            people = await township_deputies(api, m["body"])
            reviewable = m["kind"] in REVIEWABLE
            opinions = await opinion_rows(api, meeting_id=meeting_id) if reviewable else []
            units = await unit_names(api, m["body"]) if reviewable else {}
        names = {d["deputy_id"]: d["name"] for d in people}
        speakers = [(i, names.get(i, i)) for i in m.get("invitee_ids") or []]
        speakers += [(o, f"{o}（列席）") for o in m.get("observers") or [] if o not in names]
        marked = {i: s for s, ids in (m.get("attendance") or {}).items() for i in ids}
        return page(
            request,
            "meeting.html",
            principal=who,
            title=m["title"],
            m=m,
            people=people,
            names=names,
            marked=marked,
            quorum=quorum_words(m.get("quorum")),
            offset=offset(),
            reviewable=reviewable,
            opinions=opinions,
            units=units,
            speakers=speakers,
        )

    return await guarded(request, who, render)


@router.get("/work/joint-inspections")
async def joint(request: Request, who: Staff) -> Response:
    if isinstance(who, Response):
        return who

    async def render() -> Response:
        async with Api(request) as api:
            rows = await api.items("/api/meetings/joint-inspections")
            details = [await api.get(f"/api/meetings/joint-inspections/{r['joint_inspection_id']}") for r in rows[:20]]
            units = await api.items("/api/suggestions/units", under=who.jurisdiction)
        return page(
            request,
            "joint.html",
            principal=who,
            title="县乡联动视察",
            rows=details,
            unit_opts=[(u["unit_id"], u["name"]) for u in units],
        )

    return await guarded(request, who, render)
