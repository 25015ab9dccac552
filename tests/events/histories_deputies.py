"""Realistic histories of the deputies context's aggregates (for tests/events/test_snapshot_codec.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from libs.events.event import Event
from services.deputies import events as de
from services.deputies import events as ue
from services.deputies.events import JurisdictionRegistered

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=TZ)
DAY = timedelta(days=1)
TOWN, COUNTY = "340403100", "340403"


def deputy(d: str) -> list[Event]:
    where = {"level": "township", "congress": TOWN, "township": TOWN}
    kinds = ("constituent_visit", "reception", "report_to_voters", "mediation", "training")
    return [
        de.DeputyRegistered(
            deputy_id=d,
            name="王秀英",
            gender="female",
            constituency="第三选区",
            term=18,
            sector="农民",
            phone="13905540000",
            elected_on=date(2021, 11, 20),
            **where,
        ),
        de.DeputyQualificationConfirmed(deputy_id=d, confirmed_on=date(2021, 12, 1), **where),
        *(
            de.DutyActivityRecorded(
                activity_id=f"a-{i}",
                deputy_id=d,
                kind=kinds[i % 5],
                on=date(2022, 1, 3) + i * DAY,
                summary="走访东村群众，了解饮水问题",
                people_count=i % 7,
                report_mode="meeting" if kinds[i % 5] == "report_to_voters" else None,
                **where,
            )
            for i in range(30)
        ),
        de.ContactRecorded(
            contact_id="k-1",
            deputy_id=d,
            kind="constituent",
            constituent_name="李四",
            village="东村",
            on=date(2022, 3, 1),
            township=TOWN,
        ),
        de.ContactRecorded(
            contact_id="k-2",
            deputy_id=d,
            kind="presidium_member",
            contact_deputy_id="d-9",
            on=date(2022, 3, 2),
            township=TOWN,
        ),
        de.DeputyContactChanged(deputy_id=d, phone="13905541111", **where),
        de.DeputyContactChanged(deputy_id=d, sector="个体工商户", **where),
        de.DeputyTerminated(
            deputy_id=d, reason="moved", effective_on=date(2024, 5, 1), reason_text="迁出本镇", **where
        ),
    ]


def user(u: str) -> list[Event]:
    return [
        ue.UserCreated(username=u, display_name="王秀英"),
        ue.RoleGranted(username=u, role="deputy", jurisdiction=TOWN, deputy_id="d-1"),
        ue.PasswordChanged(username=u),
        ue.RoleGranted(username=u, role="organizer", jurisdiction=COUNTY, unit_id="u-1"),
        ue.UserDisabled(username=u, reason="调离"),
    ]


def deputy_group(g: str) -> list[Event]:
    return [
        de.DeputyGroupFormed(
            group_id=g,
            township=TOWN,
            name="第一代表小组",
            leader_ids=("d-1",),
            member_ids=("d-1", "d-2", "d-3"),
            central=True,
        ),
        de.DeputyGroupChanged(
            group_id=g,
            township=TOWN,
            name="第一代表小组",
            leader_ids=("d-1", "d-2"),
            member_ids=("d-1", "d-2", "d-3", "d-4"),
            central=False,
        ),
    ]


def jurisdiction(code: str) -> list[Event]:
    return [JurisdictionRegistered(code=code, name="舜耕镇", kind="township", parent=COUNTY)]


def presidium(township: str) -> list[Event]:
    first = tuple(f"d-{i}" for i in range(9))
    return [
        de.PresidiumFormed(township=township, member_ids=first, chair_id="d-0", formed_on=date(2022, 1, 8)),
        de.PresidiumFormed(
            township=township,
            member_ids=(*first[1:], "d-10"),
            chair_id="d-1",
            formed_on=date(2024, 1, 9),
            replaced_member_ids=first,
        ),
    ]


def liaison_station(s: str) -> list[Event]:
    return [
        de.LiaisonStationRegistered(
            station_id=s,
            township=TOWN,
            name="舜耕镇代表之家",
            address="舜耕路 1 号",
            six_haves=de.SixHaves(place=True, sign=True),
            reception_days=("monday", "15"),
        ),
        de.LiaisonStationUpdated(
            station_id=s,
            township=TOWN,
            name="舜耕镇代表之家",
            address="舜耕路 1 号",
            six_haves=de.SixHaves(place=True, sign=True, rules=True, materials=True, records=True, roll=True),
            reception_days=("monday", "wednesday", "15"),
        ),
    ]
