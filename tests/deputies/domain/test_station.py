"""Liaison stations: the "六有" checklist and the reception days."""

from __future__ import annotations

from datetime import date

import pytest

from libs.domain.errors import InvalidInput
from services.deputies.domain.errors import StationNotRegistered
from services.deputies.domain.station import (
    STATION,
    RegisterLiaisonStation,
    UpdateLiaisonStation,
    decide_register,
    decide_update,
    meets_six_haves,
    missing_six_haves,
    receives_on,
)
from services.deputies.events import SixHaves

T = "340403103"  # 三和镇


def test_missing_items_of_the_six_haves_come_in_the_standards_order():
    assert missing_six_haves(SixHaves(place=True, sign=True, records=True)) == ("rules", "materials", "roll")
    assert meets_six_haves(SixHaves(place=True, sign=True, rules=True, materials=True, records=True, roll=True))


def test_registering_normalises_reception_days():
    c = RegisterLiaisonStation(
        "s1", T, "三和镇代表之家", "三和街 8 号", SixHaves(place=True), ("Monday", "05", "monday")
    )
    [e] = decide_register(STATION.initial("s1"), c)
    assert e.reception_days == ("monday", "5")


def test_an_unknown_reception_day_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide_register(STATION.initial("s1"), RegisterLiaisonStation("s1", T, "站", reception_days=("周一",)))
    assert err.value.field == "reception_days"


def test_updating_the_checklist_records_the_new_snapshot_once():
    s = STATION.replay("s1", decide_register(STATION.initial("s1"), RegisterLiaisonStation("s1", T, "站")))
    c = UpdateLiaisonStation("s1", "站", six_haves=SixHaves(place=True, sign=True))
    [e] = decide_update(s, c)
    assert missing_six_haves(e.six_haves) == ("rules", "materials", "records", "roll")
    assert (
        decide_update(
            STATION.replay("s1", [*decide_register(STATION.initial("s1"), RegisterLiaisonStation("s1", T, "站")), e]),
            c,
        )
        == []
    )


def test_updating_an_unknown_station_is_not_found():
    with pytest.raises(StationNotRegistered):
        decide_update(STATION.initial("x"), UpdateLiaisonStation("x", "站"))


def test_reception_days_by_weekday_and_by_day_of_month():
    assert receives_on(("wednesday",), date(2024, 6, 5))
    assert receives_on(("15",), date(2024, 6, 15))
    assert receives_on(("31",), date(2024, 6, 30))  # the month's last day stands in
    assert not receives_on(("monday", "1"), date(2024, 6, 5))
