"""The OrganizerUnit aggregate (承办单位): registered per jurisdiction; head, deputy head and contacts optional.

The head and the deputy head lose their award eligibility with the unit when it goes over the
yearly unsatisfied limit (see ``rates.unsatisfied_by_unit``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.suggestions.domain.commands import RegisterOrganizerUnit
from services.suggestions.domain.errors import AlreadyExists, InvalidInput
from services.suggestions.domain.state import text
from services.suggestions.events import OrganizerUnitRegistered


@dataclass(frozen=True)
class OrganizerUnit:
    id: str
    registered: bool = False
    jurisdiction: str = ""
    name: str = ""
    kind: str = ""
    head: str = ""
    deputy_head: str = ""
    supervising_department: str = ""
    email: str | None = None
    phone: str | None = None
    registered_at: datetime | None = None


def evolve(u: OrganizerUnit, e: Event) -> OrganizerUnit:
    match e:
        case OrganizerUnitRegistered():
            return replace(
                u,
                registered=True,
                jurisdiction=e.jurisdiction,
                name=e.name,
                kind=e.kind,
                head=e.head,
                deputy_head=e.deputy_head,
                supervising_department=e.supervising_department,
                email=e.email,
                phone=e.phone,
                registered_at=e.registered_at,
            )
    return u


ORGANIZER_UNIT: AggregateType[OrganizerUnit] = AggregateType(
    name="organizer_unit", context="suggestions", initial=lambda id: OrganizerUnit(id=id), evolve=evolve
)


def _contact(value: str | None) -> str | None:
    return (value or "").strip() or None


def decide_register(u: OrganizerUnit, c: RegisterOrganizerUnit, *, now: datetime) -> list[Event]:
    if u.registered:
        raise AlreadyExists("该承办单位已登记。")
    code = c.jurisdiction.strip()
    if not code.isdigit() or len(code) not in (6, 9):
        raise InvalidInput("jurisdiction", "请填写乡镇（街道）9 位或县（区）6 位行政区划代码。")
    return [
        OrganizerUnitRegistered(
            unit_id=u.id,
            jurisdiction=code,
            name=text(c.name, "name", "请填写承办单位名称。"),
            kind=text(c.kind, "kind", "请填写单位类别（例如站所、政府办、县直部门）。"),
            head=c.head.strip(),
            deputy_head=c.deputy_head.strip(),
            supervising_department=c.supervising_department.strip(),
            email=_contact(c.email),
            phone=_contact(c.phone),
            registered_at=now,
        )
    ]
