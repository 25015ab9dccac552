"""The published language of the deputies context: every event it appends, named as in the contract.

This is the only module of ``services.deputies`` another context or ``libs/`` may import. Each
class is its stored schema; change it only by a new version and an upcaster.

- the jurisdiction tree (``JurisdictionRegistered``);
- deputies, groups, the presidium, liaison stations, duty activities and contacts. ``phone`` and
  constituents' names are personal data: kept in the event where the read model needs them, but
  left out of ``repr`` so a log line that prints an event never shows them;
- the user directory: accounts and role grants, so the audit trail answers "who held which role
  in which jurisdiction on a past date". Credentials are never in an event: the password hash is
  kept in the deputies service's overwritable credential store; ``UserCreated`` and
  ``PasswordChanged`` only say that a password was set. Version 1 of both carried the hash;
  their upcasters drop it, so a decoded event never holds one.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from libs.events.event import Event, upcaster

Kind = Literal["city", "county", "township", "street"]


class JurisdictionRegistered(Event, version=1):
    code: str
    name: str
    kind: Kind
    parent: str | None = None


Level = Literal["township", "county", "city", "province", "national"]
Gender = Literal["male", "female"]
TerminationReason = Literal["resigned", "recalled", "moved", "deceased", "term_ended"]
ActivityKind = Literal[
    "constituent_visit",
    "reception",
    "report_to_voters",
    "mediation",
    "training",
    "good_deed",
    "household_help",
    "constituent_meeting",
]
ReportMode = Literal["written", "meeting"]
ContactKind = Literal["presidium_member", "constituent"]

LEVELS: tuple[Level, ...] = ("township", "county", "city", "province", "national")
TERMINATION_REASONS: tuple[TerminationReason, ...] = (
    "resigned",
    "recalled",
    "moved",
    "deceased",
    "term_ended",
)
ACTIVITY_KINDS: tuple[ActivityKind, ...] = (
    "constituent_visit",
    "reception",
    "report_to_voters",
    "mediation",
    "training",
    "good_deed",
    "household_help",
    "constituent_meeting",
)


class DeputyRegistered(Event, version=1):
    deputy_id: str
    name: str
    gender: Gender
    level: Level
    congress: str  # code of the body the deputy was elected to
    township: str | None  # code of the township or street where the deputy is grouped
    constituency: str
    term: int  # 届, e.g. 18 for 第十八届
    sector: str = ""
    phone: str | None = Field(default=None, repr=False)  # personal data: never logged
    by_election: bool = False  # 补选
    elected_on: date | None = None


class DeputyTerminated(Event, version=1):
    deputy_id: str
    reason: TerminationReason
    effective_on: date
    reason_text: str = ""
    level: Level
    congress: str
    township: str | None


class DeputyContactChanged(Event, version=1):
    """A deputy's phone or sector changed: only what changed is set, the other field is None."""

    deputy_id: str
    phone: str | None = Field(default=None, repr=False)  # personal data: never logged
    sector: str | None = None
    level: Level
    congress: str
    township: str | None


class DeputyQualificationConfirmed(Event, version=1):
    deputy_id: str
    confirmed_on: date
    level: Level
    congress: str
    township: str | None


class DutyActivityRecorded(Event, version=1):
    activity_id: str
    deputy_id: str
    kind: ActivityKind
    on: date
    summary: str = ""
    people_count: int = 0  # constituents met; the 六个一 visit target sums these
    report_mode: ReportMode | None = None  # reports to voters only: written or at a meeting
    level: Level
    congress: str
    township: str | None


class ContactRecorded(Event, version=1):
    contact_id: str
    deputy_id: str  # whose contact it is (a presidium member, or any deputy)
    kind: ContactKind
    contact_deputy_id: str | None = None  # presidium_member: the deputy kept in contact
    constituent_name: str | None = Field(default=None, repr=False)  # constituent: personal data
    village: str | None = None
    on: date
    township: str | None


class DeputyGroupFormed(Event, version=1):
    group_id: str
    township: str
    name: str
    leader_ids: tuple[str, ...]
    member_ids: tuple[str, ...]  # leaders included
    central: bool = False


class DeputyGroupChanged(Event, version=1):
    """The group's whole new composition (a snapshot, not a diff)."""

    group_id: str
    township: str
    name: str
    leader_ids: tuple[str, ...]
    member_ids: tuple[str, ...]
    central: bool = False


class PresidiumFormed(Event, version=1):
    """The township's presidium as elected; it replaces any earlier one whole."""

    township: str
    member_ids: tuple[str, ...]
    chair_id: str
    formed_on: date
    replaced_member_ids: tuple[str, ...] = ()  # the previous composition, if any


class SixHaves(BaseModel):
    """The "六有" standard of a liaison station."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    place: bool = False  # 有场所
    sign: bool = False  # 有标牌
    rules: bool = False  # 有制度
    materials: bool = False  # 有资料
    records: bool = False  # 有记录
    roll: bool = False  # 有名册


class LiaisonStationRegistered(Event, version=1):
    station_id: str
    township: str
    name: str
    address: str = ""
    six_haves: SixHaves = SixHaves()
    reception_days: tuple[str, ...] = ()  # "monday".."sunday" weekly, or "1".."31" monthly


class LiaisonStationUpdated(Event, version=1):
    """The station's checklist and reception days as they now stand (a snapshot)."""

    station_id: str
    township: str
    name: str
    address: str = ""
    six_haves: SixHaves = SixHaves()
    reception_days: tuple[str, ...] = ()


RoleName = Literal["city_staff", "county_staff", "township_staff", "deputy", "organizer"]


class UserCreated(Event, version=2):
    username: str
    display_name: str = ""
    password_set: bool = True  # the hash itself is in the credential store, never here
    email: str | None = Field(default=None, repr=False)  # where notifications go: personal data
    phone: str | None = Field(default=None, repr=False)


@upcaster(UserCreated, from_version=1)
def _user_created_v1(data: dict[str, Any]) -> dict[str, Any]:
    """v1 carried the argon2 hash: a decoded event never shows it."""
    return {k: v for k, v in data.items() if k != "password_hash"} | {"password_set": True}


class RoleGranted(Event, version=1):
    """The user's role from now on (one role at a time; a new grant replaces the previous one)."""

    username: str
    role: RoleName
    jurisdiction: str
    deputy_id: str | None = None
    unit_id: str | None = None


class UserDisabled(Event, version=1):
    username: str
    reason: str = ""


class PasswordChanged(Event, version=2):
    """The password was changed (the new hash is in the credential store, never here)."""

    username: str


@upcaster(PasswordChanged, from_version=1)
def _password_changed_v1(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "password_hash"}
