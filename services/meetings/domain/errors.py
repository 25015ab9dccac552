"""Refusals of the meetings domain: a stable English code and a zh-CN message a clerk can act on."""

from __future__ import annotations

from libs.domain.errors import DomainError, InvalidInput, InvalidTransition, NotForStreet

__all__ = [
    "AlreadyAnswered",
    "DomainError",
    "InvalidInput",
    "InvalidTransition",
    "NotCurrentMember",
    "NotForStreet",
    "NotInvitee",
    "QuorumNotMet",
    "ReviewOpinionNotAllowed",
    "TallyExceedsPresent",
    "TownshipNotParticipating",
    "VoteNotAllowed",
]


class QuorumNotMet(DomainError):
    code = "quorum_not_met"
    message = "出席人数未达到全体组成人员的三分之二，不能宣布开会。"

    def __init__(self, *, present: int, members: int, needed: int) -> None:
        super().__init__(
            f"应到 {members} 人，实到 {present} 人，至少需要 {needed} 人出席，不能宣布开会。",
            present=present,
            members=members,
            needed=needed,
        )


class NotInvitee(DomainError):
    code = "not_invitee"
    message = "出席登记中有未受邀请参加本次会议的人员。"

    def __init__(self, person_ids: list[str]) -> None:
        super().__init__(
            f"以下人员不在本次会议的邀请名单中，不能登记出席情况：{'、'.join(person_ids)}。",
            person_ids=person_ids,
        )


class NotCurrentMember(DomainError):
    code = "not_current_member"
    message = "出席登记中有在会议日期已不是（或尚不是）组成人员的人员。"

    def __init__(self, person_ids: list[str]) -> None:
        super().__init__(
            f"以下人员在会议日期不是本会议的组成人员，不能登记出席情况：{'、'.join(person_ids)}。",
            person_ids=person_ids,
        )


class TallyExceedsPresent(DomainError):
    code = "tally_exceeds_present"
    message = "赞成、反对、弃权票数之和超过了出席人数，请核对后重新录入。"
    status = 422

    def __init__(self, *, tally: int, present: int) -> None:
        super().__init__(
            f"赞成、反对、弃权票数之和为 {tally}，超过了实际出席人数 {present}，请核对后重新录入。",
            tally=tally,
            present=present,
        )


class VoteNotAllowed(DomainError):
    code = "vote_not_allowed"
    message = "只有人民代表大会会议和主席团会议可以进行表决。"


class ReviewOpinionNotAllowed(DomainError):
    code = "review_opinion_not_allowed"
    message = "审议意见只能在视察、调研、执法检查或听取专项工作报告的会议举行后提出。"


class AlreadyAnswered(DomainError):
    code = "already_answered"
    message = "该审议意见已经反馈办理情况，不能重复反馈。"


class TownshipNotParticipating(DomainError):
    code = "township_not_participating"
    message = "该乡镇（街道）未参加本次县乡联动检查。"

    def __init__(self, township: str) -> None:
        super().__init__(f"乡镇（街道）{township} 未参加本次县乡联动检查，不能登记检查发现的问题。", township=township)
