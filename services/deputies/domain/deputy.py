"""The deputy (人大代表) aggregate: registration, qualification, termination, duty records, contacts.

Pure: ``evolve`` folds events and never raises; ``decide_*`` get every setting and fact they
need from the caller (whether the congress is a street's, whether the deputy sits on the
presidium, today's date) and answer events or raise a ``DomainError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

from libs.domain.errors import AlreadyExists, InvalidInput, InvalidTransition, NotForStreet
from libs.events.aggregate import AggregateType
from libs.events.event import Event
from services.deputies.domain.errors import DeputyNotRegistered, DeputyTerminated, NotPresidiumMember
from services.deputies.domain.vocabulary import checked_phone
from services.deputies.events import (
    ActivityKind,
    ContactKind,
    ContactRecorded,
    DeputyContactChanged,
    DeputyQualificationConfirmed,
    DeputyRegistered,
    DutyActivityRecorded,
    Gender,
    Level,
    ReportMode,
    TerminationReason,
)
from services.deputies.events import (
    DeputyTerminated as DeputyTerminatedEvent,
)

CONGRESS_CODE_LENGTHS: dict[Level, tuple[int, ...]] = {
    "township": (9,),
    "county": (6,),
    "city": (4,),
    "province": (2, 6),
}
PEOPLE_REQUIRED: frozenset[str] = frozenset({"constituent_visit", "constituent_meeting"})
MAX_TEXT = 2000
DEFAULT_REPORT_MODE: ReportMode = "meeting"  # a report to voters not said to be written was given at a meeting


@dataclass(frozen=True)
class Deputy:
    id: str
    registered: bool = False
    name: str = ""
    level: Level = "township"
    congress: str = ""
    township: str | None = None
    term: int = 0
    sector: str = ""
    by_election: bool = False
    elected_on: date | None = None
    qualification_confirmed_on: date | None = None
    terminated_on: date | None = None
    termination_reason: TerminationReason | None = None
    phone: str | None = field(default=None, repr=False)  # personal data: never logged
    activity_ids: frozenset[str] = frozenset()
    contact_keys: frozenset[str] = field(default=frozenset(), repr=False)  # holds names

    @property
    def status(self) -> str:
        if not self.registered:
            return "unregistered"
        return "terminated" if self.terminated_on is not None else "active"


# ---- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegisterDeputy:
    deputy_id: str
    name: str
    gender: Gender
    level: Level
    congress: str
    township: str | None
    constituency: str
    term: int
    sector: str = ""
    phone: str | None = field(default=None, repr=False)
    by_election: bool = False
    elected_on: date | None = None


@dataclass(frozen=True)
class TerminateDeputy:
    deputy_id: str
    reason: TerminationReason
    effective_on: date
    reason_text: str = ""


@dataclass(frozen=True)
class ConfirmQualification:
    deputy_id: str
    confirmed_on: date


@dataclass(frozen=True)
class RecordDutyActivity:
    deputy_id: str
    activity_id: str
    kind: ActivityKind
    on: date
    summary: str = ""
    people_count: int = 0
    report_mode: ReportMode | None = None


@dataclass(frozen=True)
class RecordContact:
    deputy_id: str
    contact_id: str
    kind: ContactKind
    on: date
    contact_deputy_id: str | None = None
    constituent_name: str | None = field(default=None, repr=False)
    village: str | None = None


# ---- where a deputy's record lives -----------------------------------------------------------

IN_THE_TREE: tuple[Level, ...] = ("township", "county", "city")  # levels whose congress is a code of the tree


def home_of(level: str, congress: str, township: str | None) -> str:
    """Where a deputy's record lives: the township or street where grouped, else the congress."""
    where = (township or "").strip() or (congress.strip() if level == "township" else "")
    if not where and congress.strip().isdigit() and len(congress.strip()) in (4, 6):
        where = congress.strip()
    if not (where.isdigit() and len(where) in (4, 6, 9)):
        raise InvalidInput("township", "请填写代表编组所在的乡镇（街道）9 位行政区划代码。")
    return where


# ---- reads ----------------------------------------------------------------------------------


def is_current(d: Deputy, on_date: date, *, require_confirmed: bool = False) -> bool:
    """A current deputy on ``on_date``: registered, elected by then, not yet terminated.

    Termination takes effect on ``effective_on``: from that day on the deputy may no longer
    submit suggestions, be invited or record activities.
    """
    if not d.registered:
        return False
    if d.elected_on is not None and on_date < d.elected_on:
        return False
    if d.terminated_on is not None and on_date >= d.terminated_on:
        return False
    return not (require_confirmed and d.qualification_confirmed_on is None)


def require_current(d: Deputy, on_date: date) -> None:
    """Raise ``deputy_terminated`` (or 404 for an unknown deputy) unless current on ``on_date``."""
    if not d.registered:
        raise DeputyNotRegistered()
    if not is_current(d, on_date):
        raise DeputyTerminated([d.id])


# ---- evolve ---------------------------------------------------------------------------------


def evolve(d: Deputy, e: Event) -> Deputy:
    match e:
        case DeputyRegistered():
            return Deputy(
                id=e.deputy_id,
                registered=True,
                name=e.name,
                level=e.level,
                congress=e.congress,
                township=e.township,
                term=e.term,
                sector=e.sector,
                by_election=e.by_election,
                elected_on=e.elected_on,
                phone=e.phone,
            )
        case DeputyContactChanged():
            return replace(d, phone=e.phone or d.phone, sector=d.sector if e.sector is None else e.sector)
        case DeputyTerminatedEvent():
            return replace(d, terminated_on=e.effective_on, termination_reason=e.reason)
        case DeputyQualificationConfirmed():
            return replace(d, qualification_confirmed_on=e.confirmed_on)
        case DutyActivityRecorded():
            return replace(d, activity_ids=d.activity_ids | {e.activity_id})
        case ContactRecorded():
            key = _contact_key(e.kind, e.contact_deputy_id, e.constituent_name, e.village)
            return replace(d, contact_keys=d.contact_keys | {key})
    return d


# ---- decide ---------------------------------------------------------------------------------


def decide_register(d: Deputy, c: RegisterDeputy, *, congress_is_street: bool) -> list[Event]:
    """Register a deputy (also a by-elected one).

    ``congress_is_street``: the congress code names a street, which has no congress of its own.
    """
    if d.registered:
        raise AlreadyExists("该代表已登记，不能重复登记。", deputy_id=d.id)
    name = c.name.strip()
    if not name:
        raise InvalidInput("name", "请填写代表姓名。")
    if c.term < 1:
        raise InvalidInput("term", "届次必须是正整数，例如第十八届填 18。")
    if not c.constituency.strip():
        raise InvalidInput("constituency", "请填写选区或选举单位。")
    township = _check_codes(c, congress_is_street=congress_is_street)
    phone = checked_phone(c.phone)
    return [
        DeputyRegistered(
            deputy_id=c.deputy_id,
            name=name,
            gender=c.gender,
            level=c.level,
            congress=c.congress,
            township=township,
            constituency=c.constituency.strip(),
            term=c.term,
            sector=c.sector.strip(),
            phone=phone,
            by_election=c.by_election,
            elected_on=c.elected_on,
        )
    ]


def decide_terminate(d: Deputy, c: TerminateDeputy) -> list[Event]:
    """End a deputy's mandate: resignation accepted, recall, moving away, death or term end."""
    if not d.registered:
        raise DeputyNotRegistered()
    if d.terminated_on is not None:
        # A mandate ends once; a retry of the same command is the store's to answer, not this.
        raise InvalidTransition("terminated", "terminate")
    if d.elected_on is not None and c.effective_on < d.elected_on:
        raise InvalidInput("effective_on", "终止日期不能早于当选日期。")
    if len(c.reason_text) > MAX_TEXT:
        raise InvalidInput("reason_text", f"说明不能超过 {MAX_TEXT} 字。")
    return [
        DeputyTerminatedEvent(
            deputy_id=d.id,
            reason=c.reason,
            effective_on=c.effective_on,
            reason_text=c.reason_text.strip(),
            level=d.level,
            congress=d.congress,
            township=d.township,
        )
    ]


def decide_confirm_qualification(d: Deputy, c: ConfirmQualification) -> list[Event]:
    """The presidium (or standing committee) confirms the deputy's qualification; once is enough."""
    if not d.registered:
        raise DeputyNotRegistered()
    if d.qualification_confirmed_on is not None:
        return []
    if not is_current(d, c.confirmed_on):
        raise DeputyTerminated([d.id])
    return [
        DeputyQualificationConfirmed(
            deputy_id=d.id,
            confirmed_on=c.confirmed_on,
            level=d.level,
            congress=d.congress,
            township=d.township,
        )
    ]


def decide_record_activity(d: Deputy, c: RecordDutyActivity, *, today: date) -> list[Event]:
    """Record a duty activity of a deputy current on the day it took place."""
    require_current(d, c.on)
    if c.activity_id in d.activity_ids:
        return []
    if c.on > today:
        raise InvalidInput("on", "不能登记尚未发生的履职活动。")
    if c.people_count < 0:
        raise InvalidInput("people_count", "人数不能为负数。")
    if c.kind in PEOPLE_REQUIRED and c.people_count < 1:
        raise InvalidInput("people_count", "走访选民和选民座谈会须填写参加的群众人数。")
    report_mode = c.report_mode
    if c.kind == "report_to_voters" and report_mode is None:
        report_mode = DEFAULT_REPORT_MODE
    if c.kind != "report_to_voters" and report_mode is not None:
        raise InvalidInput("report_mode", "只有向选民述职才填写述职方式。")
    if len(c.summary) > MAX_TEXT:
        raise InvalidInput("summary", f"内容摘要不能超过 {MAX_TEXT} 字。")
    return [
        DutyActivityRecorded(
            activity_id=c.activity_id,
            deputy_id=d.id,
            kind=c.kind,
            on=c.on,
            summary=c.summary.strip(),
            people_count=c.people_count,
            report_mode=report_mode,
            level=d.level,
            congress=d.congress,
            township=d.township,
        )
    ]


def decide_record_contact(
    d: Deputy,
    c: RecordContact,
    *,
    is_presidium_member: bool,
    contact_is_current: bool = True,
    today: date,
) -> list[Event]:
    """Record a fixed contact: a presidium member ↔ a deputy, or a deputy ↔ a constituent.

    ``is_presidium_member``: ``d`` sits on its township's presidium on ``c.on``;
    ``contact_is_current``: for a deputy contact, that deputy is current on ``c.on``.
    """
    require_current(d, c.on)
    if c.on > today:
        raise InvalidInput("on", "日期不能晚于今天。")
    if c.kind == "presidium_member":
        if not is_presidium_member:
            raise NotPresidiumMember()
        if not c.contact_deputy_id:
            raise InvalidInput("contact", "请选择所联系的代表。")
        if c.contact_deputy_id == d.id:
            raise InvalidInput("contact", "不能登记联系本人。")
        if not contact_is_current:
            raise DeputyTerminated([c.contact_deputy_id])
        name, village = None, None
    else:
        name = (c.constituent_name or "").strip()
        village = (c.village or "").strip()
        if not name or not village:
            raise InvalidInput("contact", "请填写所联系群众的姓名和所在村（社区）。")
    key = _contact_key(c.kind, c.contact_deputy_id, name, village)
    if key in d.contact_keys:
        return []  # the same contact again records nothing
    return [
        ContactRecorded(
            contact_id=c.contact_id,
            deputy_id=d.id,
            kind=c.kind,
            contact_deputy_id=c.contact_deputy_id if c.kind == "presidium_member" else None,
            constituent_name=name,
            village=village,
            on=c.on,
            township=d.township,
        )
    ]


# ---- helpers --------------------------------------------------------------------------------


def _check_codes(c: RegisterDeputy, *, congress_is_street: bool) -> str | None:
    """Check congress and township codes against the level; answer the township to group in."""
    congress = c.congress.strip()
    lengths = CONGRESS_CODE_LENGTHS.get(c.level)
    if not congress or (lengths and (not congress.isdigit() or len(congress) not in lengths)):
        raise InvalidInput("congress", "选举产生代表的人大行政区划代码与代表层级不符。")
    if c.level == "township" and congress_is_street:
        raise NotForStreet("街道不设人民代表大会，不能登记乡镇人大代表；街道辖区内的区人大代表请按区级登记。")
    township = c.township.strip() if c.township else None
    if c.level == "township":
        township = township or congress
        if township != congress:
            raise InvalidInput("township", "乡镇人大代表应编入本乡镇的代表小组。")
        return township
    if township is None:
        return None
    if not (township.isdigit() and len(township) == 9):
        raise InvalidInput("township", "编组所在乡镇（街道）的代码应为 9 位行政区划代码。")
    prefix = congress.removesuffix("0000") if c.level == "province" else congress
    if c.level != "national" and not township.startswith(prefix):
        raise InvalidInput("township", "编组所在乡镇（街道）不在该代表所属人大的行政区域内。")
    return township


def _contact_key(kind: str, deputy_id: str | None, name: str | None, village: str | None) -> str:
    if kind == "presidium_member":
        return f"deputy:{deputy_id}"
    return f"constituent:{name}|{village}"


DEPUTY: AggregateType[Deputy] = AggregateType(
    name="deputy", context="deputies", initial=lambda deputy_id: Deputy(id=deputy_id), evolve=evolve
)
