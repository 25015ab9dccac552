"""Events of the jurisdiction tree (the deputies context's other events: deputy_events.py)."""

from __future__ import annotations

from typing import Literal

from libs.events.event import Event

Kind = Literal["city", "county", "township", "street"]


class JurisdictionRegistered(Event, version=1):
    code: str
    name: str
    kind: Kind
    parent: str | None = None
