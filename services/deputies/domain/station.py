"""Liaison stations (代表联络站 / 代表之家): the "六有" checklist and the reception days.

Reception days are tokens: a weekday (``"monday"`` … ``"sunday"``: every week) or a day of the
month (``"1"`` … ``"31"``: every month; a day past the month's end falls on its last day).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from libs.domain.errors import AlreadyExists, InvalidInput
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.deputies.domain.errors import StationNotRegistered
from services.deputies.events import (
    LiaisonStationRegistered,
    LiaisonStationUpdated,
    SixHaves,
)

SIX_HAVES: tuple[str, ...] = ("place", "sign", "rules", "materials", "records", "roll")
SIX_HAVES_ZH: dict[str, str] = {
    "place": "有活动场所",
    "sign": "有标牌",
    "rules": "有工作制度",
    "materials": "有学习资料",
    "records": "有活动记录",
    "roll": "有代表名册",
}
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class LiaisonStation:
    id: str
    registered: bool = False
    township: str = ""
    name: str = ""
    address: str = ""
    six_haves: SixHaves = field(default_factory=SixHaves)
    reception_days: tuple[str, ...] = ()


@dataclass(frozen=True)
class RegisterLiaisonStation:
    station_id: str
    township: str
    name: str
    address: str = ""
    six_haves: SixHaves = field(default_factory=SixHaves)
    reception_days: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateLiaisonStation:
    station_id: str
    name: str
    address: str = ""
    six_haves: SixHaves = field(default_factory=SixHaves)
    reception_days: tuple[str, ...] = ()


# ---- pure checks ----------------------------------------------------------------------------


def missing_six_haves(six: SixHaves) -> tuple[str, ...]:
    """The items of the "六有" standard the station lacks, in the standard's order."""
    return tuple(item for item in SIX_HAVES if not getattr(six, item))


def meets_six_haves(six: SixHaves) -> bool:
    return not missing_six_haves(six)


def normalise_reception_days(days: Iterable[str]) -> tuple[str, ...]:
    """Valid tokens, lower-cased, each once; an unknown token is refused naming the field."""
    out: list[str] = []
    for raw in days:
        token = raw.strip().lower()
        if token.isdigit() and 1 <= int(token) <= 31:
            token = str(int(token))
        elif token not in WEEKDAYS:
            raise InvalidInput(
                "reception_days", f"接待日「{raw}」无效：请填写星期（monday…sunday）或每月几号（1–31）。"
            )
        if token not in out:
            out.append(token)
    return tuple(out)


def receives_on(days: Iterable[str], on: date) -> bool:
    """Whether ``on`` is a reception day of a station with these reception days."""
    last = calendar.monthrange(on.year, on.month)[1]
    for token in days:
        if token in WEEKDAYS and WEEKDAYS.index(token) == on.weekday():
            return True
        if token.isdigit() and min(int(token), last) == on.day:
            return True
    return False


# ---- aggregate ------------------------------------------------------------------------------


def evolve(s: LiaisonStation, e: Event) -> LiaisonStation:
    match e:
        case LiaisonStationRegistered() | LiaisonStationUpdated():
            return LiaisonStation(
                id=e.station_id,
                registered=True,
                township=e.township,
                name=e.name,
                address=e.address,
                six_haves=e.six_haves,
                reception_days=e.reception_days,
            )
    return s


def decide_register(s: LiaisonStation, c: RegisterLiaisonStation) -> list[Event]:
    """Register a station in a township or a street (streets organise groups too)."""
    if s.registered:
        raise AlreadyExists("该联络站已登记。", station_id=s.id)
    township = c.township.strip()
    if not (township.isdigit() and len(township) == 9):
        raise InvalidInput("township", "乡镇（街道）代码应为 9 位行政区划代码。")
    name = _name(c.name)
    days = normalise_reception_days(c.reception_days)
    return [
        LiaisonStationRegistered(
            station_id=c.station_id,
            township=township,
            name=name,
            address=c.address.strip(),
            six_haves=c.six_haves,
            reception_days=days,
        )
    ]


def decide_update(s: LiaisonStation, c: UpdateLiaisonStation) -> list[Event]:
    """Record the station's checklist and days as they now stand; nothing when unchanged."""
    if not s.registered:
        raise StationNotRegistered()
    name = _name(c.name)
    days = normalise_reception_days(c.reception_days)
    now = (name, c.address.strip(), c.six_haves, days)
    if now == (s.name, s.address, s.six_haves, s.reception_days):
        return []
    return [
        LiaisonStationUpdated(
            station_id=s.id,
            township=s.township,
            name=name,
            address=c.address.strip(),
            six_haves=c.six_haves,
            reception_days=days,
        )
    ]


def _name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("name", "请填写联络站名称。")
    return name


STATION: AggregateType[LiaisonStation] = AggregateType(
    name="liaison_station", context="deputies", initial=lambda sid: LiaisonStation(id=sid), evolve=evolve
)
