from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from libs.events.event import Event
from services.meetings.domain.errors import InvalidInput, InvalidTransition, TownshipNotParticipating
from services.meetings.domain.joint_inspection import (
    JOINT_INSPECTION,
    JointInspection,
    LaunchJointInspection,
    RecordFinding,
    decide_launch,
    decide_record_finding,
    evolve,
    submitters,
    township_inspection,
)
from services.meetings.domain.meeting import Meeting, decide_schedule
from services.meetings.events import InspectionFindingRecorded, JointInspectionLaunched

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2025, 5, 6, 10, tzinfo=TZ)
J1 = "j-1"
TOWNSHIPS = ("340403001", "340403002", "340403101")  # two towns and a street
MEETINGS = {t: f"m-{t}" for t in TOWNSHIPS}


def launch(**kw: object) -> LaunchJointInspection:
    fields: dict = {
        "joint_inspection_id": J1,
        "county": "340403",
        "theme": "农村饮用水安全",
        "law": "水污染防治法",
        "window_start": date(2025, 5, 1),
        "window_end": date(2025, 5, 31),
        "requirements": "各乡镇自查",
        "steps": ("听取汇报", "实地检查", "形成报告"),
        "townships": TOWNSHIPS,
        **kw,
    }
    return LaunchJointInspection(**fields)


def launched() -> JointInspection:
    return JOINT_INSPECTION.replay(J1, decide_launch(JointInspection(J1), launch(), meeting_ids=MEETINGS))


def step(j: JointInspection, events: list[Event]) -> JointInspection:
    for e in events:
        j = evolve(j, e)
    return j


def test_a_launch_links_one_inspection_meeting_per_township() -> None:
    [e] = decide_launch(JointInspection(J1), launch(), meeting_ids=MEETINGS)
    assert isinstance(e, JointInspectionLaunched)
    assert [(i.township, i.meeting_id) for i in e.inspections] == list(MEETINGS.items())
    assert (e.theme, e.law, e.steps) == (
        "农村饮用水安全",
        "水污染防治法",
        ("听取汇报", "实地检查", "形成报告"),
    )


def test_each_township_gets_a_scheduled_inspection_over_the_window_streets_included() -> None:
    [e] = decide_launch(JointInspection(J1), launch(), meeting_ids=MEETINGS)
    for link in e.inspections:
        c = township_inspection(e, link, tz=TZ)
        [scheduled] = decide_schedule(Meeting(c.meeting_id), c, is_street=link.township.endswith("101"))
        assert (scheduled.kind, scheduled.body, scheduled.joint_inspection_id) == (
            "inspection",
            link.township,
            J1,
        )
        assert scheduled.starts_at == datetime(2025, 5, 1, tzinfo=TZ)
        assert scheduled.ends_at == datetime(2025, 6, 1, tzinfo=TZ)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"townships": ()}, "townships"),
        ({"townships": ("340499001",)}, "townships"),  # another county's township
        ({"county": "3404"}, "county"),
        ({"theme": " "}, "theme"),
        ({"window_end": date(2025, 4, 30)}, "window_end"),
    ],
)
def test_a_launch_is_checked(change: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as err:
        decide_launch(JointInspection(J1), launch(**change), meeting_ids=MEETINGS)
    assert err.value.field == field


def test_launching_twice_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        decide_launch(launched(), launch(), meeting_ids=MEETINGS)


def test_a_finding_with_a_unit_is_recorded_for_the_suggestion_process() -> None:
    finding = RecordFinding(
        township="340403002", description="水源地周边有养殖场", unit_id="u-water", deputy_ids=("d1",)
    )
    [e] = decide_record_finding(launched(), finding, finding_id="f-1", now=NOW)
    assert isinstance(e, InspectionFindingRecorded)
    assert (e.finding_id, e.meeting_id, e.unit_id, e.county, e.deputy_ids) == (
        "f-1",
        "m-340403002",
        "u-water",
        "340403",
        ("d1",),
    )


def test_a_finding_without_a_unit_stays_a_finding() -> None:
    [e] = decide_record_finding(
        launched(), RecordFinding("340403001", "管网老化", unit_id=" "), finding_id="f-2", now=NOW
    )
    assert e.unit_id is None


def test_recording_the_same_finding_again_records_nothing() -> None:
    c = RecordFinding("340403001", "管网老化", unit_id="u-water")
    given_ = step(launched(), decide_record_finding(launched(), c, finding_id="f-1", now=NOW))
    assert decide_record_finding(given_, c, finding_id="f-1", now=NOW) == []
    assert len(given_.findings) == 1


def test_findings_come_from_participating_townships_only() -> None:
    with pytest.raises(TownshipNotParticipating):
        decide_record_finding(launched(), RecordFinding("340403009", "x"), finding_id="f-9", now=NOW)
    with pytest.raises(InvalidTransition):
        decide_record_finding(JointInspection(J1), RecordFinding("340403001", "x"), finding_id="f-9", now=NOW)


# --- who raised a finding (contract "Joint inspections") -------------------------------------------
PRESENT, INVITED = ("d2", "d3"), ("d1", "d2", "d3")


def test_the_deputies_named_raise_the_finding() -> None:
    c = RecordFinding("340403001", "x", unit_id="u", deputy_ids=(" d9 ", "d8", "d9"))
    assert submitters(c, present=PRESENT, invitees=INVITED, recorded=True) == ("d9", "d8")


def test_without_names_those_present_raise_it_once_attendance_is_recorded() -> None:
    c = RecordFinding("340403001", "x", unit_id="u")
    assert submitters(c, present=PRESENT, invitees=INVITED, recorded=True) == PRESENT


def test_without_names_and_without_attendance_the_invitees_raise_it() -> None:
    c = RecordFinding("340403001", "x", unit_id="u")
    assert submitters(c, present=(), invitees=INVITED, recorded=False) == INVITED


def test_a_finding_naming_a_unit_without_any_deputy_is_refused_never_dropped() -> None:
    with pytest.raises(InvalidInput) as err:
        submitters(RecordFinding("340403001", "x", unit_id="u"), present=(), invitees=INVITED, recorded=True)
    assert err.value.field == "deputy_ids"


def test_a_finding_without_a_unit_needs_no_deputy() -> None:
    assert submitters(RecordFinding("340403001", "x"), present=(), invitees=(), recorded=False) == ()
