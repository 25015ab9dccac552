"""Each broken rule as a named flag (the contract's codes) with a message a clerk understands."""

from __future__ import annotations

from typing import Any

from dateutil.relativedelta import relativedelta

from libs.figures.compliance import Gap, GroupActivityCompliance, PresidiumCompliance, SessionCompliance

QUARTERS_ZH = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
STATUS_ZH = {
    "submitted": "已提交",
    "assigned": "已交办",
    "replied": "已答复",
    "rehandling": "重新办理",
    "closed": "已办结",
    "overdue": "逾期",
}
RATE_ZH = {
    "on_time_reply_rate": "按时答复率",
    "consultation_rate": "面商率",
    "face_to_face_rate": "面商（面对面）率",
    "satisfaction_rate": "满意率",
    "resolution_rate": "解决率",
    "implementation_rate": "落实率",
}
FLAG_ZH = {
    "sessions_below_minimum": "人代会次数不足",
    "session_too_short": "人代会会期不足",
    "presidium_quarter_missed": "主席团会议季度缺开",
    "presidium_gap_over_3_months": "主席团会议间隔超过 3 个月",
    "group_activities_below_minimum": "代表小组活动不足",
    "reports_to_voters_below_30_percent": "向选民述职比例不足 30%",
    "overdue_suggestions": "建议逾期未答复",
    "unit_over_unsatisfied_limit": "承办单位不满意件数超限",
}


def flag(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **({"details": details} if details else {})}


def gap_months(g: Gap) -> str:
    """「4 个月」, or 「3 个多月」 when a part month remains."""
    d = relativedelta(g.end, g.start)
    months = d.years * 12 + d.months
    return f"{months} 个月" if d.days == 0 else f"{months} 个多月"


def session_flags(s: SessionCompliance, min_days: int) -> list[dict[str, Any]]:
    out = []
    if "sessions_below_minimum" in s.flags:
        out.append(
            flag(
                "sessions_below_minimum",
                f"会议次数不足：全年 {s.long_enough} 次（应不少于 {s.required} 次）",
                held=s.held,
                required=s.required,
            )
        )
    if "session_too_short" in s.flags:
        out.append(
            flag(
                "session_too_short",
                f"人代会会期不足 {min_days} 天：{len(s.short_session_ids)} 次",
                meeting_ids=list(s.short_session_ids),
            )
        )
    return out


def presidium_flags(p: PresidiumCompliance) -> list[dict[str, Any]]:
    out = [
        flag("presidium_quarter_missed", f"主席团会议：{QUARTERS_ZH[q]}未召开", quarter=q) for q in p.quarters_missing
    ]
    for g in p.gaps_over_limit:
        tail = "（至今）" if g.open else ""
        out.append(
            flag(
                "presidium_gap_over_3_months",
                f"两次主席团会议间隔 {gap_months(g)}（超过 3 个月）{tail}",
                start=g.start.isoformat(),
                end=g.end.isoformat(),
                days=g.days,
            )
        )
    return out


def group_flags(g: GroupActivityCompliance, name: str) -> list[dict[str, Any]]:
    if "group_activities_below_minimum" not in g.flags:
        return []
    return [
        flag(
            "group_activities_below_minimum",
            f"代表小组活动不足：{name}全年 {g.held} 次（应不少于 {g.required} 次）",
            group_id=g.group_id,
        )
    ]


def report_flag(numerator: int, denominator: int) -> dict[str, Any]:
    share = round(100 * numerator / denominator) if denominator else 0
    return flag(
        "reports_to_voters_below_30_percent",
        f"向选民述职：在选民会议上述职的代表 {numerator}/{denominator} 名（{share}%，应不少于 30%）",
        numerator=numerator,
        denominator=denominator,
    )


def overdue_flag(count: int, oldest_days: int) -> dict[str, Any]:
    return flag("overdue_suggestions", f"逾期未答复：{count} 件，最长已逾期 {oldest_days} 天", count=count)


def unit_flag(name: str, count: int, limit: int, head: str, deputy_head: str, unit_id: str) -> dict[str, Any]:
    return flag(
        "unit_over_unsatisfied_limit",
        f"{name}不满意 {count} 件（超过 {limit} 件）：取消评优资格，负责人{head}、分管副职{deputy_head}",
        unit_id=unit_id,
        unsatisfied=count,
    )
