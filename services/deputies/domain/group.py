"""The deputy group (代表小组) aggregate: leaders, members, one central group per township.

Groups mix deputies of every level who live or work in the township (or street); no size is
ever refused. Whether the township already has a central group, and which deputies are
current, are facts of other aggregates: the caller passes them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass, replace

from libs.domain.errors import AlreadyExists, InvalidInput
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.deputies.domain.errors import (
    CentralGroupExists,
    DeputyTerminated,
    GroupNotFormed,
)
from services.deputies.events import DeputyGroupChanged, DeputyGroupFormed

MAX_NAME = 100


@dataclass(frozen=True)
class DeputyGroup:
    id: str
    formed: bool = False
    township: str = ""
    name: str = ""
    leader_ids: tuple[str, ...] = ()
    member_ids: tuple[str, ...] = ()
    central: bool = False


@dataclass(frozen=True)
class FormDeputyGroup:
    group_id: str
    township: str
    name: str
    leader_ids: tuple[str, ...]
    member_ids: tuple[str, ...]
    central: bool = False


@dataclass(frozen=True)
class ChangeDeputyGroup:
    group_id: str
    name: str
    leader_ids: tuple[str, ...]
    member_ids: tuple[str, ...]
    central: bool = False


def evolve(g: DeputyGroup, e: Event) -> DeputyGroup:
    match e:
        case DeputyGroupFormed():
            return DeputyGroup(
                id=e.group_id,
                formed=True,
                township=e.township,
                name=e.name,
                leader_ids=e.leader_ids,
                member_ids=e.member_ids,
                central=e.central,
            )
        case DeputyGroupChanged():
            return replace(g, name=e.name, leader_ids=e.leader_ids, member_ids=e.member_ids, central=e.central)
    return g


def decide_form(
    g: DeputyGroup,
    c: FormDeputyGroup,
    *,
    central_group_exists: bool,
    current_ids: Set[str] | None = None,
) -> list[Event]:
    """Form a group.

    ``central_group_exists``: the township already has a central group (another one);
    ``current_ids``: the deputies current today among those named (``None`` skips the check).
    """
    if g.formed:
        raise AlreadyExists("该代表小组已组建；调整成员请使用小组变更。", group_id=g.id)
    township = c.township.strip()
    if not (township.isdigit() and len(township) == 9):
        raise InvalidInput("township", "乡镇（街道）代码应为 9 位行政区划代码。")
    name, leaders, members = _composition(c.name, c.leader_ids, c.member_ids, current_ids)
    if c.central and central_group_exists:
        raise CentralGroupExists()
    return [
        DeputyGroupFormed(
            group_id=c.group_id,
            township=township,
            name=name,
            leader_ids=leaders,
            member_ids=members,
            central=c.central,
        )
    ]


def decide_change(
    g: DeputyGroup,
    c: ChangeDeputyGroup,
    *,
    central_group_exists: bool,
    current_ids: Set[str] | None = None,
) -> list[Event]:
    """Change name, leaders, members or the central flag; an unchanged group records nothing.

    ``central_group_exists``: another group of the township is central (not this one).
    """
    if not g.formed:
        raise GroupNotFormed()
    name, leaders, members = _composition(c.name, c.leader_ids, c.member_ids, current_ids)
    if c.central and not g.central and central_group_exists:
        raise CentralGroupExists()
    if (name, leaders, members, c.central) == (g.name, g.leader_ids, g.member_ids, g.central):
        return []
    return [
        DeputyGroupChanged(
            group_id=g.id,
            township=g.township,
            name=name,
            leader_ids=leaders,
            member_ids=members,
            central=c.central,
        )
    ]


def _composition(
    name: str,
    leader_ids: Iterable[str],
    member_ids: Iterable[str],
    current_ids: Set[str] | None,
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Name, leaders and members (leaders included, each once, in the given order)."""
    name = name.strip()
    if not name:
        raise InvalidInput("name", "请填写代表小组名称。")
    if len(name) > MAX_NAME:
        raise InvalidInput("name", f"小组名称不能超过 {MAX_NAME} 字。")
    leaders = _unique(leader_ids)
    if not leaders:
        raise InvalidInput("leader_ids", "代表小组至少要有一名组长。")
    members = _unique([*leaders, *member_ids])
    if current_ids is not None:
        not_current = [m for m in members if m not in current_ids]
        if not_current:
            raise DeputyTerminated(not_current)
    return name, leaders, members


def require_grouped_in(township: str, grouped_in: dict[str, str | None]) -> None:
    """A group takes only deputies grouped in its township (of any level); ``grouped_in``: id → township."""
    elsewhere = [i for i, where in grouped_in.items() if where != township]
    if elsewhere:
        raise InvalidInput("member_ids", f"以下代表不在本乡镇（街道）编组：{'、'.join(elsewhere)}。")


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(i.strip() for i in ids if i.strip()))


GROUP: AggregateType[DeputyGroup] = AggregateType(
    name="deputy_group", context="deputies", initial=lambda gid: DeputyGroup(id=gid), evolve=evolve
)
