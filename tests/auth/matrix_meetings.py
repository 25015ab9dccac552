"""Matrix cases of the meetings service: meetings, review opinions, joint inspections, compliance.

Records are seeded as real events of the meetings context (a meeting scheduled, convened; a
review opinion sent; a joint inspection launched). Each write route has records of its own,
so that routes walked at the same time never write the same aggregate.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from libs.events.event import Event
from services.meetings.domain import joint_inspection as ji
from services.meetings.domain import meeting as mt
from services.meetings.domain import review_opinion as ro
from services.meetings.events import (
    AgendaItem,
    AttendanceRecorded,
    JointInspectionLaunched,
    LinkedInspection,
    MeetingConvened,
    MeetingScheduled,
    ReviewOpinionSent,
)
from tests.auth.matrix_core import (
    STAFF,
    Case,
    Create,
    Extra,
    List_,
    Probe,
    ProbeFn,
    Record,
    Where,
    World,
    by_role,
    list_probe,
    new_id,
)

RUNS = ("county_staff", "township_staff")
STARTS = datetime(2025, 6, 2, 1, 0, tzinfo=UTC)
M = "/api/meetings"


def _scheduled(
    mid: str, body: str, invitees: tuple[str, ...], kind: str = "inspection", joint: str | None = None
) -> MeetingScheduled:
    return MeetingScheduled(
        meeting_id=mid,
        kind=kind,
        body=body,
        title=f"会议{mid[-4:]}",
        starts_at=STARTS,  # type: ignore[arg-type]
        ends_at=STARTS + timedelta(hours=3),
        agenda=(AgendaItem(title="议程一"),),
        invitee_ids=invitees,
        joint_inspection_id=joint,
    )


def _convened(mid: str, body: str, invitees: tuple[str, ...], kind: str = "inspection") -> list[Event]:
    quorum = kind in mt.QUORUM_KINDS
    return [
        _scheduled(mid, body, invitees, kind),
        AttendanceRecorded(meeting_id=mid, present=invitees),
        MeetingConvened(
            meeting_id=mid,
            kind=kind,
            body=body,
            convened_at=STARTS,
            present=len(invitees),  # type: ignore[arg-type]
            members=len(invitees),
            needed=len(invitees) if quorum else 0,
            member_ids=invitees,
        ),
    ]


async def seed(w: World) -> None:
    tw = w.township
    p0 = w.store["presidium_members"][0]
    meetings: dict[str, tuple[str, list[Event]]] = {}

    def meeting(key: str, body: str, events: Any) -> str:
        mid = new_id("mtg")
        meetings[key] = (body, events(mid) if callable(events) else events)
        return mid

    ids: dict[str, Any] = {
        "in": meeting("in", tw, lambda m: [_scheduled(m, tw, (w.deputy_id,))]),
        "noinv": meeting("noinv", tw, lambda m: [_scheduled(m, tw, (w.other_deputy_id,))]),
        "patch": meeting("patch", tw, lambda m: [_scheduled(m, tw, (p0,))]),
        "att": meeting("att", tw, lambda m: [_scheduled(m, tw, (p0,))]),
        "vote": meeting("vote", tw, lambda m: _convened(m, tw, (p0,), "presidium_meeting")),
        "speech": meeting("speech", tw, lambda m: _convened(m, tw, (p0,))),
        "held": meeting("held", tw, lambda m: _convened(m, tw, (p0,))),
    }
    for r in STAFF:
        where = w.foreign_township(r)
        ids[f"foreign/{r}"] = meeting(f"foreign/{r}", where, lambda m, where=where: [_scheduled(m, where, ("dep-x",))])
    for r in RUNS:
        ids[f"cancel/{r}"] = meeting(f"cancel/{r}", tw, lambda m: [_scheduled(m, tw, (p0,))])
        ids[f"convene/{r}"] = meeting(f"convene/{r}", tw, lambda m: [_scheduled(m, tw, (p0,))])
        ids[f"adjourn/{r}"] = meeting(f"adjourn/{r}", tw, lambda m: _convened(m, tw, (p0,)))

    now = datetime.now(UTC)
    opinions: dict[str, tuple[str, str]] = {"in": (tw, w.unit_id), "other_unit": (tw, w.other_unit_id)}
    opinions |= {f"foreign/{r}": (w.foreign_township(r), w.other_unit_id) for r in STAFF}
    opinions |= {f"feedback/{r}": (tw, w.unit_id) for r in ("organizer", *RUNS)}
    oids = {k: new_id("rop") for k in opinions}

    def sent(key: str) -> ReviewOpinionSent:
        body, unit = opinions[key]
        return ReviewOpinionSent(
            review_opinion_id=oids[key],
            meeting_id=ids["held"],
            meeting_kind="inspection",
            body=body,
            agenda_index=0,
            to_unit_id=unit,
            content="请研究处理",
            sent_at=now,
            due_at=now + timedelta(days=60),
        )

    other_city_county = w.other_city + "01"
    joints = {
        "in": (w.county, tw),
        "other": (w.county, w.other_township),
        "find": (w.county, tw),
        "foreign/city_staff": (other_city_county, w.foreign_township("city_staff")),
        "foreign/county_staff": (w.other_county, w.foreign_township("county_staff")),
    }
    jids = {k: new_id("jnt") for k in joints}
    linked = {k: new_id("mtg") for k in joints}

    def launched(key: str) -> JointInspectionLaunched:
        county, township = joints[key]
        return JointInspectionLaunched(
            joint_inspection_id=jids[key],
            county=county,
            theme="食品安全法执行情况",
            window_start=date(2025, 6, 1),
            window_end=date(2025, 6, 30),
            requirements="",
            steps=(),
            inspections=(LinkedInspection(township=township, meeting_id=linked[key]),),
        )

    await asyncio.gather(
        *(
            w.seed.append(mt.MEETING, eids[0].meeting_id, body, eids)  # type: ignore[attr-defined]
            for body, eids in meetings.values()
        ),
        *(w.seed.append(ro.REVIEW_OPINION, oids[k], opinions[k][0], [sent(k)]) for k in opinions),
        *(w.seed.append(ji.JOINT_INSPECTION, jids[k], joints[k][0], [launched(k)]) for k in joints),
        *(
            w.seed.append(mt.MEETING, linked[k], joints[k][1], [_scheduled(linked[k], joints[k][1], (), joint=jids[k])])
            for k in joints
        ),
    )
    foreign = {r: ids[f"foreign/{r}"] for r in STAFF}
    w.store.update(
        {
            "meeting": {"inside": ids["in"], "outside": {**foreign, "deputy": ids["noinv"]}},
            "m_patch": {"inside": ids["patch"], "outside": foreign},
            "m_att": {"inside": ids["att"], "outside": foreign},
            "m_vote": {"inside": ids["vote"], "outside": foreign},
            "m_speech": {"inside": ids["speech"], "outside": foreign},
            "m_held": {"inside": ids["held"], "outside": foreign},
            **{
                f"m_{verb}": {"inside": {r: ids[f"{verb}/{r}"] for r in RUNS}, "outside": foreign}
                for verb in ("cancel", "convene", "adjourn")
            },
            "opinion": {
                "inside": oids["in"],
                "outside": {**{r: oids[f"foreign/{r}"] for r in STAFF}, "organizer": oids["other_unit"]},
            },
            "feedback": {
                "inside": {r: oids[f"feedback/{r}"] for r in ("organizer", *RUNS)},
                "outside": {**{r: oids[f"foreign/{r}"] for r in STAFF}, "organizer": oids["other_unit"]},
            },
            "joint": {
                "inside": jids["in"],
                "outside": {
                    "city_staff": jids["foreign/city_staff"],
                    "county_staff": jids["foreign/county_staff"],
                    "township_staff": jids["other"],
                },
            },
            "j_find": {
                "inside": jids["find"],
                "outside": {
                    "city_staff": jids["foreign/city_staff"],
                    "county_staff": jids["foreign/county_staff"],
                    "township_staff": jids["other"],
                },
            },
            "p0": p0,
        }
    )


# -- probes ---------------------------------------------------------------------------------------
def _on(key: str, method: str, suffix: str = "", body: Any = None) -> ProbeFn:
    pick = by_role(key)

    def probe(w: World, role: str, where: Where) -> Probe:
        payload = body(w) if callable(body) else body
        return Probe(method, f"{M}/{suffix.format(id=pick(w, role, where))}", json=payload)

    return probe


def _place(w: World, role: str, where: Where) -> str:
    return w.township if where == "inside" else w.foreign_township(role)


def _new_meeting(w: World, role: str, where: Where) -> Probe:
    return Probe(
        "POST",
        M,
        json={
            "kind": "inspection",
            "body": _place(w, role, where),
            "title": f"视察{w.next()}",
            "starts_at": "2025-07-01T09:00:00+08:00",
            "ends_at": "2025-07-01T12:00:00+08:00",
        },
    )


def _new_joint(w: World, role: str, where: Where) -> Probe:
    county = w.county if where == "inside" else w.other_county
    return Probe(
        "POST",
        f"{M}/joint-inspections",
        json={
            "county": county,
            "theme": f"联动检查{w.next()}",
            "window_start": "2025-07-01",
            "window_end": "2025-07-31",
            "townships": [county + "001"],
        },
    )


def _finding(w: World) -> dict[str, Any]:
    return {"township": w.township, "description": f"发现问题{w.next()}"}


def _finding_elsewhere(w: World) -> list[Extra]:
    """County staff may see the inspection but not record a finding for a township outside their county."""
    jid = w.store["j_find"]["inside"]
    return [
        Extra(
            "county_staff",
            "finding for a township of another county",
            lambda w: Probe(
                "POST",
                f"{M}/joint-inspections/{jid}/findings",
                json={"township": w.other_county + "001", "description": "越界"},
            ),
            403,
            bound=lambda w: {"jurisdiction": w.county},
        )
    ]


def _is(key: str, field: str) -> Any:
    return lambda w, role, item: item[field] == w.store[key]["inside"]


CASES: dict[tuple[str, str], Case] = {
    ("POST", M): Create(_new_meeting),
    ("GET", M): List_(
        list_probe(M, "body"),
        jurisdiction_of=lambda i: i["body"],
        owns=lambda w, role, i: i["meeting_id"] == w.store["meeting"]["inside"],
        shows=_is("meeting", "meeting_id"),
    ),
    ("GET", f"{M}/compliance"): List_(
        list_probe(f"{M}/compliance", year=2025),
        jurisdiction_of=lambda i: i["township"],
        shows=lambda w, role, i: i["township"] == w.township,
    ),
    ("GET", f"{M}/{{meeting_id}}"): Record(_on("meeting", "GET", "{id}")),
    ("GET", f"{M}/{{meeting_id}}/resolutions"): Record(_on("meeting", "GET", "{id}/resolutions")),
    ("PATCH", f"{M}/{{meeting_id}}"): Record(_on("m_patch", "PATCH", "{id}", lambda w: {"title": f"改期{w.next()}"})),
    ("POST", f"{M}/{{meeting_id}}/cancel"): Record(_on("m_cancel", "POST", "{id}/cancel", {"reason": "改期"})),
    ("POST", f"{M}/{{meeting_id}}/attendance"): Record(
        _on("m_att", "POST", "{id}/attendance", lambda w: {"present": [w.store["p0"]]})
    ),
    ("POST", f"{M}/{{meeting_id}}/convene"): Record(_on("m_convene", "POST", "{id}/convene")),
    ("POST", f"{M}/{{meeting_id}}/votes"): Record(
        _on("m_vote", "POST", "{id}/votes", {"agenda_index": 0, "yes": 1, "no": 0, "abstain": 0})
    ),
    ("POST", f"{M}/{{meeting_id}}/speeches"): Record(
        _on("m_speech", "POST", "{id}/speeches", lambda w: {"speaker_id": w.store["p0"], "summary": "发言"}), 201
    ),
    ("POST", f"{M}/{{meeting_id}}/adjourn"): Record(_on("m_adjourn", "POST", "{id}/adjourn", {"minutes": ""})),
    ("POST", f"{M}/{{meeting_id}}/review-opinions"): Record(
        _on(
            "m_held",
            "POST",
            "{id}/review-opinions",
            lambda w: {"agenda_index": 0, "to_unit_id": w.unit_id, "content": "审议意见"},
        ),
        201,
    ),
    # review opinions: staff over the body, or the unit they are sent to
    ("GET", f"{M}/review-opinions"): List_(
        list_probe(f"{M}/review-opinions", "body"),
        jurisdiction_of=lambda i: i["body"],
        owns=lambda w, role, i: i["to_unit_id"] == w.unit_id,
        shows=_is("opinion", "review_opinion_id"),
    ),
    ("GET", f"{M}/review-opinions/{{opinion_id}}"): Record(_on("opinion", "GET", "review-opinions/{id}")),
    ("POST", f"{M}/review-opinions/{{opinion_id}}/feedback"): Record(
        _on("feedback", "POST", "review-opinions/{id}/feedback", {"content": "已研究处理"})
    ),
    # joint inspections: county (and city) staff over the county, a participating township's staff
    ("POST", f"{M}/joint-inspections"): Create(_new_joint),
    ("GET", f"{M}/joint-inspections"): List_(
        list_probe(f"{M}/joint-inspections", "county"),
        jurisdiction_of=lambda i: i["county"],
        detail=lambda i: f"{M}/joint-inspections/{i['joint_inspection_id']}",
        shows=_is("joint", "joint_inspection_id"),
    ),
    ("GET", f"{M}/joint-inspections/{{joint_id}}"): Record(_on("joint", "GET", "joint-inspections/{id}")),
    ("POST", f"{M}/joint-inspections/{{joint_id}}/findings"): Record(
        _on("j_find", "POST", "joint-inspections/{id}/findings", _finding), 201, extras=_finding_elsewhere
    ),
}
