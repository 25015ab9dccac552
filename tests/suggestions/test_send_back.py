"""退回修改 (the 三关 review): staff send a submitted suggestion back, the lead deputy revises it.

Given events, when a command, then events or a refusal (the domain); then the same over HTTP on
SQLite and PostgreSQL: who may, what the suggestion and the list show, idempotency, transitions.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.events.event import Event
from libs.runtime.nats_server import EmbeddedNats
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    MergeSuggestion,
    ReviseSuggestion,
    SendBackSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import (
    InvalidInput,
    InvalidTransition,
    NotForStreet,
    NotLeadDeputyToRevise,
    RevisionNotRequested,
    RevisionPending,
    SuggestionNotFound,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.events import SuggestionRevised, SuggestionSentBack
from tests.suggestions.conftest import Actors, code, make_area, submit
from tests.support.system import running_system
from tests.support.waiting import eventually

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
DAY = timedelta(days=1)
POLICY = SuggestionPolicy.parse()


def fold(s: sg.Suggestion, events: list[Event]) -> sg.Suggestion:
    for e in events:
        s = sg.evolve(s, e)
    return s


def submitted() -> sg.Suggestion:
    s = sg.Suggestion(id="s-1")
    c = SubmitSuggestion("s-1", "340403001", "修村道", "村道破损", ("d-lead", "d-co"), category="交通")
    return fold(s, sg.decide_submit(s, c, now=T0, is_street=False))


def send_back(s: sg.Suggestion, *, at: datetime = T0 + DAY, street: bool = False, role: str = "township_staff"):
    return sg.decide_send_back(
        s, SendBackSuggestion(s.id, "请补充法律依据"), now=at, is_street=street, actor_role=role, tz=TZ
    )


def assign(s: sg.Suggestion, at: datetime) -> list[Event]:
    c = AssignSuggestion(s.id, "u-1", "张镇长")
    return sg.decide_assign(s, c, now=at, policy=POLICY, is_street=False, actor_role="township_staff")


# -- the domain ---------------------------------------------------------------------------------------
def test_a_sent_back_suggestion_cannot_be_assigned_until_the_lead_deputy_revises_it():
    s = fold(submitted(), send_back(submitted()))
    assert s.status == "submitted" and s.revision_requested_at == T0 + DAY
    with pytest.raises(RevisionPending) as refused:
        assign(s, T0 + 2 * DAY)
    assert refused.value.code == "invalid_transition"
    assert refused.value.details == {"status": "submitted", "action": "assign", "revision_requested_on": "2026-03-03"}
    [revised] = sg.decide_revise(s, ReviseSuggestion("s-1", content="村道破损，依据公路法"), deputy_id="d-lead", now=T0)
    s = sg.evolve(s, revised)
    assert (s.revision_requested_at, s.content, s.title) == (None, "村道破损，依据公路法", "修村道")
    [assigned] = assign(s, T0 + 3 * DAY)
    assert assigned.assigned_at == T0 + 3 * DAY


def test_the_reply_clock_starts_at_assignment_not_at_submission_or_revision():
    s = fold(submitted(), send_back(submitted(), at=T0 + 10 * DAY))
    s = fold(s, sg.decide_revise(s, ReviseSuggestion("s-1"), deputy_id="d-lead", now=T0 + 20 * DAY))
    at = T0 + 30 * DAY
    [assigned] = assign(s, at)
    assert assigned.due_at == POLICY.reply_deadline_normal.after(at, TZ)
    assert fold(s, [assigned]).submitted_at == T0  # the submission keeps its date


def test_only_the_changed_fields_are_recorded_and_an_unchanged_resubmission_is_allowed():
    s = fold(submitted(), send_back(submitted()))
    c = ReviseSuggestion("s-1", title="修村道", content="新的内容", category=" 交通 ")
    [e] = sg.decide_revise(s, c, deputy_id="d-lead", now=T0)
    assert (e.title, e.content, e.category) == (None, "新的内容", None)
    [same] = sg.decide_revise(s, ReviseSuggestion("s-1"), deputy_id="d-lead", now=T0)
    assert isinstance(same, SuggestionRevised) and (same.title, same.content, same.category) == (None, None, None)


def test_only_the_lead_deputy_revises():
    s = fold(submitted(), send_back(submitted()))
    for who in ("d-co", None):
        with pytest.raises(NotLeadDeputyToRevise) as refused:
            sg.decide_revise(s, ReviseSuggestion("s-1", title="x"), deputy_id=who, now=T0)
        assert refused.value.status == 403 and refused.value.code == "not_lead_deputy"


def test_revising_needs_a_request_and_keeps_title_and_content_non_empty():
    with pytest.raises(RevisionNotRequested):
        sg.decide_revise(submitted(), ReviseSuggestion("s-1", title="x"), deputy_id="d-lead", now=T0)
    s = fold(submitted(), send_back(submitted()))
    for c, field in ((ReviseSuggestion("s-1", title=" "), "title"), (ReviseSuggestion("s-1", content=""), "content")):
        with pytest.raises(InvalidInput) as refused:
            sg.decide_revise(s, c, deputy_id="d-lead", now=T0)
        assert refused.value.field == field
    with pytest.raises(SuggestionNotFound):
        sg.decide_revise(sg.Suggestion(id="s-9"), ReviseSuggestion("s-9"), deputy_id="d-lead", now=T0)


def test_send_back_once_with_a_reason_only_while_submitted_and_by_county_staff_for_a_street():
    s = submitted()
    [e] = send_back(s)
    assert isinstance(e, SuggestionSentBack) and e.sent_back_by_role == "township_staff"
    with pytest.raises(RevisionPending):
        send_back(sg.evolve(s, e))
    with pytest.raises(InvalidInput) as refused:
        c = SendBackSuggestion("s-1", "  ")
        sg.decide_send_back(s, c, now=T0, is_street=False, actor_role="county_staff", tz=TZ)
    assert refused.value.field == "reason"
    with pytest.raises(InvalidTransition):
        send_back(fold(s, assign(s, T0)))
    with pytest.raises(NotForStreet):
        send_back(s, street=True, role="township_staff")
    assert send_back(s, street=True, role="county_staff")


def test_merging_a_sent_back_suggestion_clears_the_request():
    s = fold(submitted(), send_back(submitted()))
    other = SubmitSuggestion("s-2", "340403001", "t", "c", ("d-other",))
    target = fold(sg.Suggestion(id="s-2"), sg.decide_submit(sg.Suggestion(id="s-2"), other, now=T0, is_street=False))
    merged = fold(s, sg.decide_merge(s, MergeSuggestion("s-1", "s-2", "同一事项"), target=target, now=T0))
    assert merged.status == "closed" and merged.revision_requested_at is None


# -- over HTTP ----------------------------------------------------------------------------------------
async def test_send_back_and_revise_over_http(nats_server: EmbeddedNats, nc, settings_for, database_url: str) -> None:
    settings = settings_for(nats_server.url, database_url)
    async with running_system(settings) as system:
        c = system.client
        a = await make_area(system, nc)
        who = Actors(system, a)
        sid = await submit(system, a, who.lead)
        path = f"/api/suggestions/{sid}"
        assign_body = {"lead_unit_id": a.unit, "responsible_leader": "陈镇长"}

        # Who may send back: not another township's staff (404), not the deputy (403), not a unit.
        r = await c.post(f"{path}/send-back", json={"reason": "x"}, headers=who.foreign)
        assert r.status_code == 404, r.text
        for refused in (who.lead, who.unit):
            r = await c.post(f"{path}/send-back", json={"reason": "x"}, headers=refused)
            assert r.status_code == 403, r.text
        r = await c.post(f"{path}/send-back", json={}, headers=who.staff)
        assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "reason", r.text

        # Sent back once (the same Idempotency-Key answers the same and records once).
        key = {**who.staff, "Idempotency-Key": "send-back-" + sid}
        body = {"reason": "请补充法律依据（法律法规关）"}
        first, again = [await c.post(f"{path}/send-back", json=body, headers=key) for _ in range(2)]
        assert first.status_code == again.status_code == 200, first.text
        assert first.json() == again.json() and first.json()["status"] == "submitted"
        assert first.json()["revision_requested"] is True
        r = await c.post(f"{path}/send-back", json=body, headers=who.county)
        assert (r.status_code, code(r)) == (409, "invalid_transition")

        one = (await c.get(path, headers=who.lead)).json()
        assert one["status"] == "submitted" and one["revision"]["reason"] == body["reason"]
        assert one["revision"]["requested_at"].endswith("+08:00")

        async def listed_as_sent_back() -> None:
            r = await c.get("/api/suggestions", params={"status": "submitted", "revision": "true"}, headers=who.lead)
            rows = [i for i in r.json()["items"] if i["suggestion_id"] == sid]  # the deputy's "to revise"
            assert len(rows) == 1, r.json()  # (an assertion: eventually() waits for the read model)
            row = rows[0]
            assert row["revision_reason"] == body["reason"] and row["revision_requested_at"].endswith("+08:00")
            r = await c.get("/api/suggestions", params={"status": "submitted", "revision": "false"}, headers=who.staff)
            assert sid not in [i["suggestion_id"] for i in r.json()["items"]]  # not in the clerk's "to assign"

        await eventually(listed_as_sent_back)

        # While sent back it cannot be assigned: 409 with words a clerk can act on.
        r = await c.post(f"{path}/assign", json=assign_body, headers=who.staff)
        assert (r.status_code, code(r)) == (409, "invalid_transition"), r.text
        assert "退回" in r.json()["error"]["message"]

        # Who may revise: the lead deputy only.
        r = await c.post(f"{path}/revise", json={"title": "x"}, headers=who.co)
        assert (r.status_code, code(r)) == (403, "not_lead_deputy")
        r = await c.post(f"{path}/revise", json={"title": "x"}, headers=who.staff)
        assert r.status_code == 403
        r = await c.post(f"{path}/revise", json={"title": ""}, headers=who.lead)
        assert r.status_code == 422
        revised = {"title": "修缮青石村村道（依据公路法）", "category": "交通运输"}
        key = {**who.lead, "Idempotency-Key": "revise-" + sid}
        first, again = [await c.post(f"{path}/revise", json=revised, headers=key) for _ in range(2)]
        assert first.status_code == again.status_code == 200, first.text
        r = await c.post(f"{path}/revise", json=revised, headers=who.lead)
        assert (r.status_code, code(r)) == (409, "invalid_transition")

        one = (await c.get(path, headers=who.staff)).json()
        assert one["revision"] is None and (one["title"], one["category"]) == (revised["title"], "交通运输")
        assert one["content"] == "村道破损严重，雨天无法通行。"

        async def back_in_the_queue() -> None:
            r = await c.get("/api/suggestions", params={"status": "submitted", "revision": "false"}, headers=who.staff)
            rows = [i for i in r.json()["items"] if i["suggestion_id"] == sid]
            assert len(rows) == 1, r.json()
            row = rows[0]
            assert row["revision_requested_at"] is None and row["title"] == revised["title"]
            r = await c.get("/api/suggestions", params={"revision": "true"}, headers=who.lead)
            assert r.json()["items"] == []

        await eventually(back_in_the_queue)

        r = await c.post(f"{path}/assign", json=assign_body, headers=who.staff)
        assert r.status_code == 200 and r.json()["status"] == "assigned", r.text
        r = await c.post(f"{path}/send-back", json=body, headers=who.staff)
        assert (r.status_code, code(r)) == (409, "invalid_transition")
        r = await c.post(f"{path}/revise", json=revised, headers=who.lead)
        assert (r.status_code, code(r)) == (409, "invalid_transition")

        history = (await c.get(f"{path}/history", headers=who.lead)).json()["items"]
        assert [h["type"] for h in history] == [
            "SuggestionSubmitted",
            "SuggestionSentBack",
            "SuggestionRevised",
            "SuggestionAssigned",
        ]
        assert history[1]["actor"]["subject"] == "clerk-liu" and history[2]["actor"]["subject"] == "deputy-zhang"

        # A street's suggestion: street staff 403 not_for_street, county staff send it back.
        street_sid = await submit(system, a, who.county, township=a.street, deputy_ids=[a.street_deputy])
        r = await c.post(f"/api/suggestions/{street_sid}/send-back", json=body, headers=who.street_staff)
        assert (r.status_code, code(r)) == (403, "not_for_street")
        r = await c.post(f"/api/suggestions/{street_sid}/send-back", json=body, headers=who.county)
        assert r.status_code == 200, r.text
