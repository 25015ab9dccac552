"""Refusals of the suggestions context: contract codes, zh-CN messages a township clerk can act on."""

from __future__ import annotations

from libs.domain.errors import (
    AlreadyExists,
    DomainError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    UnknownReference,
)
from libs.domain.errors import NotForStreet as _NotForStreet

__all__ = [
    "AlreadyEvaluated",
    "AlreadyExists",
    "ConsultationRequired",
    "DeputyTerminated",
    "DomainError",
    "InvalidInput",
    "InvalidTransition",
    "MergeTargetInvalid",
    "NoOpenPromise",
    "NotForStreet",
    "NotFound",
    "NotLeadDeputy",
    "NotLeadDeputyToRevise",
    "NotLeadUnit",
    "NotUnsatisfied",
    "ReturnWindowPassed",
    "RevisionNotRequested",
    "RevisionPending",
    "SuggestionNotFound",
    "UnknownReference",
    "WrongTransition",
]

STATUS_ZH = {
    "new": "尚未提出",
    "submitted": "已提出、待交办",
    "assigned": "已交办、办理中",
    "replied": "已答复、待代表评价",
    "rehandling": "重新办理中",
    "closed": "已办结",
    "recorded": "已登记、待处理",
    "converted": "已转为代表建议",
    "answered": "已直接答复",
}

ACTION_ZH = {
    "assign": "交办",
    "acknowledge": "签收",
    "return": "退办",
    "consult": "登记面商",
    "reply": "答复",
    "evaluate": "评价",
    "extend": "延期",
    "key_supervision": "列为重点督办",
    "merge": "并案",
    "escalate": "向上反映",
    "unsatisfied_justified": "认定不满意有正当理由",
    "implementation": "登记承诺落实",
    "attach": "添加附件",
    "convert": "转为代表建议",
    "answer": "直接答复",
    "send_back": "退回修改",
    "revise": "修改后重新提交",
}


class WrongTransition(InvalidTransition):
    """``invalid_transition`` with the status and the action named in Chinese (details stay English)."""

    def __init__(self, status: str, action: str) -> None:
        DomainError.__init__(
            self,
            f"该事项当前为「{STATUS_ZH.get(status, status)}」，不能{ACTION_ZH.get(action, action)}。",
            status=status,
            action=action,
        )


class SuggestionNotFound(NotFound):
    message = "找不到该建议，或您无权查看。"


class ConsultationRequired(DomainError):
    code = "consultation_required"
    message = "请先登记与代表的面商记录，再答复。"

    def __init__(self, *, face_to_face: bool = False) -> None:
        if face_to_face:
            super().__init__("本地规定须与代表当面面商：请先登记一次面对面面商，再答复。", mode="face_to_face")
        else:
            super().__init__()


class DeputyTerminated(DomainError):
    code = "deputy_terminated"
    message = "该代表的代表资格已终止，不能再提出建议；请核对领衔或联名代表名单。"

    def __init__(self, deputy_id: str) -> None:
        super().__init__(deputy_id=deputy_id)


class ReturnWindowPassed(DomainError):
    code = "return_window_passed"
    message = "已超过退办期限，不能再退办；如确属交办错误，请联系主席团办公室协调。"


class NotLeadDeputy(DomainError):
    code = "not_lead_deputy"
    message = "只有领衔代表本人登录后才能评价办理结果；工作人员和承办单位不能代为评价。"
    status = 403


class NotLeadUnit(DomainError):
    code = "not_lead_unit"
    message = "只有主办单位可以签收、退办、面商和答复；协办单位请向主办单位提供办理意见。"
    status = 403


class AlreadyEvaluated(DomainError):
    code = "already_evaluated"
    message = "代表已对本次答复作出评价，不能重复评价；如不满意，请等待承办单位重新答复。"


class NoOpenPromise(DomainError):
    code = "no_open_promise"
    message = "该建议没有待落实的承诺（B类答复）；只有列入计划的答复才需登记落实情况。"


class MergeTargetInvalid(DomainError):
    code = "merge_target_invalid"
    message = "并案目标无效：须为同一辖区内另一件尚未办结的建议。"


class NotUnsatisfied(DomainError):
    code = "not_unsatisfied"
    message = "该建议没有“不满意”的评价，无需认定正当理由。"


class NotForStreet(_NotForStreet):
    """A street working committee (街道人大工委) may not do this: county staff do (403, as every not_for_street)."""

    message = "街道人大工委不交办建议，也不批准延期或确定重点督办；此项工作由区人大常委会负责。"


class RevisionPending(InvalidTransition):
    """``invalid_transition``: the suggestion was sent back (退回修改) and the lead deputy has not revised it yet."""

    def __init__(self, action: str, *, requested_on: str) -> None:
        DomainError.__init__(
            self,
            f"该建议已于 {requested_on} 退回领衔代表修改，代表尚未重新提交，暂不能{ACTION_ZH.get(action, action)}；"
            "请待代表修改后再办理，或联系领衔代表催促修改。",
            status="submitted",
            action=action,
            revision_requested_on=requested_on,
        )


class RevisionNotRequested(InvalidTransition):
    """``invalid_transition``: only a suggestion sent back for revision can be revised."""

    def __init__(self, status: str) -> None:
        DomainError.__init__(
            self,
            f"该建议当前为「{STATUS_ZH.get(status, status)}」，未被退回修改，不能修改；"
            "如需补充或更正，请联系人大主席团（代表工委）办公室。",
            status=status,
            action="revise",
        )


class NotLeadDeputyToRevise(DomainError):
    code = "not_lead_deputy"
    message = "只有领衔代表本人登录后才能修改被退回的建议；联名代表请与领衔代表商量后由其修改。"
    status = 403
