"""A deputy's contact details: the phone (where SMS go) and the sector, changed after registration.

Part of the deputy aggregate (``domain/deputy.py`` folds ``DeputyContactChanged``); kept apart so
that module stays readable. Pure: the decision answers events or raises a ``DomainError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from libs.domain.errors import InvalidInput
from libs.events.event import Event
from services.deputies.domain.deputy import Deputy
from services.deputies.domain.errors import ContactOfFormerDeputy, DeputyNotRegistered
from services.deputies.domain.vocabulary import checked_phone
from services.deputies.events import DeputyContactChanged

MAX_SECTOR = 100


@dataclass(frozen=True)
class ChangeContact:
    """None leaves a detail as it is."""

    deputy_id: str
    phone: str | None = field(default=None, repr=False)  # personal data: never logged
    sector: str | None = None


def decide_change_contact(d: Deputy, c: ChangeContact) -> list[Event]:
    """Change a current deputy's phone or sector; the same details again change nothing."""
    if not d.registered:
        raise DeputyNotRegistered()
    if d.terminated_on is not None:
        raise ContactOfFormerDeputy()
    if c.phone is None and c.sector is None:
        raise InvalidInput("phone", "请填写新的联系电话或代表构成。")
    phone = checked_phone(c.phone)
    if c.phone is not None and phone is None:
        raise InvalidInput("phone", "请填写新的联系电话。")
    sector = c.sector.strip() if c.sector is not None else None
    if sector is not None and len(sector) > MAX_SECTOR:
        raise InvalidInput("sector", f"代表构成不能超过 {MAX_SECTOR} 字。")
    new_phone = phone if phone is not None and phone != d.phone else None
    new_sector = sector if sector is not None and sector != d.sector else None
    if new_phone is None and new_sector is None:
        return []
    return [
        DeputyContactChanged(
            deputy_id=d.id,
            phone=new_phone,
            sector=new_sector,
            level=d.level,
            congress=d.congress,
            township=d.township,
        )
    ]
