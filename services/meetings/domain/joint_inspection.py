"""The JointInspection aggregate (县乡联动): a county committee sets one theme, one window, one set
of requirements and steps; every participating township or street inspects its own area in its
own linked inspection meeting and records findings.

A finding with a unit is to become a suggestion assigned to that unit: the process manager that
does so reacts to ``InspectionFindingRecorded`` elsewhere; this module only records the finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.meetings.domain.errors import InvalidInput, InvalidTransition, TownshipNotParticipating
from services.meetings.domain.meeting_commands import ScheduleMeeting
from services.meetings.events import (
    InspectionFindingRecorded,
    JointInspectionLaunched,
    LinkedInspection,
)

Status = Literal["new", "launched"]


@dataclass(frozen=True)
class Finding:
    finding_id: str
    township: str
    description: str
    unit_id: str | None = None
    deputy_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class JointInspection:
    id: str
    status: Status = "new"
    county: str = ""
    theme: str = ""
    law: str | None = None
    window_start: date | None = None
    window_end: date | None = None
    requirements: str = ""
    steps: tuple[str, ...] = ()
    inspections: tuple[LinkedInspection, ...] = ()
    findings: tuple[Finding, ...] = ()

    def meeting_of(self, township: str) -> str | None:
        return next((i.meeting_id for i in self.inspections if i.township == township), None)


@dataclass(frozen=True)
class LaunchJointInspection:
    joint_inspection_id: str
    county: str
    theme: str
    window_start: date
    window_end: date
    requirements: str
    steps: tuple[str, ...]
    townships: tuple[str, ...]
    law: str | None = None


@dataclass(frozen=True)
class RecordFinding:
    """``deputy_ids``: who raised it; the handler fills in those present at the township's inspection
    (else its invitees) when the clerk names none."""

    township: str
    description: str
    unit_id: str | None = None
    deputy_ids: tuple[str, ...] = ()
    joint_inspection_id: str = ""


def initial(joint_inspection_id: str) -> JointInspection:
    return JointInspection(id=joint_inspection_id)


def evolve(j: JointInspection, e: Event) -> JointInspection:
    match e:
        case JointInspectionLaunched():
            return JointInspection(
                id=e.joint_inspection_id,
                status="launched",
                county=e.county,
                theme=e.theme,
                law=e.law,
                window_start=e.window_start,
                window_end=e.window_end,
                requirements=e.requirements,
                steps=e.steps,
                inspections=e.inspections,
            )
        case InspectionFindingRecorded():
            finding = Finding(e.finding_id, e.township, e.description, e.unit_id, e.deputy_ids)
            return replace(j, findings=(*j.findings, finding))
    return j


JOINT_INSPECTION: AggregateType[JointInspection] = AggregateType(
    name="joint_inspection", context="meetings", initial=initial, evolve=evolve
)


def decide_launch(j: JointInspection, c: LaunchJointInspection, *, meeting_ids: Mapping[str, str]) -> list[Event]:
    """``meeting_ids`` maps each township (or street) code to the id of its new inspection meeting."""
    if j.status != "new":
        raise InvalidTransition(j.status, "launch_joint_inspection")
    if not (len(c.county) == 6 and c.county.isdigit()):
        raise InvalidInput("county", "县（区）代码应为 6 位数字。")
    if not c.theme.strip():
        raise InvalidInput("theme", "请填写联动检查的主题。")
    if c.window_end < c.window_start:
        raise InvalidInput("window_end", "检查时段的结束日期不能早于开始日期。")
    townships = tuple(dict.fromkeys(t.strip() for t in c.townships if t.strip()))
    if not townships:
        raise InvalidInput("townships", "至少要有一个参加联动检查的乡镇（街道）。")
    foreign = [t for t in townships if not (len(t) == 9 and t.isdigit() and t.startswith(c.county))]
    if foreign:
        raise InvalidInput("townships", f"以下代码不是本县（区）的乡镇（街道）：{'、'.join(foreign)}。")
    missing = [t for t in townships if not meeting_ids.get(t)]
    if missing:
        raise ValueError(f"no inspection meeting id for {missing}")
    return [
        JointInspectionLaunched(
            joint_inspection_id=c.joint_inspection_id,
            county=c.county,
            theme=c.theme.strip(),
            law=(c.law or "").strip() or None,
            window_start=c.window_start,
            window_end=c.window_end,
            requirements=c.requirements.strip(),
            steps=tuple(s.strip() for s in c.steps if s.strip()),
            inspections=tuple(LinkedInspection(township=t, meeting_id=meeting_ids[t]) for t in townships),
        )
    ]


def township_inspection(launched: JointInspectionLaunched, link: LinkedInspection, *, tz: ZoneInfo) -> ScheduleMeeting:
    """The inspection meeting a township gets: the whole window, in the township's own body."""
    starts_at = datetime.combine(launched.window_start, time(0), tz)
    ends_at = datetime.combine(launched.window_end + timedelta(days=1), time(0), tz)
    return ScheduleMeeting(
        meeting_id=link.meeting_id,
        kind="inspection",
        body=link.township,
        title=launched.theme,
        starts_at=starts_at,
        ends_at=ends_at,
        agenda=(launched.theme,),
        joint_inspection_id=launched.joint_inspection_id,
    )


def submitters(
    c: RecordFinding, *, present: tuple[str, ...], invitees: tuple[str, ...], recorded: bool
) -> tuple[str, ...]:
    """Who raised a finding: the deputies the clerk names; else those present at the township's
    inspection (its invitees while no attendance is recorded). A finding that names a unit becomes
    a suggestion, which must have a deputy: with none, it is refused (422 ``deputy_ids``), never
    dropped. ``present`` / ``invitees`` are the inspection's, current deputies only, lead first."""
    named = tuple(dict.fromkeys(d.strip() for d in c.deputy_ids if d.strip()))
    if named:
        return named
    found = present if recorded else invitees
    if not found and (c.unit_id or "").strip():
        raise InvalidInput(
            "deputy_ids",
            "该乡镇（街道）的视察没有出席（或受邀）的在任代表，请在「deputy_ids」中写明提出问题的代表，"
            "检查发现才能转为代表建议交办。",
        )
    return found


def decide_record_finding(j: JointInspection, c: RecordFinding, *, finding_id: str, now: datetime) -> list[Event]:
    if j.status != "launched":
        raise InvalidTransition(j.status, "record_finding")
    if any(f.finding_id == finding_id for f in j.findings):
        return []  # a retry records nothing twice
    meeting_id = j.meeting_of(c.township)
    if meeting_id is None:
        raise TownshipNotParticipating(c.township)
    if not c.description.strip():
        raise InvalidInput("description", "请填写检查发现的问题。")
    unit_id = (c.unit_id or "").strip() or None
    return [
        InspectionFindingRecorded(
            joint_inspection_id=j.id,
            finding_id=finding_id,
            county=j.county,
            township=c.township,
            meeting_id=meeting_id,
            description=c.description.strip(),
            recorded_at=now,
            unit_id=unit_id,
            deputy_ids=tuple(dict.fromkeys(c.deputy_ids)),
        )
    ]
