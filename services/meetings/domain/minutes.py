"""Minutes generated from a meeting's state (attendance, quorum, votes, resolutions, speeches).

The minutes are plain JSON values (str, int, bool, None, lists, dicts), built the same way from
the same events every time, and sealed by SHA-256 over the canonical encoding (sorted keys, no
whitespace, UTF-8) — the encoding of the event hash chain — so anyone can recompute the hash
from what the API returns.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from libs.domain import times
from libs.events.envelope import canonical

if TYPE_CHECKING:
    from services.meetings.domain.meeting import Meeting

KIND_NAMES = {
    "congress_session": "人民代表大会会议",
    "presidium_meeting": "主席团会议",
    "group_activity": "代表小组活动",
    "inspection": "视察（调研、执法检查）",
    "special_report_hearing": "听取专项工作报告会议",
}


def build_minutes(m: Meeting, *, adjourned_at: datetime, notes: str = "", tz: tzinfo | None = None) -> dict[str, Any]:
    """``tz``: the zone the times are printed in, each with its offset (default ``RENDA_TIMEZONE``:
    the process's configured zone, ``+08:00`` in China). Minutes already stored keep their text."""
    zone_ = tz or times.zone()

    def _time(dt: datetime | None) -> str | None:
        return None if dt is None else dt.astimezone(zone_).isoformat()

    present, on_leave, absent = (m.with_status(s) for s in ("present", "on_leave", "absent"))
    recorded = set(m.attendance)
    quorum_present = sum(1 for p in present if p in m.member_ids)
    return {
        "meeting_id": m.id,
        "kind": m.kind,
        "body": m.body,
        "group_id": m.group_id,
        "joint_inspection_id": m.joint_inspection_id,
        "title": m.title,
        "venue": m.venue,
        "starts_at": _time(m.starts_at),
        "ends_at": _time(m.ends_at),
        "convened_at": _time(m.convened_at),
        "adjourned_at": _time(adjourned_at),
        "agenda": [{"index": i, "title": a.title} for i, a in enumerate(m.agenda)],
        "quorum": {"present": quorum_present, "members": len(m.member_ids), "needed": m.needed},
        "attendance": {
            "invited": len(m.invitee_ids),
            "present": list(present),
            "on_leave": list(on_leave),
            "absent": list(absent),
            "unrecorded": sorted(p for p in m.invitee_ids if p not in recorded),
        },
        "observers": list(m.observers),
        "votes": [
            {
                "vote_index": v.vote_index,
                "agenda_index": v.agenda_index,
                "motion": v.motion,
                "yes": v.yes,
                "no": v.no,
                "abstain": v.abstain,
                "present": v.present,
                "members": v.members,
                "passed": v.passed,
            }
            for v in m.votes
        ],
        "resolutions": [
            {
                "resolution_index": r.resolution_index,
                "vote_index": r.vote_index,
                "agenda_index": r.agenda_index,
                "title": r.title,
            }
            for r in m.resolutions
        ],
        "speeches": [
            {"speaker_id": s.speaker_id, "agenda_index": s.agenda_index, "summary": s.summary} for s in m.speeches
        ],
        "notes": notes,
    }


def canonical_minutes(minutes: dict[str, Any]) -> bytes:
    return canonical(minutes)


def minutes_sha256(minutes: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_minutes(minutes)).hexdigest()


def render_minutes(minutes: dict[str, Any], *, names: dict[str, str] | None = None) -> str:
    """The minutes as zh-CN text for printing (not hashed); ``names`` maps ids to people's names."""
    who = names or {}

    def people(ids: list[str]) -> str:
        return "、".join(who.get(i, i) for i in ids) or "无"

    q, att = minutes["quorum"], minutes["attendance"]
    lines = [
        f"{minutes['title']}（{KIND_NAMES.get(minutes['kind'], minutes['kind'])}）会议纪要",
        f"地点：{minutes['venue'] or '未填写'}；开会：{minutes['convened_at']}；散会：{minutes['adjourned_at']}",
        f"应到 {q['members']} 人，实到 {q['present']} 人，法定人数 {q['needed']} 人。",
        f"出席：{people(att['present'])}",
        f"请假：{people(att['on_leave'])}",
        f"缺席：{people(att['absent'])}",
        "议程：",
        *(f"  {a['index'] + 1}. {a['title']}" for a in minutes["agenda"]),
    ]
    for v in minutes["votes"]:
        outcome = "通过" if v["passed"] else "未通过"
        lines.append(
            f"表决「{v['motion']}」：赞成 {v['yes']}，反对 {v['no']}，弃权 {v['abstain']}"
            f"（全体组成人员 {v['members']} 人），{outcome}。"
        )
    lines += [f"决议：{r['title']}" for r in minutes["resolutions"]]
    lines += [f"发言：{who.get(s['speaker_id'], s['speaker_id'])}：{s['summary']}" for s in minutes["speeches"]]
    if minutes["notes"]:
        lines.append(f"记录：{minutes['notes']}")
    return "\n".join(lines)
