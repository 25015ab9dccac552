"""How big a seeded history is: counties, places, deputies, years, and the rates of activity.

The period ends on a fixed day (``END``), not today: the same ``--seed`` gives the same history
whenever it is run (ids, times and hashes included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

END = date(2026, 11, 30)  # the last day of every seeded history (a fixed clock: determinism)
CITY = "3404"  # a city code like 淮南 (3404), its first county 340403 as in domain.md


@dataclass(frozen=True)
class Scale:
    name: str
    counties: int
    places: int  # townships and streets per county (the last ``streets`` of them are streets)
    streets: int
    deputies: int  # deputies grouped per place (all levels), at the start of the term
    years: int
    suggestions: float  # suggestions led per deputy and year
    activities: float  # duty activities recorded per deputy and year (besides reports to voters)
    users: bool = False  # demo login accounts (their password is printed)

    @property
    def start(self) -> date:
        return date(END.year - self.years + 1, 1, 1)

    def county_codes(self) -> list[str]:
        """340403 first (domain.md's example), then 340404 …"""
        return [f"{CITY}{3 + i:02d}" for i in range(self.counties)]


SCALES: dict[str, Scale] = {
    # for tests: two townships and a street, a few deputies, one year
    "tiny": Scale("tiny", counties=1, places=3, streets=1, deputies=16, years=1, suggestions=0.6, activities=3),
    # one county (340403, city 3404), 12 townships and streets, one year: ≈ 50 k events
    "demo": Scale(
        "demo", counties=1, places=12, streets=2, deputies=55, years=1, suggestions=1.0, activities=64, users=True
    ),
    # one county, five years
    "county": Scale("county", counties=1, places=15, streets=2, deputies=80, years=5, suggestions=1.0, activities=72),
    # ten counties, 150 townships and streets, 12,000 deputies, five years: ≈ 5 M events
    "city": Scale("city", counties=10, places=15, streets=2, deputies=80, years=5, suggestions=1.0, activities=72),
}
