"""Refusals of the domain: a stable English code and a zh-CN message a clerk can act on.

The web layer renders every ``DomainError`` as 409 ``{"error": {"code", "message", "details"}}``
(``status`` overrides it where the contract says otherwise, e.g. 422 for a vote tally).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from libs.domain.field_labels import label


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    message: ClassVar[str] = "当前状态不允许此操作。"
    status: ClassVar[int] = 409

    def __init__(self, message: str | None = None, **details: Any) -> None:
        self.text = message or self.message
        self.details = details or None
        super().__init__(f"{self.code}: {self.text}")


class InvalidTransition(DomainError):
    code = "invalid_transition"
    message = "当前状态下不能进行此操作。"

    def __init__(self, status: str, action: str) -> None:
        super().__init__(f"当前状态为「{status}」，不能执行「{action}」。", status=status, action=action)


class NotForStreet(DomainError):
    """One code, one status everywhere: the contract gives street staff 403 for assigning a street's
    suggestion, so every ``not_for_street`` (a street's session, presidium, township deputy …) is 403."""

    code = "not_for_street"
    status = 403
    message = "街道人大工委不召开人民代表大会和主席团会议，也不交办建议；此项工作由区人大常委会负责。"


class AlreadyExists(DomainError):
    code = "already_exists"
    message = "该记录已存在。"


class NotFound(DomainError):
    """Raised when a referenced record does not exist (or may not be seen): rendered as 404."""

    code = "not_found"
    message = "找不到该记录，或您无权查看。"
    status = 404


class InvalidInput(DomainError):
    """A value the schema accepts but the rules refuse; rendered as 422 naming the field."""

    code = "invalid_input"
    message = "输入有误。"
    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field=field)
        self.field = field


class UnknownReference(InvalidInput):
    """An id named in a body that does not exist or that the caller may not see: one 422 for both, in
    every context, naming the field as the forms do and what was typed (a record just registered may
    not have reached the read models yet, hence the hint)."""

    def __init__(self, field: str, what: str = "编号", ids: Iterable[str] = ()) -> None:
        listed = "、".join(ids)
        typed = f"：{listed}" if listed else ""
        super().__init__(
            field, f"「{label(field)}」所指的{what}不存在，或不在您的辖区内（刚登记的请稍候片刻再试）{typed}。"
        )
