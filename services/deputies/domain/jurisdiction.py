"""The jurisdiction tree: city (4 digits) → county/district (6) → township or street (9).

Streets are working committees of the district: no sessions, no presidium, no assigning.
"""

from __future__ import annotations

from dataclasses import dataclass

from libs.domain.errors import AlreadyExists, InvalidInput
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.deputies.events import JurisdictionRegistered, Kind

CODE_LENGTH: dict[str, int] = {"city": 4, "county": 6, "township": 9, "street": 9}
PARENT_KIND: dict[str, tuple[str, ...]] = {
    "city": (),
    "county": ("city",),
    "township": ("county",),
    "street": ("county",),
}
KIND_ZH = {"city": "市", "county": "县（区）", "township": "乡镇", "street": "街道"}


@dataclass(frozen=True)
class Jurisdiction:
    code: str
    name: str = ""
    kind: Kind | None = None
    parent: str | None = None

    @property
    def registered(self) -> bool:
        return self.kind is not None

    @property
    def is_street(self) -> bool:
        return self.kind == "street"


def evolve(j: Jurisdiction, e: Event) -> Jurisdiction:
    match e:
        case JurisdictionRegistered():
            return Jurisdiction(code=e.code, name=e.name, kind=e.kind, parent=e.parent)
    return j


JURISDICTION = AggregateType[Jurisdiction](
    name="jurisdiction", context="deputies", initial=lambda code: Jurisdiction(code=code), evolve=evolve
)


def check_code(code: str, kind: str) -> None:
    length = CODE_LENGTH[kind]
    if not code.isdigit() or len(code) != length:
        raise InvalidInput("code", f"{KIND_ZH[kind]}的区划代码应为 {length} 位数字，收到「{code}」。")


def decide_register(current: Jurisdiction, *, name: str, kind: Kind, parent: Jurisdiction | None) -> list[Event]:
    """Register ``current.code``; ``parent`` is the parent as loaded (None when none was named)."""
    check_code(current.code, kind)
    if current.registered:
        raise AlreadyExists(f"区划代码 {current.code}（{current.name}）已登记，不能重复登记。", code=current.code)
    if not name.strip():
        raise InvalidInput("name", "名称不能为空。")
    wanted = PARENT_KIND[kind]
    if not wanted:
        if parent is not None:
            raise InvalidInput("parent", "市级区划没有上级区划，请不要填写 parent。")
        return [JurisdictionRegistered(code=current.code, name=name.strip(), kind=kind, parent=None)]
    if parent is None:
        raise InvalidInput("parent", f"{KIND_ZH[kind]}必须填写上级区划代码 parent。")
    if not parent.registered:
        raise InvalidInput("parent", f"上级区划 {parent.code} 尚未登记，请先登记上级区划。")
    if parent.kind not in wanted:
        raise InvalidInput(
            "parent",
            f"{KIND_ZH[kind]}的上级应为{KIND_ZH[wanted[0]]}，而 {parent.code} 是{KIND_ZH[parent.kind or 'city']}。",
        )
    if not current.code.startswith(parent.code):
        raise InvalidInput("code", f"区划代码 {current.code} 应以上级区划代码 {parent.code} 开头。")
    return [JurisdictionRegistered(code=current.code, name=name.strip(), kind=kind, parent=parent.code)]
