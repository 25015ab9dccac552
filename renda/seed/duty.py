"""Deputies' duty records (履职档案): visits, receptions, mediation, trainings … and reports to voters.

Each active deputy records ``scale.activities`` activities a year, on days they were current; every
deputy reports to voters once a year, about 35 % of them at a meeting of voters (≥ 30 % is the
target). Deputies tagged ``inactive`` record nothing: the view must surface them.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from functools import partial

from libs.events.event import Event
from renda.seed import vocab
from renda.seed.places import County
from renda.seed.plan import Plan, States, deputy_actor
from services.deputies.domain import deputy as dp
from services.deputies.events import ActivityKind, ReportMode

KINDS: tuple[tuple[ActivityKind, float], ...] = (
    ("constituent_visit", 0.55),
    ("reception", 0.15),
    ("mediation", 0.06),
    ("training", 0.06),
    ("good_deed", 0.06),
    ("household_help", 0.06),
    ("constituent_meeting", 0.06),
)


def plan_duty(plan: Plan, county: County) -> None:
    rng = plan.rng
    kinds = [k for k, _ in KINDS]
    cumulative = list(itertools.accumulate(w for _, w in KINDS))
    for year in plan.years():
        first = max(date(year, 1, 1), plan.start + timedelta(days=7))
        last = date(year, 12, 31)
        for place in county.places:
            for p in place.deputies:
                if "inactive" in p.tags:
                    continue
                n = max(0, round(rng.gauss(plan.scale.activities, plan.scale.activities / 5)))
                days = sorted(plan.random_day(first, last) for _ in range(n))
                for k, day in enumerate(days):
                    if p.active(day):
                        kind = rng.choices(kinds, cum_weights=cumulative)[0]
                        people = (
                            rng.randint(1, 6)
                            if kind == "constituent_visit"
                            else (rng.randint(8, 30) if kind == "constituent_meeting" else 0)
                        )
                        _record(
                            plan,
                            place.code,
                            p.id,
                            dp.RecordDutyActivity(
                                p.id,
                                plan.id("activity", p.id, year, k),
                                kind,
                                day,
                                vocab.ACTIVITY_SUMMARIES[kind],
                                people_count=people,
                            ),
                        )
                report_day = plan.random_day(date(year, 11, 1), date(year, 12, 20))
                if p.active(report_day):
                    mode: ReportMode = "meeting" if rng.random() < 0.36 else "written"
                    _record(
                        plan,
                        place.code,
                        p.id,
                        dp.RecordDutyActivity(
                            p.id,
                            plan.id("report", p.id, year),
                            "report_to_voters",
                            report_day,
                            vocab.ACTIVITY_SUMMARIES["report_to_voters"],
                            people_count=rng.randint(20, 60) if mode == "meeting" else 0,
                            report_mode=mode,
                        ),
                    )


def _record(plan: Plan, where: str, deputy_id: str, c: dp.RecordDutyActivity) -> None:
    """Recorded the same day or within three days, by the deputy's own login."""
    at = plan.office_time(c.on + timedelta(days=plan.rng.randint(0, 3)))
    today = plan.day_of(at)
    plan.add(
        at,
        dp.DEPUTY,
        deputy_id,
        where,
        deputy_actor(deputy_id),
        partial(_record_activity, c=c, today=today),
    )


def _record_activity(s: dp.Deputy, w: States, *, c: dp.RecordDutyActivity, today: date) -> list[Event]:
    return dp.decide_record_activity(s, c, today=today)
