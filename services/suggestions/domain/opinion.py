"""The ConstituentOpinion aggregate (群众意见): recorded by a deputy, then converted or answered.

"六步工作法": deputies gather opinions; the presidium turns one into a suggestion (linked, source
``constituents_opinion``) or answers it directly. Either ends it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.suggestions.domain import rules
from services.suggestions.domain.commands import (
    AnswerOpinion,
    ConvertOpinion,
    RecordOpinion,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import (
    AlreadyExists,
    DeputyTerminated,
    InvalidInput,
    NotFound,
    WrongTransition,
)
from services.suggestions.domain.state import text
from services.suggestions.events import (
    ConstituentOpinionAnswered,
    ConstituentOpinionConverted,
    ConstituentOpinionRecorded,
)

OpinionStatus = Literal["new", "recorded", "converted", "answered"]


@dataclass(frozen=True)
class ConstituentOpinion:
    id: str
    status: OpinionStatus = "new"
    jurisdiction: str = ""
    deputy_id: str = ""
    on: date | None = None
    place: str = ""
    content: str = ""
    people_count: int = 0
    suggestion_id: str | None = None
    answer: str | None = None


def evolve(o: ConstituentOpinion, e: Event) -> ConstituentOpinion:
    match e:
        case ConstituentOpinionRecorded():
            return ConstituentOpinion(
                id=e.opinion_id,
                status="recorded",
                jurisdiction=e.jurisdiction,
                deputy_id=e.deputy_id,
                on=e.on,
                place=e.place,
                content=e.content,
                people_count=e.people_count,
            )
        case ConstituentOpinionConverted():
            return replace(o, status="converted", suggestion_id=e.suggestion_id)
        case ConstituentOpinionAnswered():
            return replace(o, status="answered", answer=e.content)
    return o


CONSTITUENT_OPINION: AggregateType[ConstituentOpinion] = AggregateType(
    name="constituent_opinion",
    context="suggestions",
    initial=lambda id: ConstituentOpinion(id=id),
    evolve=evolve,
)


def _require_recorded(o: ConstituentOpinion, action: str) -> None:
    if o.status == "new":
        raise NotFound("找不到该群众意见，或您无权查看。")
    if o.status != "recorded":
        raise WrongTransition(o.status, action)


def decide_record(
    o: ConstituentOpinion, c: RecordOpinion, *, now: datetime, tz: ZoneInfo, deputy_terminated: bool = False
) -> list[Event]:
    if o.status != "new":
        raise AlreadyExists("该群众意见已登记。")
    code = c.jurisdiction.strip()
    if not code.isdigit() or len(code) != 9:
        raise InvalidInput("township", "请填写乡镇（街道）9 位行政区划代码。")
    deputy = text(c.deputy_id, "deputy_id", "请填写收集意见的代表。")
    if deputy_terminated:
        raise DeputyTerminated(deputy)
    if c.on > rules.local_date(now, tz):
        raise InvalidInput("on", "走访日期不能晚于今天。")
    if c.people_count < 1:
        raise InvalidInput("people_count", "反映人数至少为 1 人。")
    return [
        ConstituentOpinionRecorded(
            opinion_id=o.id,
            jurisdiction=code,
            deputy_id=deputy,
            on=c.on,
            place=text(c.place, "place", "请填写走访或接待地点。"),
            content=text(c.content, "content", "请填写群众反映的内容。"),
            people_count=c.people_count,
            recorded_at=now,
        )
    ]


def decide_convert(o: ConstituentOpinion, c: ConvertOpinion, *, now: datetime) -> list[Event]:
    _require_recorded(o, "convert")
    suggestion_id = text(c.suggestion_id, "suggestion_id", "缺少转成的建议编号。")
    return [
        ConstituentOpinionConverted(
            opinion_id=o.id, jurisdiction=o.jurisdiction, suggestion_id=suggestion_id, converted_at=now
        )
    ]


def opinion_submission(o: ConstituentOpinion, *, suggestion_id: str, title: str | None = None) -> SubmitSuggestion:
    """The suggestion an opinion becomes: submitted by the deputy who gathered it, linked to it."""
    return SubmitSuggestion(
        suggestion_id=suggestion_id,
        jurisdiction=o.jurisdiction,
        title=(title or o.content[:30]).strip(),
        content=o.content,
        deputy_ids=(o.deputy_id,),
        category="群众意见",
        submitted_during="recess",
        source="constituents_opinion",
        source_id=o.id,
    )


def decide_answer(o: ConstituentOpinion, c: AnswerOpinion, *, now: datetime) -> list[Event]:
    _require_recorded(o, "answer")
    content = text(c.content, "content", "请填写答复群众的内容。")
    return [ConstituentOpinionAnswered(opinion_id=o.id, jurisdiction=o.jurisdiction, content=content, answered_at=now)]
