"""The one command path (``commands/context.py``): refusals are decided again on a fresh load; anything
else surfaces (it was swallowed by ``contextlib.suppress(Exception)``). Real NATS and database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.events.envelope import Actor
from libs.events.event import Event
from libs.events.store import CommandMeta, EventStore
from libs.runtime.nats_server import EmbeddedNats
from libs.service.runtime import ServiceRuntime
from services.suggestions.commands.context import Context, handle, see_check
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import AssignSuggestion, SubmitSuggestion
from services.suggestions.domain.errors import NotForStreet
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.domain.state import SUGGESTION, Suggestion
from services.suggestions.projections import reference

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
POLICY = SuggestionPolicy.parse()
TOWN = "340403001"


def meta() -> CommandMeta:
    cid = str(uuid.uuid4())
    return CommandMeta(actor=Actor("clerk", "township_staff"), correlation_id=cid, command_id=cid, now=NOW)


@pytest.fixture
async def ctx(js: NATS, engine: AsyncEngine, fresh_nats: EmbeddedNats, database_url: str, settings_for) -> Context:
    async with engine.begin() as tx:
        await tx.run_sync(reference.metadata.create_all)
    rt = ServiceRuntime(
        name="suggestions",
        settings=settings_for(fresh_nats.url, database_url),
        nc=js,
        store=EventStore(js),
        engine=engine,
        signing_key="unused",
    )
    rt.extras["suggestion_policy"] = POLICY
    return Context(rt, meta())


async def held_suggestion(store: EventStore) -> str:
    """A submitted suggestion this process holds (its state cached by the store)."""
    sid = str(uuid.uuid4())
    c = SubmitSuggestion(sid, TOWN, "修缮村道", "村道破损", ("d-1",))
    await store.execute(
        SUGGESTION, sid, lambda x: sg.decide_submit(x.state, c, now=NOW, is_street=False), meta(), jurisdiction=TOWN
    )
    assert store.held(SUGGESTION, sid) is not None
    return sid


async def test_an_error_that_is_not_a_refusal_surfaces_even_on_the_held_state(ctx: Context) -> None:
    sid = await held_suggestion(ctx.store)
    calls: list[int] = []

    def flaky(s: Suggestion, street: bool) -> list[Event]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug, not a refusal")
        return sg.decide_assign(
            s, AssignSuggestion(sid, "u-1", "陈"), now=NOW, policy=POLICY, is_street=street, actor_role="township_staff"
        )

    with pytest.raises(RuntimeError):
        await handle(ctx, sid, see_check, flaky)
    assert [e.type for e in await ctx.store.read(SUGGESTION, sid)] == ["SuggestionSubmitted"]  # nothing appended


async def test_a_refusal_on_the_held_state_is_decided_again_on_a_fresh_load(ctx: Context) -> None:
    sid = await held_suggestion(ctx.store)
    calls: list[int] = []

    def stale_then_fine(s: Suggestion, street: bool) -> list[Event]:
        calls.append(1)
        if len(calls) == 1:
            raise NotForStreet()  # as a stale state might decide
        return sg.decide_assign(
            s, AssignSuggestion(sid, "u-1", "陈"), now=NOW, policy=POLICY, is_street=street, actor_role="township_staff"
        )

    done = await handle(ctx, sid, see_check, stale_then_fine)
    assert [e.type for e in done.envelopes] == ["SuggestionAssigned"] and len(calls) == 2


def test_the_street_rule_is_one_code_with_one_status() -> None:
    """Contract: for a street's suggestion, assignment, extension and key supervision are county staff's;
    street staff get 403 ``not_for_street`` — from the one rule in ``domain/rules.py``."""
    s = sg.evolve(
        Suggestion(id="s-1"),
        sg.decide_submit(
            Suggestion(id="s-1"),
            SubmitSuggestion("s-1", "340403002", "t", "c", ("d-1",)),
            now=NOW,
            is_street=True,
        )[0],
    )
    c = AssignSuggestion("s-1", "u-1", "陈")
    with pytest.raises(NotForStreet) as refused:
        sg.decide_assign(s, c, now=NOW, policy=POLICY, is_street=True, actor_role="township_staff")
    assert (refused.value.code, refused.value.status) == ("not_for_street", 403)
    assert sg.decide_assign(s, c, now=NOW, policy=POLICY, is_street=True, actor_role="county_staff")
    with pytest.raises(NotForStreet) as in_session:
        sg.decide_submit(
            Suggestion(id="s-2"),
            SubmitSuggestion("s-2", "340403002", "t", "c", ("d-1",), submitted_during="session"),
            now=NOW,
            is_street=True,
        )
    assert in_session.value.status == 403
