"""zh-CN words for the API's codes, as a clerk, a unit and a deputy read them."""

from __future__ import annotations

ROLE = {
    "city_staff": "市人大常委会",
    "county_staff": "县（区）人大常委会",
    "township_staff": "乡镇人大（街道人大工委）",
    "deputy": "代表",
    "organizer": "承办单位",
    "operator": "运维",
}
STATUS = {
    "submitted": "待交办",
    "assigned": "办理中",
    "replied": "已答复",
    "rehandling": "重新办理",
    "closed": "已办结",
}
RESULT = {"A": "A 类（已解决或采纳）", "B": "B 类（正在解决或列入计划）", "C": "C 类（因条件限制暂不能解决）"}
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
MODE = {"face_to_face": "面对面", "phone": "电话", "online": "网络"}
COMPLEXITY = {"normal": "一般（3 个月内答复）", "complex": "复杂（6 个月内答复）"}
DURING = {"recess": "闭会期间", "session": "大会期间"}
MEETING_KIND = {
    "congress_session": "人民代表大会会议",
    "presidium_meeting": "主席团会议",
    "group_activity": "代表小组活动",
    "inspection": "视察调研",
    "special_report_hearing": "听取专项工作报告",
}
MEETING_STATUS = {
    "scheduled": "已安排",
    "convened": "已开会",
    "in_session": "进行中",
    "adjourned": "已闭会",
    "cancelled": "已取消",
}
LEVEL = {
    "township": "乡镇",
    "county": "县（区）",
    "city": "市",
    "province": "省",
    "national": "全国",
}
TERMINATION = {
    "resigned": "辞职",
    "recalled": "罢免",
    "moved": "迁出（调离本行政区域）",
    "deceased": "去世",
    "term_ended": "任期届满",
}
CHANNEL = {"email": "电子邮件", "sms": "手机短信", "bot": "工作群机器人（企业微信、钉钉等）"}
REVIEW_STATUS = {"sent": "待反馈", "answered": "已反馈"}
REVIEWABLE = ("inspection", "special_report_hearing")
VOTING = ("congress_session", "presidium_meeting")  # the only kinds that vote (by all members)
ATTENDANCE = {"present": "出席", "on_leave": "请假", "absent": "缺席"}
ACTIVITY = {
    "constituent_visit": "走访选民",
    "reception": "进站接待选民",
    "report_to_voters": "向选民述职",
    "mediation": "调解矛盾纠纷",
    "training": "参加学习培训",
    "good_deed": "办实事好事",
    "household_help": "联系帮扶困难户",
    "constituent_meeting": "参加选民座谈",
}
EVENT = {
    "SuggestionSubmitted": "提出建议",
    "SuggestionAssigned": "交办",
    "SuggestionAcknowledged": "承办单位签收",
    "SuggestionReturned": "退办",
    "ConsultationHeld": "沟通面商",
    "SuggestionReplied": "答复",
    "ReplyReminderDue": "到期提醒",
    "ReplyOverdue": "逾期未答复",
    "DeadlineExtended": "延期",
    "SatisfactionEvaluated": "代表评价",
    "RehandlingStarted": "重新办理",
    "PromiseCarriedOut": "承诺事项落实",
    "KeySupervisionSet": "列为重点督办（催办）",
    "SuggestionClosed": "办结",
    "SuggestionMerged": "并案",
    "AttachmentAdded": "上传附件",
    "SuggestionEscalated": "向上反映",
    "UnsatisfiedJustified": "不满意有正当理由",
    "CoSignerInvited": "邀请联名",
    "SuggestionSentBack": "退回修改",
    "SuggestionRevised": "代表修改建议",
}


def of(table: dict[str, str], code: object) -> str:
    return table.get(str(code), str(code) if code is not None else "")
