"""Realistic histories of the meetings and suggestions aggregates (for tests/events/test_snapshot_codec.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from libs.events.event import Event
from services.meetings import events as me
from services.meetings.domain.meeting import MEETING
from services.meetings.domain.minutes import build_minutes, minutes_sha256
from services.suggestions import events as se
from tests.events.histories_deputies import COUNTY, DAY, T0, TOWN


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
    before = MEETING.replay(m, events)
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
