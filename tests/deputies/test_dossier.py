"""The dossier (履职档案) fills from the deputy's own activities and from the meetings' and the
suggestions' events, counted by hand; inactive deputies and reports to voters per township.

Meetings and suggestions events are appended with those contexts' own event classes through
the event store, as their services would, so the counts do not depend on their HTTP APIs.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from libs.events.envelope import Actor
from libs.events.event import Event
from libs.events.store import CommandMeta, EventStore
from libs.runtime.nats_server import EmbeddedNats
from services.meetings.domain.meeting import MEETING
from services.meetings.events import (
    AttendanceRecorded,
    MeetingAdjourned,
    MeetingCancelled,
    MeetingScheduled,
    SpeechRecorded,
)
from services.suggestions.domain.state import SUGGESTION
from services.suggestions.events import (
    PromiseCarriedOut,
    SuggestionAssigned,
    SuggestionReplied,
    SuggestionSubmitted,
)
from tests.deputies.places import after, deputy_body, fresh_tree, register
from tests.support.system import running_system
from tests.support.waiting import eventually

TZ = ZoneInfo("Asia/Shanghai")


def at(y: int, m: int, d: int, h: int = 9) -> datetime:
    return datetime(y, m, d, h, tzinfo=TZ)


def meta(role: str = "township_staff") -> CommandMeta:
    return CommandMeta(
        actor=Actor(subject=f"test:{role}", role=role),
        correlation_id="dossier-test",
        command_id=str(uuid.uuid4()),
        now=datetime.now(TZ),
    )


class Feed:
    """Appends other contexts' events as their services would, remembering the stream positions."""

    def __init__(self, store: EventStore, township: str) -> None:
        self.store = store
        self.township = township
        self.positions: dict[str, int] = {}

    async def put(self, agg, aggregate_id: str, events: list[Event]) -> None:  # type: ignore[no-untyped-def]
        done = await self.store.execute(agg, aggregate_id, lambda _: events, meta(), jurisdiction=self.township)
        self.positions[done.stream] = max(self.positions.get(done.stream, 0), done.stream_seq)

    @property
    def header(self) -> str:
        return ",".join(f"{s}:{q}" for s, q in self.positions.items())

    async def meeting(self, kind: str, day: datetime, invitees: list[str], *rest: Event, mid: str = "") -> str:
        mid = mid or str(uuid.uuid4())
        scheduled = MeetingScheduled(
            meeting_id=mid,
            kind=kind,
            body=self.township,
            title=f"{kind} {day:%Y-%m-%d}",
            starts_at=day,
            ends_at=day + timedelta(hours=7),
            invitee_ids=tuple(invitees),
        )
        await self.put(MEETING, mid, [scheduled, *[e.model_copy(update={"meeting_id": mid}) for e in rest]])
        return mid

    async def suggestion(
        self, day: datetime, deputies: list[str], result: str | None = None, carried_out: bool = False
    ) -> str:
        sid = str(uuid.uuid4())
        t = self.township
        events: list[Event] = [
            SuggestionSubmitted(
                suggestion_id=sid,
                jurisdiction=t,
                title="修缮村道",
                content="村道破损，请修缮。",
                deputy_ids=tuple(deputies),
                category="城乡建设",
                submitted_during="recess",
                submitted_at=day,
            )
        ]
        if result:
            due = day + timedelta(days=90)
            events.append(
                SuggestionAssigned(
                    suggestion_id=sid,
                    jurisdiction=t,
                    lead_unit_id="unit-1",
                    complexity="normal",
                    responsible_leader="副镇长",
                    assigned_by_role="township_staff",
                    assigned_at=day + timedelta(days=1),
                    round=1,
                    due_at=due,
                    return_by=day + timedelta(days=8),
                )
            )
            promised = (day + timedelta(days=60)).date() if result == "B" else None
            events.append(
                SuggestionReplied(
                    suggestion_id=sid,
                    jurisdiction=t,
                    unit_id="unit-1",
                    round=1,
                    result=result,
                    content="答复",
                    promised_by=promised,
                    measures="列入计划" if promised else None,
                    reason="财力有限" if result == "C" else None,
                    consultation_modes=("face_to_face",),
                    due_at=due,
                    replied_at=day + timedelta(days=30),
                )
            )
            if carried_out and promised:
                events.append(
                    PromiseCarriedOut(
                        suggestion_id=sid,
                        jurisdiction=t,
                        lead_unit_id="unit-1",
                        round=1,
                        promised_by=promised,
                        carried_out_on=promised,
                        summary="已修好",
                        recorded_at=day + timedelta(days=61),
                    )
                )
        await self.put(SUGGESTION, sid, events)
        return sid


async def test_the_dossier_counts_activities_meetings_and_suggestions(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    tree = await fresh_tree(nc)
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        clerk = system.auth("township_staff", tree.township)
        c = system.client
        d1, _ = await register(system, clerk, deputy_body(tree.township, "李一"))
        d2, _ = await register(system, clerk, deputy_body(tree.township, "李二"))
        d3, _ = await register(system, clerk, deputy_body(tree.township, "李三"))
        county, pos = await register(
            system, clerk, deputy_body(tree.township, "县代表", level="county", congress=tree.county)
        )
        me = system.auth("deputy", tree.township, deputy_id=d1)

        # d1's own records: visits of 6 + 5 people (the 六个一 target counts people: 11 ≥ 10)
        activities = [
            {"kind": "constituent_visit", "on": "2025-01-15", "people_count": 6, "summary": "走访李庄"},
            {"kind": "constituent_visit", "on": "2025-03-02", "people_count": 5},
            {"kind": "constituent_visit", "on": "2024-12-30", "people_count": 9},  # last year: not counted
            {"kind": "选民座谈会", "on": "2025-04-10", "people_count": 30},
            {"kind": "good_deed", "on": "2025-05-01"},
            {"kind": "mediation", "on": "2025-06-01", "people_count": 2},
            {"kind": "training", "on": "2025-07-01"},
            {"kind": "report_to_voters", "on": "2025-11-01", "people_count": 40, "report_mode": "会议"},
        ]
        for body in activities:
            r = await c.post(f"/api/deputies/{d1}/activities", json=body, headers=me)
            assert r.status_code == 201, r.text
            pos = r.headers["renda-position"]
        r = await c.post(
            f"/api/deputies/{d2}/activities",
            json={"kind": "reception", "on": "2025-10-10", "people_count": 3},
            headers=clerk,
        )
        assert r.status_code == 201, r.text
        r = await c.post(
            f"/api/deputies/{d2}/activities",
            json={"kind": "report_to_voters", "on": "2025-10-11", "report_mode": "written"},
            headers=clerk,
        )
        pos = r.headers["renda-position"]

        feed = Feed(EventStore(nc), tree.township)
        # meetings: a session d1 attended and spoke at twice, a group activity d1 missed,
        # a presidium meeting without attendance yet, a cancelled one and one of last year
        await feed.meeting(
            "congress_session",
            at(2025, 3, 10),
            [d1, d2, d3],
            AttendanceRecorded(meeting_id="-", present=(d1, d2), on_leave=(d3,)),
            SpeechRecorded(meeting_id="-", speaker_id=d1, summary="关于村道"),
            SpeechRecorded(meeting_id="-", speaker_id=d1, summary="关于学校"),
            MeetingAdjourned(
                meeting_id="-",
                kind="congress_session",
                body=tree.township,
                adjourned_at=at(2025, 3, 10, 17),
                minutes={},
                minutes_sha256="0" * 64,
                invitee_ids=(d1, d2, d3),
                present_ids=(d1, d2),
            ),
        )
        await feed.meeting(
            "group_activity", at(2025, 6, 1), [d1, d2], AttendanceRecorded(meeting_id="-", present=(d2,), absent=(d1,))
        )
        await feed.meeting("presidium_meeting", at(2025, 9, 1), [d1])
        await feed.meeting("inspection", at(2025, 9, 20), [d1], MeetingCancelled(meeting_id="-", reason="改期"))
        await feed.meeting("congress_session", at(2024, 12, 1), [d1], AttendanceRecorded(meeting_id="-", present=(d1,)))
        # suggestions: two as lead (one answered A), one as co-submitter (B, promise kept); one of d3 alone
        await feed.suggestion(at(2025, 2, 1), [d1, d2], result="A")
        await feed.suggestion(at(2025, 4, 1), [d2, d1], result="B", carried_out=True)
        await feed.suggestion(at(2025, 5, 1), [d1])
        await feed.suggestion(at(2025, 5, 2), [d3], result="C")

        wait = after(me, pos, feed.header)

        async def dossier_filled() -> dict:
            r = await c.get(f"/api/deputies/{d1}/dossier", params={"year": 2025}, headers=wait)
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["meetings"]["invited"] == 3 and body["suggestions"]["submitted"] == 3, body
            assert body["activity_counts"]["report_to_voters"] == 1, body
            return body

        d = await eventually(dossier_filled)
        assert d["activity_counts"] == {
            "constituent_visit": 2,
            "reception": 0,
            "report_to_voters": 1,
            "mediation": 1,
            "training": 1,
            "good_deed": 1,
            "household_help": 0,
            "constituent_meeting": 1,
        }
        assert d["people_visited"] == 11
        assert d["reports_to_voters"] == {"written": 0, "meeting": 1}
        m = d["meetings"]
        assert (m["invited"], m["attended"], m["on_leave"], m["absent"], m["unrecorded"], m["speeches"]) == (
            3,
            1,
            0,
            1,
            1,
            2,
        )
        assert m["attendance_rate"] == {"rate": 0.5, "numerator": 1, "denominator": 2}
        assert m["by_kind"]["congress_session"] == {"invited": 1, "present": 1}
        s = d["suggestions"]
        assert (s["submitted"], s["as_lead"], s["as_co"], s["assigned"], s["replied"], s["resolved"]) == (
            3,
            2,
            1,
            2,
            2,
            2,
        )
        assert s["resolution_rate"] == {"rate": 1.0, "numerator": 2, "denominator": 2}
        assert d["six_ones"]["missing"] == ["household_help"]
        assert set(d["six_ones"]["met"]) == {
            "visit_constituents",
            "constituent_meeting",
            "valuable_suggestion",
            "good_deed",
            "dispute_mediation",
        }
        visit = next(i for i in d["six_ones"]["items"] if i["item"] == "visit_constituents")
        assert (visit["done"], visit["target"], visit["label"]) == (11, 10, "走访选民")

        other = await c.get(f"/api/deputies/{d2}/dossier", params={"year": 2025}, headers=clerk)
        assert other.json()["meetings"]["attended"] == 2 and other.json()["suggestions"]["as_co"] == 1
        # a deputy reads only their own dossier; staff only inside their jurisdiction
        assert (await c.get(f"/api/deputies/{d2}/dossier", headers=me)).status_code == 404
        neighbour = system.auth("township_staff", tree.other)
        assert (await c.get(f"/api/deputies/{d1}/dossier", headers=neighbour)).status_code == 404
        organizer = system.auth("organizer", tree.township, unit_id="unit-1")
        assert (await c.get(f"/api/deputies/{d1}/dossier", headers=organizer)).status_code == 403

        # inactive in the two quarters up to the end of 2025: d3 (last: a suggestion in May);
        # the county deputy grouped here is shown apart
        r = await c.get(
            "/api/deputies/inactive", params={"township": tree.township, "as_of": "2025-12-31"}, headers=clerk
        )
        assert r.status_code == 200, r.text
        inactive = r.json()
        assert [(i["deputy_id"], i["last_active_on"]) for i in inactive["items"]] == [(d3, "2025-05-02")]
        assert [i["deputy_id"] for i in inactive["other_levels"]] == [county]
        assert inactive["period_months"] == 6 and inactive["since"] == "2025-06-30"
        longer = await c.get(
            "/api/deputies/inactive",
            params={"township": tree.township, "as_of": "2025-12-31", "months": 12},
            headers=clerk,
        )
        assert longer.json()["items"] == []
        foreign = await c.get("/api/deputies/inactive", params={"township": tree.township}, headers=neighbour)
        assert foreign.json()["items"] == [] and foreign.json()["other_levels"] == []

        # reports to voters in 2025: d1 at a meeting, d2 in writing, d3 not at all
        r = await c.get(
            "/api/deputies/reports",
            params={"township": tree.township, "year": 2025, "term_start": "2021-11-01"},
            headers=clerk,
        )
        assert r.status_code == 200, r.text
        cov = r.json()
        assert cov["congress"]["reported"] == {"rate": 2 / 3, "numerator": 2, "denominator": 3}
        assert cov["congress"]["at_meeting"]["numerator"] == 1
        assert [x["deputy_id"] for x in cov["congress"]["not_reported"]] == [d3]
        assert cov["flags"] == ["reports_missing"]
        assert cov["other_levels"]["deputies"] == 1
        assert date.fromisoformat(cov["term_end"]) == date(2026, 10, 31)
