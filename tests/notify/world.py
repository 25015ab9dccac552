"""One township's cast and the events of a suggestion's and a meeting's life, as the other contexts publish them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from services.meetings.events import (
    JointInspectionLaunched,
    LinkedInspection,
    MeetingChanged,
    MeetingScheduled,
    ReviewOpinionOverdue,
    ReviewOpinionSent,
)
from services.suggestions.events import (
    PromiseOverdue,
    RehandlingStarted,
    ReplyOverdue,
    ReplyReminderDue,
    SatisfactionEvaluated,
    SuggestionAssigned,
    SuggestionReplied,
    SuggestionSubmitted,
)
from tests.notify.support import Feeder

NOW = datetime.now(UTC).replace(microsecond=0)
DUE = NOW + timedelta(days=90)


@dataclass
class Cast:
    city: str
    county: str
    town: str
    lead: str  # the lead deputy (phone 13900000001)
    co: str  # a co-submitter (no phone)
    unit: str  # the lead unit
    co_unit: str
    staff_mail: str  # the township staff user's e-mail
    lead_phone: str
    unit_mail: str
    unit_phone: str


async def cast(feed: Feeder, tag: str = "") -> Cast:
    city, county, town = await feed.county()
    n = uuid.uuid4().hex[:6]
    lead_phone = f"139{uuid.uuid4().int % 10**8:08d}"
    lead = await feed.deputy(town, "王代表", phone=lead_phone)
    co = await feed.deputy(town, "李代表")
    unit_mail, unit_phone = f"caizheng{n}@example.cn", f"138{uuid.uuid4().int % 10**8:08d}"
    unit = await feed.unit(town, "镇财政所", email=unit_mail, phone=unit_phone)
    co_unit = await feed.unit(town, "镇国土所")
    staff_mail = f"staff{n}@example.cn"
    await feed.user(f"staff{n}{tag}", "township_staff", town, email=staff_mail)
    return Cast(city, county, town, lead, co, unit, co_unit, staff_mail, lead_phone, unit_mail, unit_phone)


async def suggestion(feed: Feeder, c: Cast, title: str = "关于修缮青山村道路的建议") -> str:
    sid = f"s{uuid.uuid4().hex[:12]}"
    await feed.append(
        "suggestions",
        "suggestion",
        sid,
        c.town,
        SuggestionSubmitted(
            suggestion_id=sid,
            jurisdiction=c.town,
            title=title,
            content="村道年久失修。",
            deputy_ids=(c.lead, c.co),
            category="城乡建设",
            submitted_during="recess",
            submitted_at=NOW,
        ),
    )
    return sid


async def assigned(feed: Feeder, c: Cast, sid: str) -> str:
    return await feed.append(
        "suggestions",
        "suggestion",
        sid,
        c.town,
        SuggestionAssigned(
            suggestion_id=sid,
            jurisdiction=c.town,
            lead_unit_id=c.unit,
            co_unit_ids=(c.co_unit,),
            complexity="normal",
            responsible_leader="赵镇长",
            assigned_by_role="township_staff",
            assigned_at=NOW,
            round=1,
            due_at=DUE,
            return_by=NOW + timedelta(days=7),
        ),
    )


async def reminder(feed: Feeder, c: Cast, sid: str) -> str:
    e = ReplyReminderDue(
        suggestion_id=sid, jurisdiction=c.town, unit_id=c.unit, round=1, due_at=DUE, lead_time="P14D", remind_at=NOW
    )
    return await feed.append("suggestions", "suggestion", sid, c.town, e)


async def overdue(feed: Feeder, c: Cast, sid: str) -> str:
    e = ReplyOverdue(
        suggestion_id=sid,
        jurisdiction=c.town,
        unit_id=c.unit,
        round=1,
        due_at=DUE,
        deputy_ids=(c.lead, c.co),
        detected_at=NOW,
    )
    return await feed.append("suggestions", "suggestion", sid, c.town, e)


async def replied(feed: Feeder, c: Cast, sid: str) -> str:
    e = SuggestionReplied(
        suggestion_id=sid,
        jurisdiction=c.town,
        unit_id=c.unit,
        round=1,
        result="B",
        content="已列入明年计划。",
        promised_by=date(2030, 6, 30),
        measures="分两期施工",
        due_at=DUE,
        replied_at=NOW,
    )
    return await feed.append("suggestions", "suggestion", sid, c.town, e)


async def unsatisfied(feed: Feeder, c: Cast, sid: str) -> str:
    evaluated = SatisfactionEvaluated(
        suggestion_id=sid,
        jurisdiction=c.town,
        lead_unit_id=c.unit,
        round=1,
        deputy_id=c.lead,
        satisfaction="unsatisfied",
        comment="措施不具体",
        evaluated_at=NOW,
    )
    again = RehandlingStarted(
        suggestion_id=sid, jurisdiction=c.town, lead_unit_id=c.unit, round=2, started_at=NOW, due_at=DUE
    )
    return await feed.append("suggestions", "suggestion", sid, c.town, evaluated, again)


async def promise_overdue(feed: Feeder, c: Cast, sid: str) -> str:
    e = PromiseOverdue(
        suggestion_id=sid,
        jurisdiction=c.town,
        lead_unit_id=c.unit,
        round=1,
        promised_by=date(2030, 6, 30),
        deputy_ids=(c.lead,),
        detected_at=NOW,
    )
    return await feed.append("suggestions", "suggestion", sid, c.town, e)


async def meeting(feed: Feeder, c: Cast) -> tuple[str, str, str]:
    mid = f"m{uuid.uuid4().hex[:12]}"
    starts = NOW + timedelta(days=10)
    scheduled = MeetingScheduled(
        meeting_id=mid,
        kind="presidium_meeting",
        body=c.town,
        title="镇人大主席团第五次会议",
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        venue="镇政府三楼会议室",
        invitee_ids=(c.lead, c.co),
    )
    first = await feed.append("meetings", "meeting", mid, c.town, scheduled)
    changed = MeetingChanged(
        meeting_id=mid,
        title="镇人大主席团第五次会议",
        starts_at=starts + timedelta(days=1),
        ends_at=starts + timedelta(days=1, hours=3),
        venue="镇政府一楼会议室",
        agenda=(),
        invitee_ids=(c.lead,),
        observers=(),
        removed_invitee_ids=(c.co,),
    )
    second = await feed.append("meetings", "meeting", mid, c.town, changed)
    return mid, first, second


async def joint_inspection(feed: Feeder, c: Cast, meeting_id: str) -> str:
    jid = f"j{uuid.uuid4().hex[:12]}"
    e = JointInspectionLaunched(
        joint_inspection_id=jid,
        county=c.county,
        theme="《中华人民共和国食品安全法》贯彻实施情况",
        window_start=date(2030, 5, 1),
        window_end=date(2030, 5, 31),
        requirements="每个乡镇至少组织 5 名代表参加",
        steps=("学习法律", "实地视察"),
        inspections=(LinkedInspection(township=c.town, meeting_id=meeting_id),),
    )
    return await feed.append("meetings", "joint_inspection", jid, c.county, e)


async def review_opinion_overdue(feed: Feeder, c: Cast, meeting_id: str) -> str:
    rid = f"r{uuid.uuid4().hex[:12]}"
    sent = ReviewOpinionSent(
        review_opinion_id=rid,
        meeting_id=meeting_id,
        meeting_kind="inspection",
        body=c.town,
        agenda_index=0,
        to_unit_id=c.unit,
        content="加强监管",
        sent_at=NOW,
        due_at=DUE,
    )
    await feed.append("meetings", "review_opinion", rid, c.town, sent)
    late = ReviewOpinionOverdue(review_opinion_id=rid, to_unit_id=c.unit, due_at=DUE)
    return await feed.append("meetings", "review_opinion", rid, c.town, late)
