"""As of a day equals the live view taken at the end of that day (issue 14): the view's clock is
fixed at the end of today and the live answers kept; then the county goes on the next day (events
appended through the event store with a clock on the next day: a reply, a new suggestion, a new
township, a new deputy, the lead deputy's termination recorded) and, with the view's clock on the next day,
``as_of`` today answers exactly the snapshot — nothing registered or recorded later shows in it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from libs.events.envelope import Actor
from libs.events.store import CommandMeta, EventStore
from libs.runtime.nats_server import EmbeddedNats
from services.deputies.domain.deputy import DEPUTY
from services.deputies.domain.jurisdiction import JURISDICTION
from services.deputies.events import DeputyRegistered, DeputyTerminated, JurisdictionRegistered
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import RecordConsultation, ReplyToSuggestion, SubmitSuggestion
from services.suggestions.domain.rules import SuggestionPolicy
from services.supervision import clock
from services.supervision.app import create
from services.supervision.queries import rules_of
from tests.suggestions.conftest import TODAY
from tests.supervision.fixture import County, build
from tests.support.system import System, running_system

POLICY = SuggestionPolicy.parse()


def meta(now: datetime) -> CommandMeta:
    cid = str(uuid.uuid4())
    return CommandMeta(actor=Actor("test:clerk", "township_staff"), correlation_id=cid, command_id=cid, now=now)


async def view(system: System, c: County, **params: Any) -> dict[str, Any]:
    out = {}
    for name in ("townships", "overdue", "units"):
        r = await system.client.get(
            f"/api/supervision/{name}",
            params={"under": c.a.county, **params},
            headers={**c.who.county, **c.after},
        )
        assert r.status_code == 200, r.text
        out[name] = r.json()
    return out


async def test_as_of_a_day_is_the_live_view_at_its_end(
    nats_server: EmbeddedNats, nc, settings_for, database_url: str
) -> None:
    settings = settings_for(nats_server.url, database_url, unsatisfied_limit=0, reply_deadline_complex="PT1S")
    async with running_system(settings) as system:
        c = await build(system, nc)
        a = c.a
        tz = settings.tz
        end_of_today = datetime.combine(TODAY + timedelta(days=1), time(0), tzinfo=tz) - timedelta(microseconds=1)
        with clock.fixed(end_of_today.astimezone(UTC)):
            snapshot = await view(system, c)
        assert [i["code"] for i in snapshot["townships"]["items"]] == sorted([a.township, a.street])

        # the next day, through the event store with a clock on that day
        tomorrow = datetime.combine(TODAY + timedelta(days=1), time(10), tzinfo=tz).astimezone(UTC)
        store = EventStore(nc)
        at = iter(tomorrow + timedelta(minutes=k) for k in range(100))

        async def step(agg: Any, aid: str, decide: Any, **kw: Any) -> None:
            done = await store.execute(agg, aid, decide, meta(next(at)), **kw)
            c.positions.append(f"{stream_of(agg)}:{done.stream_seq}")

        when = next(at)
        consult = RecordConsultation(c.s4, when.date(), "face_to_face", "面商")
        await step(
            sg.SUGGESTION, c.s4, lambda s: sg.decide_consult(s.state, consult, unit_id=None, now=when, policy=POLICY)
        )
        reply = ReplyToSuggestion(c.s4, "A", "已建成")
        await step(
            sg.SUGGESTION, c.s4, lambda s: sg.decide_reply(s.state, reply, unit_id=None, now=when, policy=POLICY)
        )
        new = str(uuid.uuid4())
        submit = SubmitSuggestion(new, a.township, "新的建议", "内容", (a.lead,))
        await step(
            sg.SUGGESTION,
            new,
            lambda s: sg.decide_submit(s.state, submit, now=when, is_street=False),
            jurisdiction=a.township,
        )
        town = a.county + "099"
        registered = JurisdictionRegistered(code=town, name="新设镇", kind="township", parent=a.county)
        await step(JURISDICTION, town, lambda _l: [registered], jurisdiction=town)
        newcomer = f"d-{uuid.uuid4().hex[:12]}"
        deputy = DeputyRegistered(
            deputy_id=newcomer,
            name="钱新来",
            gender="male",
            level="township",
            congress=a.township,
            township=a.township,
            constituency="第二选区",
            term=18,
            elected_on=date(2021, 10, 1),
        )
        await step(DEPUTY, newcomer, lambda _l: [deputy], jurisdiction=a.township)
        ended = DeputyTerminated(
            deputy_id=a.lead,
            reason="resigned",
            effective_on=TODAY - timedelta(days=30),
            level="township",
            congress=a.township,
            township=a.township,
        )
        await step(DEPUTY, a.lead, lambda _l: [ended], jurisdiction=a.township)

        with clock.fixed(tomorrow + timedelta(hours=2)):
            live = await view(system, c)
            past = await view(system, c, as_of=TODAY.isoformat())
        # the live view moved on: the reply, the new township, the newcomer, the termination
        t = next(i for i in live["townships"]["items"] if i["code"] == a.township)
        assert t["suggestions"]["replied"] == 1 and t["suggestions"]["submitted"] == 2
        assert town in [i["code"] for i in live["townships"]["items"]]
        before = next(i for i in snapshot["townships"]["items"] if i["code"] == a.township)["deputies"]
        assert (before["active"], before["inactive"]) == (2, 1)  # lead and co active, idle not
        assert (t["deputies"]["active"], t["deputies"]["inactive"]) == (1, 2)  # lead gone, newcomer not yet active
        # as of today: exactly what the view showed at the end of today
        assert past["townships"]["historical"] is True and past["townships"]["as_of"] == TODAY.isoformat()
        for name in ("townships", "overdue", "units"):
            for key in ("items", "total", "units_over_limit"):
                if key in snapshot[name]:
                    assert past[name][key] == snapshot[name][key], (name, key)


def stream_of(agg: Any) -> str:
    return "RENDA_DEPUTIES" if agg in (DEPUTY, JURISDICTION) else "RENDA_SUGGESTIONS"


async def test_inactive_months_is_the_deputies_variable(monkeypatch, nats_server: EmbeddedNats, settings_for, tmp_path):
    from services.deputies.app import DeputiesSettings

    monkeypatch.setenv("RENDA_INACTIVE_MONTHS", "3")
    app = create(settings_for(nats_server.url, f"sqlite+aiosqlite:///{tmp_path / 'r.sqlite3'}"))
    async with app.router.lifespan_context(app):
        assert rules_of(app.state.runtime).inactive_months == DeputiesSettings().inactive_months == 3
