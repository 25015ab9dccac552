"""The deputies read models rebuilt from the streams on SQLite and PostgreSQL: replay gives the
same facts as the live runner, changed and cancelled meetings, re-formed presidiums."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from libs.db.engine import make_engine
from libs.events.envelope import Actor
from libs.events.projection import rebuild
from libs.events.store import CommandMeta, EventStore
from services.deputies.domain.deputy import DEPUTY
from services.deputies.domain.presidium import PRESIDIUM
from services.deputies.events import DeputyRegistered, DutyActivityRecorded, PresidiumFormed
from services.deputies.projections import DeputyRegistry, deputies, presidiums
from services.deputies.projections.dossier import DutyRecords, activities, attendance
from services.meetings.domain.meeting import MEETING
from services.meetings.events import (
    AttendanceRecorded,
    MeetingAdjourned,
    MeetingCancelled,
    MeetingChanged,
    MeetingScheduled,
)
from tests.deputies.places import fresh_tree

TZ = ZoneInfo("Asia/Shanghai")


def meta() -> CommandMeta:
    return CommandMeta(
        actor=Actor("test:staff", "township_staff"),
        correlation_id="projection-test",
        command_id=str(uuid.uuid4()),
        now=datetime.now(TZ),
    )


async def test_replay_builds_registry_and_duty_records(nc, database_url: str) -> None:
    tree = await fresh_tree(nc)
    store = EventStore(nc)
    t = tree.township
    ids = [str(uuid.uuid4()) for _ in range(9)]
    for i, d in enumerate(ids):
        reg = DeputyRegistered(
            deputy_id=d,
            name=f"代表{i}",
            gender="male",
            level="township",
            congress=t,
            township=t,
            constituency="一",
            term=18,
            phone="13900000000",
        )
        await store.execute(DEPUTY, d, lambda _, e=reg: [e], meta(), jurisdiction=t)
    act = str(uuid.uuid4())
    await store.execute(
        DEPUTY,
        ids[0],
        lambda _: [
            DutyActivityRecorded(
                activity_id=act,
                deputy_id=ids[0],
                kind="good_deed",
                on=date(2025, 5, 1),
                level="township",
                congress=t,
                township=t,
            )
        ],
        meta(),
    )
    first = PresidiumFormed(township=t, member_ids=tuple(ids[:7]), chair_id=ids[0], formed_on=date(2025, 1, 1))
    second = PresidiumFormed(
        township=t,
        member_ids=tuple(ids[2:9]),
        chair_id=ids[2],
        formed_on=date(2025, 6, 1),
        replaced_member_ids=tuple(ids[:7]),
    )
    await store.execute(PRESIDIUM, t, lambda _: [first], meta(), jurisdiction=t)
    await store.execute(PRESIDIUM, t, lambda _: [second], meta(), jurisdiction=t)

    # a meeting moved to the next day (one invitee dropped, one added), then attendance; another cancelled
    mid, gone = str(uuid.uuid4()), str(uuid.uuid4())
    start = datetime(2025, 3, 31, 20, tzinfo=TZ)  # 20:00 local: still 31 March, though 12:00 UTC
    await store.execute(
        MEETING,
        mid,
        lambda _: [
            MeetingScheduled(
                meeting_id=mid,
                kind="group_activity",
                body=t,
                title="小组活动",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                invitee_ids=(ids[0], ids[1]),
            ),
            MeetingChanged(
                meeting_id=mid,
                title="小组活动",
                starts_at=start + timedelta(days=1),
                ends_at=start + timedelta(days=1, hours=2),
                venue="",
                agenda=(),
                invitee_ids=(ids[0], ids[2]),
                observers=(),
                added_invitee_ids=(ids[2],),
                removed_invitee_ids=(ids[1],),
            ),
            # ids[3] was not invited: a row of their own; ids[4] marked twice: the later mark holds
            AttendanceRecorded(meeting_id=mid, present=(ids[0], ids[3], ids[4]), absent=(ids[2], ids[4])),
            MeetingAdjourned(
                meeting_id=mid,
                kind="group_activity",
                body=t,
                adjourned_at=start + timedelta(days=1, hours=2),
                minutes={},
                minutes_sha256="",
                invitee_ids=(ids[0], ids[2]),
                present_ids=(ids[0], ids[5]),
            ),
        ],
        meta(),
        jurisdiction=t,
    )
    await store.execute(
        MEETING,
        gone,
        lambda _: [
            MeetingScheduled(
                meeting_id=gone,
                kind="inspection",
                body=t,
                title="视察",
                starts_at=start,
                ends_at=start + timedelta(hours=2),
                invitee_ids=(ids[0],),
            ),
            MeetingCancelled(meeting_id=gone, reason="改期", invitee_ids=(ids[0],)),
            AttendanceRecorded(meeting_id=gone, present=(ids[0], ids[1])),  # cancelled: no rows
        ],
        meta(),
        jurisdiction=t,
    )

    engine = make_engine(database_url)
    try:
        await rebuild(nc, engine, DeputyRegistry())
        await rebuild(nc, engine, DutyRecords(TZ))
        async with engine.connect() as conn:
            rows = (await conn.execute(select(deputies).where(deputies.c.township == t))).mappings().all()
            assert len(rows) == 9 and {r["phone"] for r in rows} == {"13900000000"}
            p = (await conn.execute(select(presidiums).where(presidiums.c.township == t))).mappings().one()
            assert p["member_ids"] == ids[2:9] and p["chair_id"] == ids[2] and p["formations"] == 2
            acts = (await conn.execute(select(activities).where(activities.c.deputy_id == ids[0]))).mappings().all()
            assert [(a["kind"], a["on_date"], a["recorded_by"]) for a in acts] == [
                ("good_deed", date(2025, 5, 1), "township_staff")
            ]
            seen = (
                await conn.execute(
                    select(attendance.c.meeting_id, attendance.c.deputy_id, attendance.c.status, attendance.c.on_date)
                    .where(attendance.c.meeting_id.in_([mid, gone]))
                    .order_by(attendance.c.deputy_id)
                )
            ).all()
            assert sorted(seen) == sorted(
                [
                    (mid, ids[0], "present", date(2025, 4, 1)),
                    (mid, ids[2], "absent", date(2025, 4, 1)),
                    (mid, ids[3], "present", date(2025, 4, 1)),
                    (mid, ids[4], "absent", date(2025, 4, 1)),
                    (mid, ids[5], "present", date(2025, 4, 1)),
                ]
            )
    finally:
        await engine.dispose()


async def test_a_rebuild_builds_the_deferred_indexes_last_and_a_runner_restores_missing_ones(
    nc, database_url: str
) -> None:
    from sqlalchemy import inspect

    from libs.events.projection import ProjectionRunner

    def index_names(conn) -> set[str]:  # type: ignore[no-untyped-def]
        return {ix["name"] for ix in inspect(conn).get_indexes("deputies_activities")}

    dossier = DutyRecords(TZ)
    # four lookup indexes and the activity id's unique one (the table is keyed by row_id)
    assert len(dossier.deferred()) == 5 and "ux_deputies_activities_activity_id" in dossier.deferred_indexes
    engine = make_engine(database_url)
    try:
        await rebuild(nc, engine, dossier)
        async with engine.connect() as conn:
            assert await conn.run_sync(index_names) >= set(dossier.deferred_indexes)
        # a rebuild that stopped before its last step left them out: the service's runner adds them
        async with engine.begin() as conn:
            for index in dossier.deferred():
                await conn.run_sync(index.drop)
            assert not await conn.run_sync(index_names) & set(dossier.deferred_indexes)
        await ProjectionRunner(nc, engine, dossier).prepare()
        async with engine.connect() as conn:
            assert await conn.run_sync(index_names) >= set(dossier.deferred_indexes)
    finally:
        await engine.dispose()
