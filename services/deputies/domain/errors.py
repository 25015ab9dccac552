"""Refusals of the deputies context: a stable English code and a zh-CN message a clerk can act on.

Details name deputy ids and counts only, never a phone number or a constituent's name.
"""

from __future__ import annotations

from collections.abc import Iterable

from libs.domain.errors import DomainError, InvalidTransition


class DeputyTerminated(DomainError):
    code = "deputy_terminated"
    message = "该代表的代表资格已终止，不能再提出建议、受邀参加会议或登记履职活动。"

    def __init__(self, deputy_ids: Iterable[str] = ()) -> None:
        ids = sorted(set(deputy_ids))
        text = self.message
        if len(ids) > 1:
            text = f"以下 {len(ids)} 名代表不是现任代表（资格已终止或尚未登记），不能列入：{'、'.join(ids)}。"
        details = {"deputy_ids": ids} if ids else {}
        super().__init__(text, **details)


class ContactOfFormerDeputy(InvalidTransition):
    """A terminated deputy's phone or sector is no longer kept up to date."""

    def __init__(self) -> None:
        DomainError.__init__(
            self,
            "该代表的代表资格已终止，不能再修改联系电话或代表构成。",
            status="terminated",
            action="change_contact",
        )


class DeputyNotRegistered(DomainError):
    code = "deputy_not_registered"
    message = "找不到该代表，请先登记代表信息。"
    status = 404


class QualificationNotConfirmed(DomainError):
    code = "qualification_not_confirmed"
    message = "该代表的代表资格尚未经主席团确认。"


class PresidiumSize(DomainError):
    code = "presidium_size"

    def __init__(self, actual: int, minimum: int, maximum: int) -> None:
        super().__init__(
            f"主席团成员应为 {minimum}–{maximum} 人，本次提交了 {actual} 人。",
            actual=actual,
            minimum=minimum,
            maximum=maximum,
        )


class GovernmentOfficeHolder(DomainError):
    code = "government_office_holder"

    def __init__(self, deputy_ids: Iterable[str]) -> None:
        ids = sorted(set(deputy_ids))
        super().__init__(
            f"主席团成员不得担任国家行政机关职务，以下 {len(ids)} 人须先调整：{'、'.join(ids)}。",
            deputy_ids=ids,
        )


class CentralGroupExists(DomainError):
    code = "central_group_exists"
    message = "本乡镇已有一个中心代表小组，每个乡镇只能设一个中心组。"


class GroupNotFormed(DomainError):
    code = "group_not_formed"
    message = "找不到该代表小组，请先组建小组。"
    status = 404


class StationNotRegistered(DomainError):
    code = "station_not_registered"
    message = "找不到该代表联络站，请先登记联络站。"
    status = 404


class NotPresidiumMember(DomainError):
    code = "not_presidium_member"
    message = "只有主席团成员才能登记联系代表的记录。"


class NotCongressMember(DomainError):
    """Named for a township's presidium but not a deputy of that township's own congress."""

    code = "not_congress_member"
    status = 422

    def __init__(self, deputy_ids: Iterable[str]) -> None:
        ids = sorted(set(deputy_ids))
        super().__init__(
            f"主席团成员须是本乡镇人民代表大会的代表；以下 {len(ids)} 人不是本乡镇人大代表"
            f"（例如县级、市级代表），不能列入：{'、'.join(ids)}。",
            field="member_ids",
            deputy_ids=ids,
        )
