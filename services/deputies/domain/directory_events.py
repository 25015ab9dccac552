"""Events of the user directory: accounts and role grants, so the audit trail answers
"who held which role in which jurisdiction on a past date".

``password_hash`` is an argon2id hash (never the password); it is kept out of ``repr`` so a
log line that prints an event never shows it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from libs.events.event import Event

RoleName = Literal["city_staff", "county_staff", "township_staff", "deputy", "organizer"]


class UserCreated(Event, version=1):
    username: str
    password_hash: str = Field(repr=False)
    display_name: str = ""


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


class PasswordChanged(Event, version=1):
    username: str
    password_hash: str = Field(repr=False)
