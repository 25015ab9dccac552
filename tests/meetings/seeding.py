"""Reference data for the meetings tests, appended as the deputies' events (not typed into meetings).

Each test gets its own city/county/township codes, so tests share the suite's NATS server
without seeing each other's records.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from nats.aio.client import Client as NATS

from libs.events.envelope import Actor
from libs.events.event import Event
from libs.events.store import CommandMeta, EventStore
from services.deputies.domain.deputy import DEPUTY
from services.deputies.domain.group import GROUP
from services.deputies.domain.jurisdiction import JURISDICTION
from services.deputies.domain.presidium import PRESIDIUM
from services.deputies.events import (
    DeputyGroupFormed,
    DeputyRegistered,
    DeputyTerminated,
    JurisdictionRegistered,
    PresidiumFormed,
)
from services.suggestions.domain.unit import ORGANIZER_UNIT
from services.suggestions.events import OrganizerUnitRegistered
from tests.support.places import fresh


def fresh_county() -> tuple[str, str]:
    """A (city, county) pair of codes no other test uses."""
    city = fresh(lambda: f"{random.randint(11, 65)}{random.randint(10, 99)}")
    return city, f"{city}{random.randint(10, 99)}"


@dataclass
class Seeder:
    nc: NATS
    store: EventStore = field(init=False)
    position: int = 0  # last stream sequence written to RENDA_DEPUTIES
    unit_position: int = 0  # last stream sequence written to RENDA_SUGGESTIONS (organizer units)

    def __post_init__(self) -> None:
        self.store = EventStore(self.nc)

    @property
    def after(self) -> dict[str, str]:
        """``Renda-After`` for a request that must see everything seeded so far."""
        positions = [f"RENDA_DEPUTIES:{self.position}"]
        if self.unit_position:
            positions.append(f"RENDA_SUGGESTIONS:{self.unit_position}")
        return {"Renda-After": ",".join(positions)}

    async def _append(self, agg, aggregate_id: str, jurisdiction: str, events: list[Event]) -> int:  # type: ignore[no-untyped-def]
        meta = CommandMeta(Actor("test:seed", "operator"), "seed", str(uuid.uuid4()), datetime.now(UTC))
        loaded = await self.store.load(agg, aggregate_id, jurisdiction=jurisdiction)
        done = await self.store.append(loaded, events, meta, jurisdiction=jurisdiction)
        if agg.context == "deputies":
            self.position = max(self.position, done.stream_seq)
        return done.stream_seq

    async def unit(self, jurisdiction: str, name: str = "镇财政所") -> str:
        """An organizer unit, as the suggestions context publishes it (``OrganizerUnitRegistered``)."""
        uid = f"u{uuid.uuid4().hex[:12]}"
        event = OrganizerUnitRegistered(
            unit_id=uid,
            jurisdiction=jurisdiction,
            name=name,
            kind="township_office",
            head="王所长",
            deputy_head="李副所长",
            registered_at=datetime.now(UTC),
        )
        seq = await self._append(ORGANIZER_UNIT, uid, jurisdiction, [event])
        self.unit_position = max(self.unit_position, seq)
        return uid

    async def tree(self, city: str, county: str, places: dict[str, str]) -> None:
        """``places``: township or street code → kind."""
        await self._append(JURISDICTION, city, city, [JurisdictionRegistered(code=city, name="测试市", kind="city")])
        await self._append(
            JURISDICTION,
            county,
            county,
            [JurisdictionRegistered(code=county, name="测试县", kind="county", parent=city)],
        )
        for code, kind in places.items():
            name = f"{'街道' if kind == 'street' else '镇'}{code[-3:]}"
            await self._append(
                JURISDICTION, code, code, [JurisdictionRegistered(code=code, name=name, kind=kind, parent=county)]
            )

    async def deputies(
        self,
        township: str,
        n: int,
        *,
        elected_on: date = date(2021, 1, 1),
        level: str = "township",
        congress: str | None = None,
    ) -> list[str]:
        ids = []
        for i in range(n):
            did = f"d{uuid.uuid4().hex[:12]}"
            await self._append(
                DEPUTY,
                did,
                township,
                [
                    DeputyRegistered(
                        deputy_id=did,
                        name=f"代表{i + 1}",
                        gender="female" if i % 2 else "male",
                        level=level,
                        congress=congress or township,
                        township=township,
                        constituency="第一选区",
                        term=18,
                        elected_on=elected_on,
                    )
                ],
            )
            ids.append(did)
        return ids

    async def terminate(self, deputy_id: str, township: str, on: date) -> None:
        await self._append(
            DEPUTY,
            deputy_id,
            township,
            [
                DeputyTerminated(
                    deputy_id=deputy_id,
                    reason="moved",
                    effective_on=on,
                    level="township",
                    congress=township,
                    township=township,
                )
            ],
        )

    async def presidium(self, township: str, members: list[str], formed_on: date) -> None:
        await self._append(
            PRESIDIUM,
            township,
            township,
            [PresidiumFormed(township=township, member_ids=tuple(members), chair_id=members[0], formed_on=formed_on)],
        )

    async def group(self, township: str, members: list[str], name: str = "第一代表小组") -> str:
        gid = f"g{uuid.uuid4().hex[:12]}"
        await self._append(
            GROUP,
            gid,
            township,
            [
                DeputyGroupFormed(
                    group_id=gid, township=township, name=name, leader_ids=(members[0],), member_ids=tuple(members)
                )
            ],
        )
        return gid
