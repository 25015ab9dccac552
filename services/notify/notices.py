"""Who hears of what (contract "Notifications"): one event → the inbox items of its addressees.

Addressees are what a token carries: ``unit:<id>`` (every organizer of the unit), ``deputy:<id>``,
``staff:<code>`` (every township or county staff user of exactly that code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from libs.events.envelope import Envelope
from services.notify import reference as ref
from services.notify.templates import lead_time, local

NOTICE_EVENTS = (
    "SuggestionAssigned",
    "ReplyReminderDue",
    "ReplyOverdue",
    "SuggestionReplied",
    "RehandlingStarted",
    "PromiseOverdue",
    "MeetingScheduled",
    "MeetingChanged",
    "MeetingCancelled",
    "JointInspectionLaunched",
    "ReviewOpinionReminderDue",
    "ReviewOpinionOverdue",
)
# A, B and C in the rule book's words (domain.md, "Reply"), as the dashboard and the workbench name them
RESULTS = {"A": "A类：已解决或采纳", "B": "B类：正在解决或列入计划", "C": "C类：因条件限制暂不能解决"}


@dataclass
class Item:
    addressee: str
    kind: str
    params: dict[str, Any]
    link: str
    jurisdiction: str


@dataclass
class Notice:
    kind: str
    link: str
    jurisdiction: str
    params: dict[str, Any]
    addressees: list[tuple[str, str]] = field(default_factory=list)  # (addressee, audience)

    def items(self) -> list[Item]:
        seen: set[str] = set()
        out = []
        for addressee, audience in self.addressees:
            if addressee in seen:
                continue
            seen.add(addressee)
            out.append(Item(addressee, self.kind, {**self.params, "audience": audience}, self.link, self.jurisdiction))
        return out


async def _unit_name(tx: AsyncConnection, unit_id: str | None) -> str:
    row = await ref.unit(tx, unit_id) if unit_id else None
    return str(row["name"]) if row else "承办单位"


async def _deputy_name(tx: AsyncConnection, deputy_id: str) -> str:
    row = await ref.deputy(tx, deputy_id)
    return str(row["name"]) if row else ""


async def _suggestion_title(tx: AsyncConnection, suggestion_id: str) -> str:
    row = await ref.suggestion(tx, suggestion_id)
    return str(row["title"]) if row else suggestion_id


async def plan(env: Envelope, tx: AsyncConnection, tz: ZoneInfo) -> list[Item]:
    """The inbox items one event makes (none for events that notify nobody)."""
    d: Any = env.data
    t = env.type
    if t in ("SuggestionAssigned", "ReplyReminderDue", "ReplyOverdue", "SuggestionReplied", "RehandlingStarted"):
        return (await _suggestion_notice(env, tx, tz)).items()
    if t == "PromiseOverdue":
        unit = await _unit_name(tx, d.lead_unit_id)
        n = Notice(
            "promise_overdue",
            f"/suggestions/{d.suggestion_id}",
            d.jurisdiction,
            {
                "suggestion": await _suggestion_title(tx, d.suggestion_id),
                "unit": unit,
                "deadline": local(d.promised_by, tz),
            },
        )
        n.addressees = [(f"unit:{d.lead_unit_id}", "unit"), (f"staff:{d.jurisdiction}", "staff")]
        n.addressees += [(f"deputy:{i}", "deputy") for i in d.deputy_ids]
        return n.items()
    if t in ("MeetingScheduled", "MeetingChanged", "MeetingCancelled"):
        return await _meeting_items(env, tx, tz)
    if t == "JointInspectionLaunched":
        out = []
        for insp in d.inspections:
            n = Notice(
                "joint_inspection_launched",
                f"/meetings/{insp.meeting_id}",
                insp.township,
                {
                    "theme": d.theme,
                    "place": await ref.place_name(tx, insp.township),
                    "window_start": d.window_start.isoformat(),
                    "window_end": d.window_end.isoformat(),
                    "requirements": d.requirements,
                },
                [(f"staff:{insp.township}", "staff")],
            )
            out += n.items()
        return out
    if t in ("ReviewOpinionReminderDue", "ReviewOpinionOverdue"):
        return await _review_opinion_items(env, tx, tz)
    return []


async def _suggestion_notice(env: Envelope, tx: AsyncConnection, tz: ZoneInfo) -> Notice:
    d: Any = env.data
    row = await ref.suggestion(tx, d.suggestion_id) or {}
    title = row.get("title") or d.suggestion_id
    link = f"/suggestions/{d.suggestion_id}"
    t = env.type
    unit_id = getattr(d, "unit_id", None) or getattr(d, "lead_unit_id", None)
    params: dict[str, Any] = {"suggestion": title, "subject": title, "unit": await _unit_name(tx, unit_id)}
    params["deadline"] = local(getattr(d, "due_at", None), tz)
    n = Notice("", link, d.jurisdiction, params)
    if t == "SuggestionAssigned":
        n.kind = "assigned"
        params["unit"] = await _unit_name(tx, d.lead_unit_id)
        n.addressees = [(f"unit:{d.lead_unit_id}", "unit")]
        # Each co-unit reads its own role in its own item.
        co = [(f"unit:{u}", "co_unit") for u in d.co_unit_ids]
        n.addressees += co
    elif t == "ReplyReminderDue":
        n.kind = "reminder"
        params.update(what="代表建议", lead=lead_time(d.lead_time))
        n.addressees = [(f"unit:{d.unit_id}", "unit")]
    elif t == "ReplyOverdue":
        n.kind = "overdue"
        n.addressees = [(f"unit:{d.unit_id}", "unit"), (f"staff:{d.jurisdiction}", "staff")]
        n.addressees += [(f"deputy:{i}", "deputy") for i in d.deputy_ids]
    elif t == "SuggestionReplied":
        n.kind = "replied"
        lead = (row.get("deputy_ids") or [None])[0]
        params.update(result=RESULTS.get(d.result, d.result), deputy=await _deputy_name(tx, lead) if lead else "")
        n.addressees = [(f"deputy:{lead}", "deputy")] if lead else []
    elif t == "RehandlingStarted":  # follows an unsatisfied evaluation in the same command
        n.kind = "unsatisfied"
        params["comment"] = row.get("last_comment") or ""
        n.addressees = [(f"staff:{d.jurisdiction}", "staff"), (f"unit:{d.lead_unit_id}", "unit")]
    return n


async def _meeting_items(env: Envelope, tx: AsyncConnection, tz: ZoneInfo) -> list[Item]:
    d: Any = env.data
    row = await ref.meeting(tx, d.meeting_id) or {}
    t = env.type
    base = {
        "meeting": getattr(d, "title", None) or row.get("title") or "会议",
        "starts": local(getattr(d, "starts_at", None) or row.get("starts_at"), tz),
        "venue": getattr(d, "venue", None) or row.get("venue") or "指定地点",
        "cancelled": t == "MeetingCancelled",
        "removed": False,
        "unit": "",
        "deadline": local(getattr(d, "starts_at", None) or row.get("starts_at"), tz),
    }
    kind = "meeting_scheduled" if t == "MeetingScheduled" else "meeting_changed"
    invitees = list(d.invitee_ids)
    removed = list(getattr(d, "removed_invitee_ids", ()))
    code = env.jurisdiction
    out = []
    for did in invitees + [r for r in removed if r not in invitees]:
        params = {**base, "deputy": await _deputy_name(tx, did), "removed": did in removed and did not in invitees}
        out += Notice(kind, f"/meetings/{d.meeting_id}", code, params, [(f"deputy:{did}", "deputy")]).items()
    return out


async def _review_opinion_items(env: Envelope, tx: AsyncConnection, tz: ZoneInfo) -> list[Item]:
    d: Any = env.data
    row = await ref.review_opinion(tx, d.review_opinion_id) or {}
    meeting = await ref.meeting(tx, row["meeting_id"]) if row else None
    title = meeting["title"] if meeting else "会议"
    link = f"/meetings/{row['meeting_id']}" if row else "/meetings"
    body = row.get("body") or env.jurisdiction
    params = {"meeting": title, "subject": f"{title}审议意见", "unit": await _unit_name(tx, d.to_unit_id)}
    params["deadline"] = local(d.due_at, tz)
    if env.type == "ReviewOpinionReminderDue":
        params.update(what="审议意见", lead="、".join(lead_time(x) for x in d.leads))
        return Notice("reminder", link, body, params, [(f"unit:{d.to_unit_id}", "unit")]).items()
    n = Notice("review_opinion_overdue", link, body, params, [(f"unit:{d.to_unit_id}", "unit")])
    n.addressees.append((f"staff:{body}", "staff"))
    return n.items()
