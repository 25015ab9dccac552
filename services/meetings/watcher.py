"""The review-opinion clock: feedback reminders at each lead time once, overdue once.

The due index is ``meetings_review_opinions`` (the ``meetings-index`` projection): opinions
still awaiting feedback and not yet raised overdue. ``act`` reloads the opinion and lets the
domain decide, so a lagging index, a second instance or a restart decides nothing twice.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy import select

from libs.events.store import CommandMeta
from libs.service.runtime import ServiceRuntime
from libs.service.watch import Clock, Due, DueWatcher, utcnow
from services.meetings.domain import review_opinion as ro
from services.meetings.projections import from_text, opinions, utc_text

log = structlog.get_logger("meetings.watcher")
NAME = "meetings-review-opinions"
OVERDUE = "review_opinion_overdue"
REMINDER = "review_opinion_reminder"


def review_opinion_watcher(rt: ServiceRuntime, *, clock: Clock = utcnow, interval: float = 1.0) -> DueWatcher:
    settings = rt.settings
    tz = settings.tz
    leads = settings.reminder_lead_times

    async def find_due(now: datetime, limit: int) -> list[Due]:
        # Every lead time reaches back at most to ``lead.after(now)``: nothing due later is looked at.
        horizon = max([lead.after(now, tz) for lead in leads] + [now])
        o = opinions.c
        q = (
            select(o.review_opinion_id, o.due_at, o.reminded)
            .where(o.status == "sent", o.overdue.is_(False), o.due_at <= utc_text(horizon))
            .order_by(o.due_at)
            .limit(limit)
        )
        async with rt.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        out: list[Due] = []
        for rid, due_text, reminded in rows:
            due_at = from_text(due_text)
            assert due_at is not None
            if now >= due_at:
                out.append(Due(OVERDUE, rid, due_at))
                continue
            pending = [
                lead.text for lead in leads if lead.text not in (reminded or []) and now >= lead.before(due_at, tz)
            ]
            if pending:
                out.append(Due(f"{REMINDER}:{'+'.join(pending)}", rid, due_at))
        return out

    async def act(item: Due, meta: CommandMeta) -> bool:
        def decide(loaded: object) -> list:  # type: ignore[type-arg]
            state = loaded.state  # type: ignore[attr-defined]
            if item.kind == OVERDUE:
                return ro.decide_overdue(state, now=meta.now)
            return ro.decide_remind(state, lead_times=leads, tz=tz, now=meta.now)

        appended = await rt.store.execute(ro.REVIEW_OPINION, item.aggregate_id, decide, meta)
        if appended.envelopes:
            log.info(
                "meetings.review_opinion." + ("overdue" if item.kind == OVERDUE else "reminder"),
                review_opinion_id=item.aggregate_id,
            )
        return bool(appended.envelopes)

    return DueWatcher(NAME, find_due, act, clock=clock, interval=interval)


async def watch_review_opinions(rt: ServiceRuntime) -> None:
    """Background task of the service (``ServiceDefinition.background``)."""
    await review_opinion_watcher(rt).run()
