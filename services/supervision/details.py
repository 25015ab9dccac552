"""One suggestion (five-open facts and its history) and one joint inspection, as of a moment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.supervision import records as rc
from services.supervision import tables as t
from services.supervision.records import Moment

EVENT_ZH = {
    "SuggestionSubmitted": "提出建议",
    "SuggestionAssigned": "交办",
    "SuggestionAcknowledged": "承办单位签收",
    "SuggestionReturned": "退办",
    "ConsultationHeld": "面商",
    "SuggestionReplied": "答复",
    "ReplyReminderDue": "到期提醒",
    "ReplyOverdue": "逾期未答复",
    "DeadlineExtended": "延期",
    "SatisfactionEvaluated": "代表评价",
    "RehandlingStarted": "重新办理",
    "PromiseCarriedOut": "承诺事项已落实",
    "PromiseOverdue": "承诺事项逾期",
    "KeySupervisionSet": "列为重点督办",
    "SuggestionClosed": "办结",
    "SuggestionMerged": "并案",
    "CoSubmittersAdded": "增加联名代表",
    "AttachmentAdded": "上传附件",
    "SuggestionEscalated": "向上反映",
    "UnsatisfiedJustified": "不满意认定为有正当理由",
    "SuggestionSentBack": "退回修改",
    "SuggestionRevised": "代表修改后重新提交",
}
ROLE_ZH = {
    "city_staff": "市人大",
    "county_staff": "县（区）人大",
    "township_staff": "乡镇人大",
    "deputy": "代表",
    "organizer": "承办单位",
    "system": "系统",
}
MODE_ZH = {"face_to_face": "当面", "phone": "电话", "online": "网络"}
RESULT_ZH = {"A": "A 类（已解决或采纳）", "B": "B 类（正在解决或列入计划）", "C": "C 类（因条件限制暂不能解决）"}
SATISFACTION_ZH = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
CLOSED_ZH = {"satisfied": "评价后办结", "merged": "并案办结", "escalated": "向上反映后办结"}


def describe(kind: str, data: dict[str, Any], units: dict[str, dict[str, Any]]) -> str:
    """What happened, in words (事项)."""
    label = EVENT_ZH.get(kind, kind)

    def unit(key: str) -> str:
        u = data.get(key)
        return units.get(u, {}).get("name", u or "") if u else ""

    match kind:
        case "SuggestionSubmitted":
            return f"{label}：{data.get('title', '')}"
        case "SuggestionAssigned":
            return f"{label}给{unit('lead_unit_id')}，答复期限 {str(data.get('due_at', ''))[:10]}"
        case "ConsultationHeld":
            return f"{MODE_ZH.get(data.get('mode', ''), '')}{label}（{data.get('held_on', '')}）"
        case "SuggestionReplied":
            extra = f"，承诺 {data['promised_by']} 前落实" if data.get("promised_by") else ""
            return f"{label}：{RESULT_ZH.get(data.get('result', ''), data.get('result', ''))}{extra}"
        case "SatisfactionEvaluated":
            return f"{label}：{SATISFACTION_ZH.get(data.get('satisfaction', ''), '')}"
        case "DeadlineExtended":
            return f"{label}至 {str(data.get('new_due_at', ''))[:10]}：{data.get('reason', '')}"
        case "SuggestionClosed":
            return CLOSED_ZH.get(data.get("because", ""), label)
        case (
            "SuggestionReturned"
            | "KeySupervisionSet"
            | "UnsatisfiedJustified"
            | "SuggestionEscalated"
            | "SuggestionSentBack"
        ):
            return f"{label}：{data.get('reason', '')}"
        case "ReplyOverdue":
            return f"{label}（期限 {str(data.get('due_at', ''))[:10]}）"
        case "RehandlingStarted":
            return f"{label}，新期限 {str(data.get('due_at', ''))[:10]}"
    return label


def actor_name(subject: str, deputies: dict[str, str], units: dict[str, dict[str, Any]]) -> str:
    """Who acted, as a clerk reads it: a deputy's or a unit's name rather than its id; a user's account name."""
    kind, _, rest = subject.partition(":")
    if kind == "deputy" and rest in deputies:
        return deputies[rest]
    if kind == "unit" and rest in units:
        return str(units[rest]["name"])
    if kind == "system" or subject.startswith("system"):
        return "系统"
    return subject


async def suggestion(conn: AsyncConnection, ref: Any, sid: str, m: Moment) -> dict[str, Any] | None:
    s = t.suggestions.c
    row = (await conn.execute(select(t.suggestions).where(s.suggestion_id == sid))).mappings().first()
    if row is None or row["submitted_at"] > m.text:
        return None
    units = await rc.unit_rows(conn)
    h = t.history.c
    events = (
        (
            await conn.execute(
                select(t.history).where(h.suggestion_id == sid, h.occurred_at <= m.text).order_by(h.sequence)
            )
        )
        .mappings()
        .all()
    )
    acting = {e["actor"].split(":", 1)[1] for e in events if e["actor"].startswith("deputy:")}
    deputies = {
        r["deputy_id"]: r["name"]
        for r in (
            await conn.execute(
                select(ref.deputies).where(ref.deputies.c.deputy_id.in_(list({*row["deputy_ids"], *acting})))
            )
        ).mappings()
    }
    state: dict[str, Any] = {"status": "submitted", "lead_unit_id": None, "due_at": None, "result": None}
    state["satisfaction"] = None
    history = []
    for e in events:
        d = e["data"]
        match e["type"]:
            case "SuggestionAssigned":
                state.update(status="assigned", lead_unit_id=d.get("lead_unit_id"), due_at=d.get("due_at"))
                state["co_unit_ids"] = d.get("co_unit_ids", [])
            case "SuggestionReturned":
                state.update(status="submitted", lead_unit_id=None, due_at=None)
            case "SuggestionReplied":
                state.update(status="replied", result=d.get("result"), promised_by=d.get("promised_by"))
            case "DeadlineExtended":
                state["due_at"] = d.get("new_due_at")
            case "RehandlingStarted":
                state.update(status="rehandling", due_at=d.get("due_at"))
            case "SatisfactionEvaluated":
                state["satisfaction"] = d.get("satisfaction")
            case "SuggestionClosed":
                state["status"] = "closed"
        history.append(
            {
                "sequence": e["sequence"],
                "at": datetime.fromisoformat(e["occurred_at"]),
                "actor": e["actor"],
                "actor_name": actor_name(e["actor"], deputies, units),
                "role": e["role"],
                "role_zh": ROLE_ZH.get(e["role"], e["role"]),
                "type": e["type"],
                "what": describe(e["type"], d, units),
            }
        )
    due = datetime.fromisoformat(state["due_at"]) if state.get("due_at") else None
    overdue = state["status"] in rc.OPEN and due is not None and due < m.at
    lead = state.get("lead_unit_id")
    return {
        "suggestion_id": sid,
        "title": row["title"],
        "category": row["category"],
        "township": row["jurisdiction"],
        "source": row["source"],
        "status": state["status"],
        "deputies": [deputies.get(d, d) for d in row["deputy_ids"]],
        "lead_unit_id": lead,
        "unit": units.get(lead, {}).get("name") if lead else None,
        "co_units": [units.get(u, {}).get("name", u) for u in state.get("co_unit_ids", [])],
        "due_at": due,
        "overdue": overdue,
        "overdue_days": (m.at - due).days if overdue and due else 0,
        "result": state.get("result"),
        "promised_by": state.get("promised_by"),
        "satisfaction": state.get("satisfaction"),
        "key_supervision": any(e["type"] == "KeySupervisionSet" for e in history),
        "history": history,
    }


async def joint_inspection(conn: AsyncConnection, jid: str, m: Moment, prefix: str) -> dict[str, Any] | None:
    """Progress per township: inspected? findings? suggestions raised and their states."""
    j = t.joint_inspections.c
    row = (await conn.execute(select(t.joint_inspections).where(j.joint_inspection_id == jid))).mappings().first()
    if row is None or row["launched_at"] > m.text:
        return None
    jt = t.joint_townships.c
    parts = (
        (await conn.execute(select(t.joint_townships).where(jt.joint_inspection_id == jid).order_by(jt.township)))
        .mappings()
        .all()
    )
    visible = [p for p in parts if p["township"].startswith(prefix)]
    if not row["county"].startswith(prefix) and not visible:
        return None
    meetings = {
        r["meeting_id"]: r
        for r in (
            await conn.execute(select(t.meetings).where(t.meetings.c.meeting_id.in_([p["meeting_id"] for p in parts])))
        ).mappings()
    }
    f = t.findings.c
    found = (
        (await conn.execute(select(t.findings).where(f.joint_inspection_id == jid, rc.began(f.recorded_at, m))))
        .mappings()
        .all()
    )
    s = t.suggestions.c
    finding_ids = [x["finding_id"] for x in found]
    raised = (
        (await conn.execute(select(t.suggestions).where(s.source_id.in_(finding_ids)))).mappings().all()
        if finding_ids
        else []
    )
    status = await rc.statuses_at(conn, "", m) if raised else {}
    by_finding = {r["source_id"]: r for r in raised if r["submitted_at"] <= m.text}
    townships = []
    for p in visible:
        mt = meetings.get(p["meeting_id"])
        state = rc.meeting_status(mt, m) if mt else "scheduled"
        mine = [x for x in found if x["township"] == p["township"]]
        sugs = [by_finding[x["finding_id"]] for x in mine if x["finding_id"] in by_finding]
        states: dict[str, int] = {}
        for sg in sugs:
            st = status.get(sg["suggestion_id"], "submitted")
            states[st] = states.get(st, 0) + 1
        townships.append(
            {
                "township": p["township"],
                "meeting_id": p["meeting_id"],
                "inspection_status": state,
                "inspected": state in ("convened", "adjourned"),
                "findings": len(mine),
                "suggestions": [
                    {
                        "suggestion_id": sg["suggestion_id"],
                        "title": sg["title"],
                        "status": status.get(sg["suggestion_id"], "submitted"),
                    }
                    for sg in sugs
                ],
                "suggestion_states": states,
            }
        )
    return {
        "joint_inspection_id": jid,
        "county": row["county"],
        "theme": row["theme"],
        "law": row["law"],
        "window_start": row["window_start"],
        "window_end": row["window_end"],
        "requirements": row["requirements"],
        "steps": list(row["steps"]),
        "items": townships,
        "next_cursor": None,
    }


async def joint_inspections_under(conn: AsyncConnection, prefix: str, m: Moment) -> list[dict[str, Any]]:
    j = t.joint_inspections.c
    jt = t.joint_townships.c
    mine = select(jt.joint_inspection_id).where(rc.under(jt.township, prefix))
    q = (
        select(t.joint_inspections)
        .where(rc.began(j.launched_at, m), (rc.under(j.county, prefix)) | j.joint_inspection_id.in_(mine))
        .order_by(j.launched_at.desc())
    )
    return [dict(r) for r in (await conn.execute(q)).mappings()]
