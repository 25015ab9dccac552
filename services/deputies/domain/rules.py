"""Rules a province or county sets for itself, as plain values the decisions are given.

``Policy`` is built once from the settings (``app.py``) and passed down; nothing here reads the
environment or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_GOVERNMENT_SECTORS = ("government", "政府", "国家行政机关", "行政机关")


@dataclass(frozen=True)
class Policy:
    # A deputy with no activity of any kind for this many months is listed as inactive.
    inactive_months: int = 6
    # Townships whose presidium may have up to 15 members.
    large_townships: frozenset[str] = frozenset()
    # Sector (代表构成) values that mean "holds a government office" (presidium members may not).
    government_sectors: tuple[str, ...] = DEFAULT_GOVERNMENT_SECTORS

    def holds_government_office(self, sector: str) -> bool:
        s = sector.strip().lower()
        return bool(s) and any(tag.strip().lower() in s for tag in self.government_sectors if tag.strip())

    def is_large(self, township: str) -> bool:
        return township in self.large_townships
