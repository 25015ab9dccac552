"""A joint inspection's finding with a unit becomes one suggestion assigned to that unit.

Given the meetings context's real events on a NATS server of the test's own (so the streams hold
exactly what the test wrote), When the process manager runs with its own checkpoint on SQLite and
PostgreSQL, Then the suggestion exists, assigned by the county, once — whatever is redelivered.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from nats.aio.client import Client as NATS
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.envelope import Actor
from libs.events.projection import ProjectionRunner, read_stream, rebuild
from libs.events.store import Appended, CommandMeta, EventStore
from libs.events.subjects import stream_name
from libs.runtime.nats_server import EmbeddedNats
from libs.service.runtime import ServiceRuntime
from services.meetings.domain import joint_inspection as ji
from services.meetings.events import InspectionFindingRecorded
from services.suggestions.domain import rules, suggestion
from services.suggestions.domain.commands import RegisterOrganizerUnit
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.unit import ORGANIZER_UNIT, decide_register
from services.suggestions.projections import ref, reference
from services.suggestions.reactions import (
    ACTOR,
    SuggestionsFromFindings,
    ids_for,
    outcomes,
    submission,
)
from tests.suggestions.conftest import make_area
from tests.support.system import running_system
from tests.support.waiting import eventually

COUNTY = "340403"
TOWNSHIP = "340403001"
NOW = datetime(2026, 1, 31, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
POLICY = SuggestionPolicy.parse()
STAFF = Actor(subject="test:county_staff:340403", role="county_staff")
MEETINGS = stream_name("meetings")
WAIT = 15.0


def meta(command_id: str | None = None, correlation_id: str = "corr-finding") -> CommandMeta:
    return CommandMeta(actor=STAFF, correlation_id=correlation_id, command_id=command_id or str(uuid.uuid4()), now=NOW)


@pytest.fixture
def store(js: NATS) -> EventStore:
    return EventStore(js)


@pytest.fixture
async def rt(
    js: NATS, engine: AsyncEngine, fresh_nats: EmbeddedNats, database_url: str, settings_for: Any
) -> ServiceRuntime:
    """What the suggestions service gives its reactions: a store of its own, its database, its policy."""
    async with engine.begin() as tx:
        await tx.run_sync(reference.metadata.create_all)  # the deputies reference data it checks against
    runtime = ServiceRuntime(
        name="suggestions",
        settings=settings_for(fresh_nats.url, database_url),
        nc=js,
        store=EventStore(js),
        engine=engine,
        signing_key="unused",
    )
    runtime.extras["suggestion_policy"] = POLICY
    return runtime


def reaction(rt: ServiceRuntime) -> ProjectionRunner:
    return ProjectionRunner(rt.nc, rt.engine, SuggestionsFromFindings(rt, clock=lambda: NOW))


@pytest.fixture
async def runner(rt: ServiceRuntime) -> AsyncIterator[ProjectionRunner]:
    r = reaction(rt)
    await r.start()
    yield r
    await r.stop()


# -- givens: the real domains of both contexts ---------------------------------------------------------
async def unit(store: EventStore, jurisdiction: str = TOWNSHIP) -> str:
    unit_id = str(uuid.uuid4())
    c = RegisterOrganizerUnit(unit_id, jurisdiction, "财政所", "station", "张所长", "李副所长")
    await store.execute(
        ORGANIZER_UNIT, unit_id, lambda s: decide_register(s.state, c, now=NOW), meta(), jurisdiction=jurisdiction
    )
    return unit_id


async def launched(store: EventStore, county: str = COUNTY, township: str = TOWNSHIP) -> str:
    jid = str(uuid.uuid4())
    c = ji.LaunchJointInspection(
        jid,
        county,
        "农村饮水安全",
        date(2026, 1, 1),
        date(2026, 3, 31),
        "逐村查看",
        ("自查", "联查"),
        (township, county + "002"),
    )
    meetings = {township: str(uuid.uuid4()), county + "002": str(uuid.uuid4())}
    await store.execute(
        ji.JOINT_INSPECTION,
        jid,
        lambda s: ji.decide_launch(s.state, c, meeting_ids=meetings),
        meta(),
        jurisdiction=county,
    )
    return jid


async def finding(
    store: EventStore,
    jid: str,
    *,
    unit_id: str | None,
    deputy_ids: tuple[str, ...] = ("d-lead", "d-co"),
    finding_id: str | None = None,
    township: str = TOWNSHIP,
) -> tuple[str, Appended[ji.JointInspection]]:
    fid = finding_id or str(uuid.uuid4())
    c = ji.RecordFinding(township, "王庄村自来水管网老化，夏季多次停水。", unit_id, deputy_ids)
    done = await store.execute(
        ji.JOINT_INSPECTION, jid, lambda s: ji.decide_record_finding(s.state, c, finding_id=fid, now=NOW), meta()
    )
    return fid, done


async def the_same_finding_again(store: EventStore, jid: str, fid: str) -> Appended[ji.JointInspection]:
    """A second event for a finding already recorded (the domain would refuse to decide it twice)."""
    loaded = await store.load(ji.JOINT_INSPECTION, jid)
    first = next(f for f in loaded.state.findings if f.finding_id == fid)
    again = InspectionFindingRecorded(
        joint_inspection_id=jid,
        finding_id=fid,
        county=COUNTY,
        township=first.township,
        meeting_id=loaded.state.meeting_of(first.township) or "",
        description=first.description,
        recorded_at=NOW,
        unit_id=first.unit_id,
        deputy_ids=("d-lead", "d-co"),
    )
    return await store.append(loaded, [again], meta())


async def caught_up(r: ProjectionRunner, done: Appended[ji.JointInspection]) -> None:
    assert await r.wait_for(MEETINGS, done.stream_seq, WAIT)


async def raised_from(js: NATS, finding_id: str) -> dict[str, list[str]]:
    """Every suggestion event in the whole stream that concerns this finding's suggestion(s)."""
    ids: set[str] = set()
    seen: dict[str, list[str]] = {}
    envelopes: list[dict[str, Any]] = []
    async for batch in read_stream(js, "suggestions"):
        envelopes.extend(orjson.loads(d.data) for d in batch)
    for b in envelopes:
        if b["type"] == "SuggestionSubmitted" and b["data"].get("source_id") == finding_id:
            ids.add(b["aggregate_id"])
    for b in envelopes:
        if b["aggregate_id"] in ids:
            seen.setdefault(b["type"], []).append(b["aggregate_id"])
    return seen


async def outcome(engine: AsyncEngine, finding_id: str) -> dict[str, object] | None:
    async with engine.connect() as conn:
        row = (await conn.execute(select(outcomes).where(outcomes.c.finding_id == finding_id))).mappings().first()
    return dict(row) if row else None


# -- then ----------------------------------------------------------------------------------------------
async def test_a_finding_with_a_unit_becomes_a_suggestion_assigned_to_that_unit(
    store: EventStore, runner: ProjectionRunner, engine: AsyncEngine
) -> None:
    unit_id = await unit(store)
    jid = await launched(store)
    fid, done = await finding(store, jid, unit_id=unit_id)
    await caught_up(runner, done)

    s = await store.load(suggestion.SUGGESTION, ids_for(fid).suggestion_id)
    assert s.state.status == "assigned"
    assert s.state.lead_unit_id == unit_id
    assert (s.state.source, s.state.source_id) == ("joint_inspection", fid)
    assert s.state.jurisdiction == TOWNSHIP
    assert s.state.deputy_ids == ("d-lead", "d-co")
    assert s.state.complexity == "normal"
    assert s.state.due_at == rules.reply_due_at(NOW, "normal", POLICY)
    assert s.state.due_at == datetime(2026, 4, 30, 2, 0, tzinfo=UTC)  # 31 Jan + P3M, Civil Code months
    history = await store.read(suggestion.SUGGESTION, s.id)
    assert [h.type for h in history] == ["SuggestionSubmitted", "SuggestionAssigned"]
    assert {h.actor for h in history} == {ACTOR}
    assert history[1].data.assigned_by_role == "county_staff"  # type: ignore[attr-defined]
    assert {h.correlation_id for h in history} == {"corr-finding"}  # the finding's request
    assert (await outcome(engine, fid) or {})["outcome"] == "assigned"


async def test_the_same_finding_twice_and_a_replay_from_zero_raise_one_suggestion(
    js: NATS, rt: ServiceRuntime, store: EventStore, runner: ProjectionRunner, engine: AsyncEngine
) -> None:
    unit_id = await unit(store)
    jid = await launched(store)
    fid, first = await finding(store, jid, unit_id=unit_id)
    await caught_up(runner, first)
    second = await the_same_finding_again(store, jid, fid)
    await caught_up(runner, second)
    # Replay from zero: the reaction's table and checkpoint rebuilt, every finding delivered again.
    await runner.stop()
    counts = await rebuild(js, engine, SuggestionsFromFindings(rt, clock=lambda: NOW))
    assert counts[MEETINGS] == second.stream_seq

    raised = await raised_from(js, fid)
    assert raised == {
        "SuggestionSubmitted": [ids_for(fid).suggestion_id],
        "SuggestionAssigned": [ids_for(fid).suggestion_id],
    }
    assert (await outcome(engine, fid) or {})["outcome"] == "assigned"


async def test_a_crash_between_submit_and_assign_still_completes_the_assignment(
    js: NATS, rt: ServiceRuntime, store: EventStore, engine: AsyncEngine
) -> None:
    unit_id = await unit(store)
    jid = await launched(store)
    fid, done = await finding(store, jid, unit_id=unit_id)
    # The first attempt stored the submission, then the process died before assigning and before
    # its checkpoint was committed.
    e = next(env.data for env in done.envelopes)
    assert isinstance(e, InspectionFindingRecorded)
    ids = ids_for(fid)
    await store.execute(
        suggestion.SUGGESTION,
        ids.suggestion_id,
        lambda s: suggestion.decide_submit(s.state, submission(e, ids.suggestion_id), now=NOW, is_street=False),
        CommandMeta(actor=ACTOR, correlation_id="corr-finding", command_id=ids.submit_command_id, now=NOW),
        jurisdiction=TOWNSHIP,
    )
    r = reaction(rt)
    await r.start()
    try:
        await caught_up(r, done)
    finally:
        await r.stop()

    assert (await store.load(suggestion.SUGGESTION, ids.suggestion_id)).state.status == "assigned"
    assert await raised_from(js, fid) == {
        "SuggestionSubmitted": [ids.suggestion_id],
        "SuggestionAssigned": [ids.suggestion_id],
    }


async def test_a_finding_without_deputies_raises_no_suggestion(
    js: NATS, store: EventStore, runner: ProjectionRunner, engine: AsyncEngine
) -> None:
    """``decide_submit`` refuses a suggestion without a lead deputy; the finding stays a finding."""
    unit_id = await unit(store)
    jid = await launched(store)
    fid, done = await finding(store, jid, unit_id=unit_id, deputy_ids=())
    await caught_up(runner, done)

    assert not (await store.load(suggestion.SUGGESTION, ids_for(fid).suggestion_id)).exists
    assert await raised_from(js, fid) == {}
    assert (await outcome(engine, fid) or {})["outcome"] == "no_deputies"


async def test_a_finding_without_a_unit_is_left_alone(
    js: NATS, store: EventStore, runner: ProjectionRunner, engine: AsyncEngine
) -> None:
    jid = await launched(store)
    fid, done = await finding(store, jid, unit_id=None)
    await caught_up(runner, done)

    assert await raised_from(js, fid) == {}
    assert await outcome(engine, fid) is None


async def test_an_unknown_unit_leaves_the_suggestion_submitted_for_staff_to_assign(
    store: EventStore, runner: ProjectionRunner, engine: AsyncEngine
) -> None:
    other_county_unit = await unit(store, jurisdiction="340404001")
    jid = await launched(store)
    unknown, _ = await finding(store, jid, unit_id="no-such-unit")
    foreign, done_foreign = await finding(store, jid, unit_id=other_county_unit)
    await caught_up(runner, done_foreign)

    for fid in (unknown, foreign):
        s = await store.load(suggestion.SUGGESTION, ids_for(fid).suggestion_id)
        assert s.state.status == "submitted"
        assert (await outcome(engine, fid) or {})["outcome"] == "submitted"


async def test_a_suggestion_assigned_by_hand_after_the_submission_is_not_assigned_again(
    rt: ServiceRuntime, store: EventStore, engine: AsyncEngine
) -> None:
    """Staff assigned it in the window of a crash: the reaction's assignment is refused, and recorded."""
    unit_id, other_unit = await unit(store), await unit(store)
    jid = await launched(store)
    fid, done = await finding(store, jid, unit_id=unit_id)
    e = next(env.data for env in done.envelopes)
    assert isinstance(e, InspectionFindingRecorded)
    ids = ids_for(fid)
    await store.execute(
        suggestion.SUGGESTION,
        ids.suggestion_id,
        lambda s: suggestion.decide_submit(s.state, submission(e, ids.suggestion_id), now=NOW, is_street=False),
        CommandMeta(actor=ACTOR, correlation_id="corr-finding", command_id=ids.submit_command_id, now=NOW),
        jurisdiction=TOWNSHIP,
    )
    by_hand = suggestion.AssignSuggestion(ids.suggestion_id, other_unit, "王镇长")
    await store.execute(
        suggestion.SUGGESTION,
        ids.suggestion_id,
        lambda s: suggestion.decide_assign(
            s.state, by_hand, now=NOW, policy=POLICY, is_street=False, actor_role="township_staff"
        ),
        meta(),
    )
    r = reaction(rt)
    await r.start()
    try:
        await caught_up(r, done)
    finally:
        await r.stop()

    assert (await store.load(suggestion.SUGGESTION, ids.suggestion_id)).state.lead_unit_id == other_unit
    assert (await outcome(engine, fid) or {})["outcome"] == "refused:invalid_transition"


async def test_a_finding_raised_by_a_terminated_deputy_is_refused_as_the_domain_refuses_it(
    js: NATS, rt: ServiceRuntime, store: EventStore, runner: ProjectionRunner, engine: AsyncEngine
) -> None:
    async with engine.begin() as tx:  # the deputies reference data as its projection keeps it
        await tx.execute(
            ref.deputies.insert().values(
                deputy_id="d-gone",
                name="赵某",
                level="township",
                congress=TOWNSHIP,
                township=TOWNSHIP,
                elected_on=date(2021, 1, 1),
                terminated_on=date(2025, 6, 1),
            )
        )
    unit_id = await unit(store)
    jid = await launched(store)
    fid, done = await finding(store, jid, unit_id=unit_id, deputy_ids=("d-gone",))
    await caught_up(runner, done)

    assert await raised_from(js, fid) == {}
    assert (await outcome(engine, fid) or {})["outcome"] == "refused:deputy_terminated"


async def test_over_http_the_finding_shows_as_a_suggestion_assigned_to_its_unit(
    nats_server: EmbeddedNats, nc: NATS, settings_for: Any, database_url: str
) -> None:
    """The service as it runs (its reactions wired in ``app.py``), read through its own API."""
    async with running_system(settings_for(nats_server.url, database_url)) as system:
        a = await make_area(system, nc)
        store = EventStore(nc)
        jid = await launched(store, a.county, a.township)
        fid, _ = await finding(store, jid, unit_id=a.unit, deputy_ids=(a.lead, a.co), township=a.township)
        path = f"/api/suggestions/{ids_for(fid).suggestion_id}"
        county = system.auth("county_staff", a.county)

        async def assigned() -> dict[str, Any]:
            r = await system.client.get(path, headers=county)
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "assigned", r.json()
            return dict(r.json())

        body = await eventually(assigned)
        assert body["lead_unit"]["unit_id"] == a.unit
        assert (body["source"], body["source_id"]) == ("joint_inspection", fid)
        assert body["deputy_ids"] == [a.lead, a.co]
        unit = system.auth("organizer", a.township, unit_id=a.unit)
        assert (await system.client.get(path, headers=unit)).status_code == 200  # the unit sees its assignment
        r = await system.client.get(f"{path}/history", headers=county)
        assert r.status_code == 200, r.text
        steps = r.json()["items"]
        assert [s["type"] for s in steps] == ["SuggestionSubmitted", "SuggestionAssigned"]
        assert {s["actor"]["role"] for s in steps} == {"county_staff"}
