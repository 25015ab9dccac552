"""The presidium's and the county's decisions; organizer units; constituents' opinions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.events.event import Event
from services.suggestions.domain import opinion as op
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain import unit as un
from services.suggestions.domain.commands import (
    AddAttachment,
    AnswerOpinion,
    AssignSuggestion,
    ConvertOpinion,
    EscalateSuggestion,
    EvaluateSuggestion,
    ExtendDeadline,
    JustifyUnsatisfied,
    MergeSuggestion,
    RecordConsultation,
    RecordOpinion,
    RegisterOrganizerUnit,
    ReplyToSuggestion,
    SetKeySupervision,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidTransition,
    MergeTargetInvalid,
    NotForStreet,
    NotUnsatisfied,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.events import SuggestionClosed, SuggestionEscalated, SuggestionMerged

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
DAY = timedelta(days=1)
POLICY = SuggestionPolicy.parse()
TOWN, UNIT = "340403001", "u-1"
SHA = "a" * 64


def fold(s, events: list[Event]):
    for e in events:
        s = (sg.evolve if isinstance(s, sg.Suggestion) else op.evolve)(s, e)
    return s


def submitted(sid: str = "s-1", deputies: tuple[str, ...] = ("d-1",), town: str = TOWN) -> sg.Suggestion:
    s = sg.Suggestion(id=sid)
    return fold(s, sg.decide_submit(s, SubmitSuggestion(sid, town, "t", "c", deputies), now=T0, is_street=False))


def assigned(sid: str = "s-1") -> sg.Suggestion:
    s = submitted(sid)
    c = AssignSuggestion(sid, UNIT, "张")
    return fold(s, sg.decide_assign(s, c, now=T0, policy=POLICY, is_street=False, actor_role="township_staff"))


def unsatisfied() -> sg.Suggestion:
    s = assigned()
    s = fold(
        s, sg.decide_consult(s, RecordConsultation("s-1", T0.date(), "phone", "x"), unit_id=UNIT, now=T0, policy=POLICY)
    )
    s = fold(s, sg.decide_reply(s, ReplyToSuggestion("s-1", "A", "x"), unit_id=UNIT, now=T0, policy=POLICY))
    c = EvaluateSuggestion("s-1", "unsatisfied")
    return fold(s, sg.decide_evaluate(s, c, deputy_id="d-1", now=T0 + DAY, policy=POLICY))


# -- extension ---------------------------------------------------------------------------------------
def test_an_approved_extension_moves_the_rounds_due_at():
    s = assigned()
    [e] = sg.decide_extend(
        s,
        ExtendDeadline("s-1", s.due_at + 30 * DAY, "需协调资金"),
        now=T0,
        is_street=False,
        actor_role="township_staff",
    )
    assert (e.previous_due_at, e.new_due_at) == (s.due_at, s.due_at + 30 * DAY)
    assert sg.evolve(s, e).due_at == s.due_at + 30 * DAY


@pytest.mark.parametrize(
    ("delta", "reason", "field"), [(-DAY, "x", "new_due_at"), (timedelta(0), "x", "new_due_at"), (DAY, " ", "reason")]
)
def test_an_extension_needs_a_later_date_and_a_reason(delta, reason, field):
    s = assigned()
    with pytest.raises(InvalidInput) as refused:
        sg.decide_extend(
            s, ExtendDeadline("s-1", s.due_at + delta, reason), now=T0, is_street=False, actor_role="county_staff"
        )
    assert refused.value.field == field


def test_a_streets_extension_and_key_supervision_belong_to_county_staff():
    s = assigned()
    with pytest.raises(NotForStreet):
        sg.decide_extend(
            s, ExtendDeadline("s-1", s.due_at + DAY, "x"), now=T0, is_street=True, actor_role="township_staff"
        )
    with pytest.raises(NotForStreet):
        sg.decide_key_supervision(s, SetKeySupervision("s-1", "x"), now=T0, is_street=True, actor_role="township_staff")
    assert sg.decide_key_supervision(
        s, SetKeySupervision("s-1", "x"), now=T0, is_street=True, actor_role="county_staff"
    )


def test_extending_a_replied_suggestion_is_an_invalid_transition():
    with pytest.raises(InvalidTransition):
        sg.decide_extend(
            submitted(), ExtendDeadline("s-1", T0 + DAY, "x"), now=T0, is_street=False, actor_role="county_staff"
        )


# -- key supervision -----------------------------------------------------------------------------------
def test_setting_key_supervision_twice_changes_nothing():
    s = submitted()
    [e] = sg.decide_key_supervision(
        s, SetKeySupervision("s-1", "群众反映强烈"), now=T0, is_street=False, actor_role="county_staff"
    )
    s = sg.evolve(s, e)
    assert s.key_supervision
    assert (
        sg.decide_key_supervision(
            s, SetKeySupervision("s-1", "again"), now=T0, is_street=False, actor_role="county_staff"
        )
        == []
    )


# -- merge -------------------------------------------------------------------------------------------
def test_a_merge_closes_the_merged_one_and_its_deputies_join_the_target():
    source, target = submitted("s-1", ("d-1", "d-2")), submitted("s-2", ("d-3", "d-2"))
    events = sg.decide_merge(source, MergeSuggestion("s-1", "s-2", "同一事项"), target=target, now=T0)
    assert [type(e) for e in events] == [SuggestionMerged, SuggestionClosed]
    source = fold(source, events)
    assert (source.status, source.closed_because, source.merged_into) == ("closed", "merged", "s-2")
    [added] = sg.decide_receive_merge(target, source, now=T0)
    assert added.deputy_ids == ("d-1",)
    assert sg.evolve(target, added).deputy_ids == ("d-3", "d-2", "d-1")


def test_a_merge_into_itself_a_closed_or_another_townships_suggestion_is_refused():
    source = submitted("s-1")
    closed_target = fold(
        submitted("s-2"),
        sg.decide_merge(submitted("s-2"), MergeSuggestion("s-2", "s-3", "x"), target=submitted("s-3"), now=T0),
    )
    for target in (source, closed_target, submitted("s-4", town="340403002")):
        with pytest.raises(MergeTargetInvalid):
            sg.decide_merge(source, MergeSuggestion("s-1", target.id, "x"), target=target, now=T0)


# -- escalation --------------------------------------------------------------------------------------
def test_escalation_closes_the_original_and_links_a_county_suggestion():
    s = assigned()
    events = sg.decide_escalate(s, EscalateSuggestion("s-1", "s-county", "超出乡镇职权"), now=T0, is_street=False)
    assert [type(e) for e in events] == [SuggestionEscalated, SuggestionClosed]
    s = fold(s, events)
    assert (s.status, s.closed_because, s.escalated_to, s.due_at) == ("closed", "escalated", "s-county", None)
    c = sg.escalated_submission(s, escalated_to="s-county")
    assert (c.jurisdiction, c.source, c.source_id, c.deputy_ids) == ("340403", "escalation", "s-1", ("d-1",))
    county = fold(
        sg.Suggestion(id="s-county"), sg.decide_submit(sg.Suggestion(id="s-county"), c, now=T0, is_street=False)
    )
    assert county.status == "submitted"
    with pytest.raises(InvalidTransition):
        sg.decide_escalate(county, EscalateSuggestion("s-county", "s-x", "x"), now=T0, is_street=False)


def test_a_streets_suggestion_is_not_escalated():
    with pytest.raises(NotForStreet):
        sg.decide_escalate(assigned(), EscalateSuggestion("s-1", "s-c", "x"), now=T0, is_street=True)


# -- unsatisfied justified, attachments --------------------------------------------------------------
def test_an_unsatisfied_result_marked_justified_once():
    with pytest.raises(NotUnsatisfied):
        sg.decide_justify_unsatisfied(assigned(), JustifyUnsatisfied("s-1", "x"), now=T0)
    s = unsatisfied()
    [e] = sg.decide_justify_unsatisfied(s, JustifyUnsatisfied("s-1", "代表诉求超出政策"), now=T0 + DAY)
    assert e.lead_unit_id == UNIT
    assert sg.decide_justify_unsatisfied(sg.evolve(s, e), JustifyUnsatisfied("s-1", "x"), now=T0) == []


def test_an_attachment_records_its_hash_once():
    s = assigned()
    c = AddAttachment("s-1", "att-1", "答复函.pdf", "application/pdf", SHA.upper(), 1024)
    [e] = sg.decide_attachment(s, c, now=T0)
    assert (e.sha256, e.size) == (SHA, 1024)
    assert sg.decide_attachment(sg.evolve(s, e), c, now=T0) == []
    with pytest.raises(InvalidInput) as refused:
        sg.decide_attachment(s, AddAttachment("s-1", "att-2", "x.pdf", "", "abc", 1), now=T0)
    assert refused.value.field == "sha256"


# -- organizer units ---------------------------------------------------------------------------------
def test_an_organizer_unit_is_registered_once_with_its_head_and_deputy_head():
    u, c = un.OrganizerUnit(id=UNIT), RegisterOrganizerUnit(UNIT, TOWN, "财政所", "station", "王所长", "李副所长")
    [e] = un.decide_register(u, c, now=T0)
    u = un.evolve(u, e)
    assert (u.registered, u.head, u.deputy_head, u.jurisdiction) == (True, "王所长", "李副所长", TOWN)
    with pytest.raises(AlreadyExists):
        un.decide_register(u, c, now=T0)
    with pytest.raises(InvalidInput) as refused:
        un.decide_register(un.OrganizerUnit(id="u-2"), RegisterOrganizerUnit("u-2", TOWN, " ", "station"), now=T0)
    assert refused.value.field == "name"


def test_a_unit_needs_only_jurisdiction_name_and_kind_and_keeps_its_contacts():
    """Contract: head, deputy head, supervising department, e-mail and phone are optional."""
    [bare] = un.decide_register(
        un.OrganizerUnit(id="u-3"), RegisterOrganizerUnit("u-3", TOWN, "派出所", "station"), now=T0
    )
    assert (bare.head, bare.deputy_head, bare.email, bare.phone) == ("", "", None, None)
    c = RegisterOrganizerUnit("u-4", TOWN, "民政办", "office", email=" mzb@example.cn ", phone="0551-1234567")
    [e] = un.decide_register(un.OrganizerUnit(id="u-4"), c, now=T0)
    u = un.evolve(un.OrganizerUnit(id="u-4"), e)
    assert (u.email, u.phone) == ("mzb@example.cn", "0551-1234567")


def test_a_version_1_unit_event_is_read_with_empty_contacts():
    from libs.events.event import registry

    v1 = {
        "unit_id": "u-1",
        "jurisdiction": TOWN,
        "name": "财政所",
        "kind": "station",
        "head": "王",
        "deputy_head": "李",
        "registered_at": T0.isoformat(),
    }
    e = registry.decode("OrganizerUnitRegistered", 1, v1)
    assert (e.head, e.email, e.phone, e.supervising_department) == ("王", None, None, "")


# -- constituents' opinions --------------------------------------------------------------------------
def recorded() -> op.ConstituentOpinion:
    o, c = op.ConstituentOpinion(id="o-1"), RecordOpinion("o-1", TOWN, "d-1", T0.date(), "东村", "路灯不亮", 5)
    return fold(o, op.decide_record(o, c, now=T0, tz=TZ))


def test_an_opinion_becomes_a_linked_suggestion():
    o = fold(recorded(), op.decide_convert(recorded(), ConvertOpinion("o-1", "s-9"), now=T0))
    assert (o.status, o.suggestion_id) == ("converted", "s-9")
    c = op.opinion_submission(recorded(), suggestion_id="s-9")
    assert (c.source, c.source_id, c.deputy_ids, c.jurisdiction) == ("constituents_opinion", "o-1", ("d-1",), TOWN)
    with pytest.raises(InvalidTransition):
        op.decide_answer(o, AnswerOpinion("o-1", "x"), now=T0)


def test_an_opinion_answered_directly_cannot_be_converted_after():
    o = fold(recorded(), op.decide_answer(recorded(), AnswerOpinion("o-1", "已修复"), now=T0))
    assert (o.status, o.answer) == ("answered", "已修复")
    with pytest.raises(InvalidTransition):
        op.decide_convert(o, ConvertOpinion("o-1", "s-9"), now=T0)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"people_count": 0}, "people_count"), ({"on": date(2026, 3, 3)}, "on"), ({"place": ""}, "place")],
)
def test_an_incomplete_opinion_names_the_field(change, field):
    base = dict(
        opinion_id="o-1", jurisdiction=TOWN, deputy_id="d-1", on=T0.date(), place="东村", content="x", people_count=2
    )
    with pytest.raises(InvalidInput) as refused:
        op.decide_record(op.ConstituentOpinion(id="o-1"), RecordOpinion(**{**base, **change}), now=T0, tz=TZ)
    assert refused.value.field == field
