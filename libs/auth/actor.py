"""Who is calling: the verified claims of an access token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Role = Literal["city_staff", "county_staff", "township_staff", "deputy", "organizer"]
ROLES: tuple[Role, ...] = ("city_staff", "county_staff", "township_staff", "deputy", "organizer")
STAFF: tuple[Role, ...] = ("city_staff", "county_staff", "township_staff")


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    jurisdiction: str
    deputy_id: str | None = None
    unit_id: str | None = None

    def sees(self, code: str | None) -> bool:
        """A record of jurisdiction ``code`` is inside the caller's prefix."""
        return code is not None and bool(self.jurisdiction) and code.startswith(self.jurisdiction)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF
