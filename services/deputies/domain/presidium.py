"""The township presidium (乡镇人大主席团): one aggregate per township, its id the township code.

7–13 members (up to 15 in a township configured as large), a chair among them, none holding a
government office; streets have no presidium. Forming it again replaces the old composition
whole. Street-ness, size configuration, office holders and current deputies are facts the
caller passes in.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from datetime import date

from libs.domain.errors import InvalidInput, NotForStreet
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.deputies.domain.errors import (
    DeputyTerminated,
    GovernmentOfficeHolder,
    NotCongressMember,
    PresidiumSize,
)
from services.deputies.events import PresidiumFormed

MIN_MEMBERS = 7
MAX_MEMBERS = 13
MAX_MEMBERS_LARGE = 15


@dataclass(frozen=True)
class Presidium:
    township: str
    formed: bool = False
    member_ids: tuple[str, ...] = ()
    chair_id: str | None = None
    formed_on: date | None = None


@dataclass(frozen=True)
class FormPresidium:
    township: str
    member_ids: tuple[str, ...]
    chair_id: str
    formed_on: date


@dataclass(frozen=True)
class SizeRule:
    minimum: int = MIN_MEMBERS
    maximum: int = MAX_MEMBERS
    maximum_large: int = MAX_MEMBERS_LARGE

    def bounds(self, large_township: bool) -> tuple[int, int]:
        return self.minimum, self.maximum_large if large_township else self.maximum


def is_member(p: Presidium, deputy_id: str) -> bool:
    return p.formed and deputy_id in p.member_ids


def evolve(p: Presidium, e: Event) -> Presidium:
    match e:
        case PresidiumFormed():
            return Presidium(
                township=e.township,
                formed=True,
                member_ids=e.member_ids,
                chair_id=e.chair_id,
                formed_on=e.formed_on,
            )
    return p


def decide_form(
    p: Presidium,
    c: FormPresidium,
    *,
    is_street: bool,
    large_township: bool,
    office_holder_ids: Set[str],
    congress_member_ids: Set[str] | None = None,
    current_ids: Set[str] | None = None,
    size: SizeRule = SizeRule(),
) -> list[Event]:
    """Form (or re-form) the presidium of ``c.township``.

    ``is_street``: the jurisdiction is a street (no presidium there);
    ``large_township``: the township is configured large (up to ``size.maximum_large``);
    ``office_holder_ids``: those of the named deputies who hold a government office;
    ``congress_member_ids``: those named who are deputies of this township's own congress
    (``None`` skips the check); ``current_ids``: those named who are current on ``c.formed_on``
    (``None`` skips the check).
    """
    if is_street:
        raise NotForStreet()
    named = [m.strip() for m in c.member_ids if m.strip()]
    members = tuple(dict.fromkeys(named))
    if len(members) != len(named):
        twice = sorted({m for m in named if named.count(m) > 1})
        raise InvalidInput("member_ids", f"主席团成员名单中有重复的代表：{'、'.join(twice)}。")
    minimum, maximum = size.bounds(large_township)
    if not minimum <= len(members) <= maximum:
        raise PresidiumSize(len(members), minimum, maximum)
    if c.chair_id not in members:
        raise InvalidInput("chair_id", "人大主席（主席团主席）必须是主席团成员。")
    holders = [m for m in members if m in office_holder_ids]
    if holders:
        raise GovernmentOfficeHolder(holders)
    if congress_member_ids is not None:
        others = [m for m in members if m not in congress_member_ids]
        if others:
            raise NotCongressMember(others)
    if current_ids is not None:
        not_current = [m for m in members if m not in current_ids]
        if not_current:
            raise DeputyTerminated(not_current)
    if p.formed and set(p.member_ids) == set(members) and p.chair_id == c.chair_id:
        return []  # the same presidium again records nothing
    return [
        PresidiumFormed(
            township=c.township,
            member_ids=members,
            chair_id=c.chair_id,
            formed_on=c.formed_on,
            replaced_member_ids=p.member_ids if p.formed else (),
        )
    ]


PRESIDIUM: AggregateType[Presidium] = AggregateType(
    name="presidium", context="deputies", initial=lambda township: Presidium(township=township), evolve=evolve
)
