"""People of a seeded county: Chinese names (Faker ``zh_CN``), genders, phones in a reserved block.

Phones: ``170 00xx xxxx`` (``17000`` followed by six digits). They look like mobile numbers (a
Chinese mobile number is eleven digits starting with 1) but lie in one block of the 170 segment
that we use for generated data only, so seeded data is easy to recognise and to purge from any
SMS list; deployments should not send SMS from a seeded store (docs/seed.md).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from faker import Faker

from services.deputies.events import Gender, Level

PHONE_PREFIX = "17000"


@dataclass
class Person:
    id: str
    name: str
    gender: Gender
    phone: str
    sector: str = ""
    level: Level = "township"  # township | county | city (a congress of the tree)
    congress: str = ""
    place: str = ""  # the township or street where grouped
    elected_on: date | None = None
    terminated_on: date | None = None
    by_election: bool = False
    presidium: bool = False
    tags: set[str] = field(default_factory=set)

    def active(self, on: date) -> bool:
        """Current, and registered by then (a by-elected deputy is registered on the day elected)."""
        if self.by_election and self.elected_on is not None and on <= self.elected_on:
            return False
        return self.current(on)

    def current(self, on: date) -> bool:
        if self.elected_on is not None and on < self.elected_on:
            return False
        return self.terminated_on is None or on < self.terminated_on


class Names:
    """Deterministic names and phones from one random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.faker = Faker("zh_CN")
        self.faker.seed_instance(rng.randrange(2**31))
        self._phones: set[str] = set()

    def person_name(self, gender: str) -> str:
        return self.faker.name_male() if gender == "male" else self.faker.name_female()

    def name(self) -> str:
        return self.faker.name()

    def phone(self) -> str:
        while True:
            number = f"{PHONE_PREFIX}{self.rng.randrange(1_000_000):06d}"
            if number not in self._phones:
                self._phones.add(number)
                return number
