"""Events of the notify context, named as in the contract: one delivery's outcome each.

A notification (one source event, one recipient, one channel) is an aggregate of its own
(``notification``); its one event is ``NotificationSent`` or ``NotificationFailed``, appended
with an id derived from the notification id, so a retried append stores nothing twice.
Addresses (e-mail, phone) are personal data and never in an event.
"""

from __future__ import annotations

from datetime import datetime

from libs.events.aggregate import AggregateType
from libs.events.event import Event


class NotificationSent(Event, version=1):
    notification_id: str
    source_event_id: str
    kind: str  # assigned, reminder, overdue … (contract "Notifications")
    channel: str  # email, sms, bot
    recipient: str  # unit:<id>, deputy:<id>, user:<username>, bot:<label>
    attempts: int
    sent_at: datetime


class NotificationFailed(Event, version=1):
    notification_id: str
    source_event_id: str
    kind: str
    channel: str
    recipient: str
    attempts: int
    last_error: str
    failed_at: datetime


def _evolve(state: str, event: Event) -> str:
    match event:
        case NotificationSent():
            return "sent"
        case NotificationFailed():
            return "failed"
    return state


NOTIFICATION: AggregateType[str] = AggregateType(
    name="notification", context="notify", initial=lambda _id: "pending", evolve=_evolve, snapshot_every=0
)
