"""Every aggregate type of the services: a state folded from its events survives a snapshot exactly.

The store folds events decoded from the stream, so the states here are folded from events that
went through JSON as stored; a snapshot must give back an equal state. Each type has a realistic
history below (a new aggregate type without one fails ``test_every_aggregate_type_has_a_history``),
and Hypothesis adds random sequences of the type's own events, every field type included.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import typing
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from libs.events import snapshots as snap
from libs.events.aggregate import AggregateType
from libs.events.event import Event, registry
from services.deputies import events as de
from services.deputies import events as ue
from services.deputies.events import JurisdictionRegistered
from services.meetings import events as me
from services.meetings.domain.minutes import build_minutes, minutes_sha256
from services.suggestions import events as se

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=TZ)
DAY = timedelta(days=1)
TOWN, COUNTY = "340403100", "340403"


def service_aggregate_types() -> dict[str, AggregateType[Any]]:
    """Every ``AggregateType`` declared in a module of services/*/domain."""
    found: dict[str, AggregateType[Any]] = {}
    for service in sorted(p.name for p in (ROOT / "services").iterdir() if (p / "domain").is_dir()):
        package = importlib.import_module(f"services.{service}.domain")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"services.{service}.domain.{info.name}")
            for value in vars(module).values():
                if isinstance(value, AggregateType):
                    found[value.name] = value
    return found


AGGREGATES = service_aggregate_types()


def stored(e: Event) -> Event:
    """The event as a load reads it back: through JSON and the registry."""
    return registry.decode(e.type_name, e.version, orjson.loads(orjson.dumps(e.model_dump(mode="json"))))


def fold(agg: AggregateType[Any], aggregate_id: str, events: list[Event]) -> Any:
    state = agg.initial(aggregate_id)
    for e in events:
        state = agg.evolve(state, stored(e))
    return state


def through_snapshot(agg: AggregateType[Any], aggregate_id: str, state: Any) -> Any:
    codec = snap.build_codec(agg)
    taken = snap.Snapshot(7, 70, "h" * 64, TOWN, ("c1", "c2"), state)
    back = snap.decode(agg, codec, aggregate_id, snap.encode(agg, codec, aggregate_id, taken))
    assert (back.version, back.last_stream_seq, back.last_hash, back.causations) == (7, 70, "h" * 64, ("c1", "c2"))
    return back.state


# -- realistic histories, one per aggregate type --------------------------------------------------
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


def joint_inspection(j: str) -> list[Event]:
    towns = ("340403001", "340403002", "340403101")
    return [
        me.JointInspectionLaunched(
            joint_inspection_id=j,
            county=COUNTY,
            theme="农村饮水安全",
            window_start=date(2026, 4, 1),
            window_end=date(2026, 4, 30),
            requirements="逐村察看水源地",
            steps=("听取汇报", "实地察看"),
            inspections=tuple(me.LinkedInspection(township=t, meeting_id=f"m-{t}") for t in towns),
            law="中华人民共和国水法",
        ),
        *(
            me.InspectionFindingRecorded(
                joint_inspection_id=j,
                finding_id=f"f-{i}",
                county=COUNTY,
                township=towns[i % 3],
                meeting_id=f"m-{towns[i % 3]}",
                description="水源地无防护栏",
                recorded_at=T0 + i * DAY,
                unit_id="u-water" if i % 2 else None,
                deputy_ids=("d-1", "d-2"),
            )
            for i in range(4)
        ),
    ]


def meeting(m: str) -> list[Event]:
    invitees = tuple(f"d-{i}" for i in range(40))
    agenda = (me.AgendaItem(title="审议政府工作报告"), me.AgendaItem(title="选举"))
    events: list[Event] = [
        me.MeetingScheduled(
            meeting_id=m,
            kind="congress_session",
            body=TOWN,
            title="舜耕镇第十八届人民代表大会第三次会议",
            starts_at=T0,
            ends_at=T0 + timedelta(hours=6),
            venue="镇政府大礼堂",
            agenda=agenda,
            invitee_ids=invitees,
            observers=("镇长", "副镇长"),
        ),
        me.MeetingChanged(
            meeting_id=m,
            title="舜耕镇第十八届人民代表大会第三次会议",
            starts_at=T0 + DAY,
            ends_at=T0 + DAY + timedelta(hours=6),
            venue="镇会议中心",
            agenda=agenda,
            invitee_ids=invitees,
            observers=("镇长",),
        ),
        me.AttendanceRecorded(meeting_id=m, present=invitees[:35], on_leave=invitees[35:38], absent=invitees[38:]),
        me.MeetingConvened(
            meeting_id=m,
            kind="congress_session",
            body=TOWN,
            convened_at=T0 + DAY,
            present=35,
            members=40,
            needed=27,
            member_ids=invitees,
        ),
        me.VoteHeld(
            meeting_id=m,
            vote_index=0,
            agenda_index=0,
            motion="批准政府工作报告",
            yes=33,
            no=1,
            abstain=1,
            present=35,
            members=40,
            passed=True,
        ),
        me.ResolutionAdopted(
            meeting_id=m, resolution_index=0, vote_index=0, agenda_index=0, title="关于政府工作报告的决议"
        ),
        me.SpeechRecorded(meeting_id=m, speaker_id="d-3", summary="建议加快村道修缮", agenda_index=0),
        me.SpeechRecorded(meeting_id=m, speaker_id="d-4", summary="关注饮水安全"),
    ]
    agg = AGGREGATES["meeting"]
    before = fold(agg, m, events)
    adjourned = T0 + DAY + timedelta(hours=5)
    minutes = build_minutes(before, adjourned_at=adjourned, notes="会议圆满完成")
    events.append(
        me.MeetingAdjourned(
            meeting_id=m,
            kind="congress_session",
            body=TOWN,
            adjourned_at=adjourned,
            minutes=minutes,
            minutes_sha256=minutes_sha256(minutes),
            invitee_ids=invitees,
            present_ids=invitees[:35],
        )
    )
    return events


def review_opinion(r: str) -> list[Event]:
    due = T0 + 60 * DAY
    return [
        me.ReviewOpinionSent(
            review_opinion_id=r,
            meeting_id="m-1",
            meeting_kind="special_report_hearing",
            body=TOWN,
            agenda_index=1,
            to_unit_id="u-1",
            content="加强水源地保护",
            sent_at=T0,
            due_at=due,
        ),
        me.ReviewOpinionReminderDue(review_opinion_id=r, to_unit_id="u-1", due_at=due, leads=("P14D", "P7D")),
        me.ReviewOpinionOverdue(review_opinion_id=r, to_unit_id="u-1", due_at=due),
        me.ReviewOpinionAnswered(
            review_opinion_id=r, to_unit_id="u-1", content="已加装防护栏", answered_at=due + 2 * DAY, on_time=False
        ),
    ]


def constituent_opinion(o: str) -> list[Event]:
    return [
        se.ConstituentOpinionRecorded(
            opinion_id=o,
            jurisdiction=TOWN,
            deputy_id="d-1",
            on=date(2026, 3, 1),
            place="东村村委会",
            content="村道雨天积水",
            people_count=12,
            recorded_at=T0,
        ),
        se.ConstituentOpinionConverted(opinion_id=o, jurisdiction=TOWN, suggestion_id="s-9", converted_at=T0 + DAY),
    ]


def organizer_unit(u: str) -> list[Event]:
    return [
        se.OrganizerUnitRegistered(
            unit_id=u,
            jurisdiction=TOWN,
            name="镇财政所",
            kind="station",
            head="张三",
            deputy_head="李四",
            registered_at=datetime(2026, 1, 5, 8, tzinfo=UTC),
        ),
    ]


def suggestion(s: str) -> list[Event]:
    base = {"suggestion_id": s, "jurisdiction": TOWN}
    due1, due2 = T0 + 90 * DAY, T0 + 150 * DAY
    return [
        se.SuggestionSubmitted(
            **base,
            title="修缮村道",
            content="村道破损严重，雨天无法通行。",
            deputy_ids=("d-1", "d-2"),
            category="交通",
            submitted_during="recess",
            submitted_at=T0,
        ),
        se.AttachmentAdded(
            **base,
            attachment_id="at-1",
            filename="照片.jpg",
            content_type="image/jpeg",
            sha256="a" * 64,
            size=123_456,
            added_at=T0,
        ),
        se.SuggestionAssigned(
            **base,
            lead_unit_id="u-1",
            co_unit_ids=("u-2",),
            complexity="normal",
            responsible_leader="张副镇长",
            assigned_by_role="township_staff",
            assigned_at=T0 + DAY,
            round=1,
            due_at=due1,
            return_by=T0 + 4 * DAY,
        ),
        se.SuggestionAcknowledged(**base, unit_id="u-1", acknowledged_at=T0 + 2 * DAY),
        se.ConsultationHeld(
            **base,
            unit_id="u-1",
            round=1,
            held_on=date(2026, 3, 20),
            mode="face_to_face",
            summary="与代表当面沟通",
            recorded_at=T0 + 18 * DAY,
        ),
        se.ReplyReminderDue(**base, unit_id="u-1", round=1, due_at=due1, lead_time="P14D", remind_at=due1 - 14 * DAY),
        se.SuggestionReplied(
            **base,
            unit_id="u-1",
            round=1,
            result="B",
            content="列入明年计划",
            promised_by=date(2026, 9, 30),
            measures="申请专项资金",
            consultation_modes=("face_to_face",),
            due_at=due1,
            replied_at=T0 + 80 * DAY,
        ),
        se.SatisfactionEvaluated(
            **base,
            lead_unit_id="u-1",
            round=1,
            deputy_id="d-1",
            satisfaction="unsatisfied",
            comment="太慢",
            evaluated_at=T0 + 85 * DAY,
        ),
        se.RehandlingStarted(**base, lead_unit_id="u-1", round=2, started_at=T0 + 86 * DAY, due_at=due2),
        se.DeadlineExtended(
            **base,
            unit_id="u-1",
            round=2,
            previous_due_at=due2,
            new_due_at=due2 + 30 * DAY,
            reason="需县里审批",
            approved_by_role="county_staff",
            extended_at=T0 + 120 * DAY,
        ),
        se.ReplyOverdue(
            **base,
            unit_id="u-1",
            round=2,
            due_at=due2 + 30 * DAY,
            deputy_ids=("d-1", "d-2"),
            detected_at=due2 + 31 * DAY,
        ),
        se.KeySupervisionSet(**base, reason="逾期未答复", set_by_role="county_staff", set_at=due2 + 32 * DAY),
        se.ConsultationHeld(
            **base,
            unit_id="u-1",
            round=2,
            held_on=date(2026, 9, 1),
            mode="phone",
            summary="电话沟通",
            recorded_at=due2 + 33 * DAY,
        ),
        se.SuggestionReplied(
            **base,
            unit_id="u-1",
            round=2,
            result="A",
            content="已施工完毕",
            consultation_modes=("phone",),
            due_at=due2 + 30 * DAY,
            replied_at=due2 + 34 * DAY,
        ),
        se.PromiseCarriedOut(
            **base,
            lead_unit_id="u-1",
            round=1,
            promised_by=date(2026, 9, 30),
            carried_out_on=date(2026, 9, 28),
            summary="资金到位",
            recorded_at=due2 + 35 * DAY,
        ),
        se.CoSubmittersAdded(**base, deputy_ids=("d-7",), merged_from="s-8", added_at=due2 + 36 * DAY),
        se.UnsatisfiedJustified(**base, lead_unit_id="u-1", reason="客观原因", justified_at=due2 + 37 * DAY),
        se.SatisfactionEvaluated(
            **base, lead_unit_id="u-1", round=2, deputy_id="d-1", satisfaction="satisfied", evaluated_at=due2 + 38 * DAY
        ),
        se.SuggestionClosed(**base, because="satisfied", satisfaction="satisfied", closed_at=due2 + 38 * DAY),
    ]


HISTORIES = {
    "deputy": deputy,
    "user": user,
    "deputy_group": deputy_group,
    "jurisdiction": jurisdiction,
    "presidium": presidium,
    "liaison_station": liaison_station,
    "joint_inspection": joint_inspection,
    "meeting": meeting,
    "review_opinion": review_opinion,
    "constituent_opinion": constituent_opinion,
    "suggestion": suggestion,
    "organizer_unit": organizer_unit,
}
IDS = {"jurisdiction": TOWN, "presidium": TOWN, "user": "wang-xiuying"}


def test_every_aggregate_type_has_a_history() -> None:
    assert len(AGGREGATES) >= 12
    assert sorted(AGGREGATES) == sorted(HISTORIES)


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_a_realistic_state_survives_a_snapshot_exactly(name: str) -> None:
    agg = AGGREGATES[name]
    assert agg.snapshot_every > 0  # every type of the services is snapshotted
    aggregate_id = IDS.get(name, f"{name}-1")
    events = HISTORIES[name](aggregate_id)
    state = fold(agg, aggregate_id, events)
    assert state != agg.initial(aggregate_id)
    assert through_snapshot(agg, aggregate_id, state) == state
    # The state this process folds from the events it has just decided encodes the same way.
    fresh = agg.replay(aggregate_id, events)
    assert through_snapshot(agg, aggregate_id, fresh) == state


# -- any sequence of the type's own events -----------------------------------------------------------
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)
AWARE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(TZ))


def _has_any(annotation: Any) -> bool:
    return annotation is Any or any(_has_any(a) for a in typing.get_args(annotation))


def event_strategy(cls: type[Event]) -> st.SearchStrategy[Event]:
    """Hypothesis's own strategy for the class, with JSON values where the schema says ``Any``."""
    free = {
        n: st.dictionaries(st.text(max_size=5), JSON, max_size=4)
        for n, f in cls.model_fields.items()
        if _has_any(f.annotation)
    }
    aware = {n: AWARE for n, f in cls.model_fields.items() if f.annotation is datetime}
    return st.builds(cls, **{**aware, **free}) | st.builds(cls, **free)


def events_of(agg: AggregateType[Any]) -> list[type[Event]]:
    """The event classes the module of ``evolve`` names (what its ``match`` can see)."""
    names = agg.evolve.__globals__.values()  # type: ignore[attr-defined]
    return sorted(
        {v for v in names if inspect.isclass(v) and issubclass(v, Event) and v is not Event}, key=lambda c: c.__name__
    )


@pytest.mark.parametrize("name", sorted(AGGREGATES))
def test_any_sequence_of_the_types_events_survives_a_snapshot(name: str) -> None:
    agg = AGGREGATES[name]
    classes = events_of(agg)
    assert classes

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(st.one_of([event_strategy(c) for c in classes]), min_size=1, max_size=8))
    def check(events: list[Event]) -> None:
        state = agg.initial("a-1")
        for e in events:
            try:
                read = stored(e)
            except TypeError:
                reject()  # an integer JSON cannot hold: the store could not have stored it either
            try:
                state = agg.evolve(state, read)
            except Exception:  # an order the commands never produce; keep the state so far
                break
        assert through_snapshot(agg, "a-1", state) == state

    check()


# -- the fingerprint --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plain:
    id: str
    n: int = 0


@dataclass(frozen=True)
class Wider:
    id: str
    n: int = 0
    more: tuple[str, ...] = ()


def _evolve(s: Plain, e: Event) -> Plain:
    return replace(s, n=s.n + 1)


def _evolve_other(s: Plain, e: Event) -> Plain:
    return replace(s, n=s.n + 2)


def test_the_fingerprint_changes_with_the_state_the_fold_or_the_snapshot_version() -> None:
    plain = AggregateType("plain", "notify", lambda i: Plain(id=i), _evolve)
    fp = snap.build_codec(plain).fingerprint
    assert snap.build_codec(AggregateType("plain", "notify", lambda i: Plain(id=i), _evolve)).fingerprint == fp
    assert snap.build_codec(replace(plain, snapshot_version=2)).fingerprint != fp
    assert snap.build_codec(replace(plain, initial=lambda i: Wider(id=i))).fingerprint != fp
    assert snap.build_codec(replace(plain, evolve=_evolve_other)).fingerprint != fp
    assert snap.build_codec(replace(plain, snapshot_every=3)).fingerprint == fp  # how often is not what


def test_the_fingerprint_is_the_same_in_every_process() -> None:
    """Set constants in ``evolve`` are hashed in sorted order: PYTHONHASHSEED must not matter."""
    script = (
        "from tests.events.test_snapshot_codec import AGGREGATES\n"
        "from libs.events.snapshots import build_codec\n"
        "print(','.join(build_codec(a).fingerprint for _, a in sorted(AGGREGATES.items())))\n"
    )
    out = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    here = ",".join(snap.build_codec(a).fingerprint for _, a in sorted(AGGREGATES.items()))
    assert out == {here}
