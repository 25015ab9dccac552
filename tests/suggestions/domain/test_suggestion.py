"""Given events, When a command, Then events or a refusal: the handling path of a suggestion."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from libs.events.event import Event
from services.suggestions.domain import suggestion as sg
from services.suggestions.domain.commands import (
    AssignSuggestion,
    EvaluateSuggestion,
    RecordConsultation,
    RecordImplementation,
    ReplyToSuggestion,
    ReturnSuggestion,
    SubmitSuggestion,
)
from services.suggestions.domain.errors import (
    AlreadyEvaluated,
    AlreadyExists,
    ConsultationRequired,
    DeputyTerminated,
    InvalidInput,
    InvalidTransition,
    NoOpenPromise,
    NotForStreet,
    NotLeadDeputy,
    NotLeadUnit,
    ReturnWindowPassed,
    SuggestionNotFound,
)
from services.suggestions.domain.rules import SuggestionPolicy
from services.suggestions.events import (
    RehandlingStarted,
    SatisfactionEvaluated,
    SuggestionClosed,
    SuggestionReplied,
)

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 31, 9, 0, tzinfo=TZ)
DAY = timedelta(days=1)
POLICY = SuggestionPolicy.parse()
S1, TOWN = "s-1", "340403001"
LEAD, CO = "d-lead", "d-co"
UNIT, CO_UNIT = "u-finance", "u-land"


def fold(s: sg.Suggestion, events: list[Event]) -> sg.Suggestion:
    for e in events:
        s = sg.evolve(s, e)
    return s


def submitted(deputies: tuple[str, ...] = (LEAD, CO)) -> sg.Suggestion:
    c = SubmitSuggestion(S1, TOWN, "修缮村道", "村道破损严重，雨天无法通行。", deputies, category="交通")
    return fold(sg.Suggestion(id=S1), sg.decide_submit(sg.Suggestion(id=S1), c, now=T0, is_street=False))


def assigned(at: datetime = T0, complexity: str = "normal") -> sg.Suggestion:
    c = AssignSuggestion(S1, UNIT, "张副镇长", co_unit_ids=(CO_UNIT,), complexity=complexity)  # type: ignore[arg-type]
    s = submitted()
    return fold(s, sg.decide_assign(s, c, now=at, policy=POLICY, is_street=False, actor_role="township_staff"))


def consulted(s: sg.Suggestion, at: datetime, mode: str = "face_to_face") -> sg.Suggestion:
    c = RecordConsultation(S1, at.astimezone(TZ).date(), mode, "与代表当面沟通")  # type: ignore[arg-type]
    return fold(s, sg.decide_consult(s, c, unit_id=UNIT, now=at, policy=POLICY))


def replied(s: sg.Suggestion, at: datetime, result: str = "A", **kw: object) -> sg.Suggestion:
    c = ReplyToSuggestion(S1, result, "已安排施工。", **kw)  # type: ignore[arg-type]
    return fold(s, sg.decide_reply(s, c, unit_id=UNIT, now=at, policy=POLICY))


def evaluated(s: sg.Suggestion, at: datetime, satisfaction: str) -> sg.Suggestion:
    c = EvaluateSuggestion(S1, satisfaction)  # type: ignore[arg-type]
    return fold(s, sg.decide_evaluate(s, c, deputy_id=LEAD, now=at, policy=POLICY))


def answered(at: datetime = T0 + 10 * DAY, result: str = "A", **kw: object) -> sg.Suggestion:
    return replied(consulted(assigned(), at - DAY), at, result, **kw)


# -- submit ---------------------------------------------------------------------------------------
def test_joint_suggestion_is_submitted_with_the_lead_deputy_first():
    s = submitted()
    assert (s.status, s.deputy_ids, s.lead_deputy_id, s.jurisdiction) == ("submitted", (LEAD, CO), LEAD, TOWN)


def test_submitting_the_same_suggestion_twice_is_refused():
    c = SubmitSuggestion(S1, TOWN, "t", "c", (LEAD,))
    with pytest.raises(AlreadyExists):
        sg.decide_submit(submitted(), c, now=T0, is_street=False)


@pytest.mark.parametrize("deputies", [(LEAD,), (CO, LEAD)])
def test_a_terminated_deputy_cannot_submit_nor_co_submit(deputies):
    c = SubmitSuggestion(S1, TOWN, "t", "c", deputies)
    with pytest.raises(DeputyTerminated) as refused:
        sg.decide_submit(sg.Suggestion(id=S1), c, now=T0, is_street=False, terminated_deputy_ids=frozenset({LEAD}))
    assert refused.value.code == "deputy_terminated"


def test_a_street_has_no_session_so_no_session_suggestion():
    c = SubmitSuggestion(S1, "340403002", "t", "c", (LEAD,), submitted_during="session")
    with pytest.raises(NotForStreet) as refused:
        sg.decide_submit(sg.Suggestion(id=S1), c, now=T0, is_street=True)
    assert refused.value.code == "not_for_street"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": " "}, "title"),
        ({"deputy_ids": ()}, "deputy_ids"),
        ({"deputy_ids": (LEAD, LEAD)}, "deputy_ids"),
        ({"jurisdiction": "3404"}, "township"),
        ({"source": "constituents_opinion"}, "source_id"),
    ],
)
def test_an_incomplete_submission_names_the_field(change, field):
    c = SubmitSuggestion(
        **{**dict(suggestion_id=S1, jurisdiction=TOWN, title="t", content="c", deputy_ids=(LEAD,)), **change}
    )
    with pytest.raises(InvalidInput) as refused:
        sg.decide_submit(sg.Suggestion(id=S1), c, now=T0, is_street=False)
    assert refused.value.field == field


# -- assign, sign for, return ----------------------------------------------------------------------
def test_assignment_opens_round_one_due_three_calendar_months_later():
    s = assigned(T0)  # 2026-01-31 + P3M = 2026-04-30 (Civil Code: the month's last day)
    assert (s.status, s.lead_unit_id, s.co_unit_ids) == ("assigned", UNIT, (CO_UNIT,))
    assert s.due_at == datetime(2026, 4, 30, 9, 0, tzinfo=TZ)
    assert [r.number for r in s.rounds] == [1]
    assert s.return_by == T0 + 7 * DAY


def test_a_complex_suggestion_gets_six_months():
    assert assigned(T0, "complex").due_at == datetime(2026, 7, 31, 9, 0, tzinfo=TZ)


def test_a_streets_suggestion_is_assigned_by_county_staff_only():
    s, c = submitted(), AssignSuggestion(S1, UNIT, "李局长")
    with pytest.raises(NotForStreet):
        sg.decide_assign(s, c, now=T0, policy=POLICY, is_street=True, actor_role="township_staff")
    [e] = sg.decide_assign(s, c, now=T0, policy=POLICY, is_street=True, actor_role="county_staff")
    assert e.assigned_by_role == "county_staff"


@pytest.mark.parametrize(
    ("c", "field"),
    [
        (AssignSuggestion(S1, UNIT, " "), "responsible_leader"),
        (AssignSuggestion(S1, UNIT, "张", co_unit_ids=(UNIT,)), "co_unit_ids"),
        (AssignSuggestion(S1, "", "张"), "lead_unit_id"),
    ],
)
def test_an_incomplete_assignment_names_the_field(c, field):
    with pytest.raises(InvalidInput) as refused:
        sg.decide_assign(submitted(), c, now=T0, policy=POLICY, is_street=False, actor_role="township_staff")
    assert refused.value.field == field


def test_assigning_an_assigned_suggestion_is_an_invalid_transition():
    with pytest.raises(InvalidTransition) as refused:
        sg.decide_assign(
            assigned(), AssignSuggestion(S1, UNIT, "张"), now=T0, policy=POLICY, is_street=False, actor_role="x"
        )
    assert refused.value.code == "invalid_transition"


def test_a_suggestion_never_submitted_is_not_found():
    with pytest.raises(SuggestionNotFound):
        sg.decide_assign(
            sg.Suggestion(id="nope"),
            AssignSuggestion("nope", UNIT, "张"),
            now=T0,
            policy=POLICY,
            is_street=False,
            actor_role="township_staff",
        )


def test_the_lead_unit_signs_once_and_signing_again_changes_nothing():
    s = assigned()
    [e] = sg.decide_acknowledge(s, unit_id=UNIT, now=T0 + DAY)
    assert e.unit_id == UNIT
    assert sg.decide_acknowledge(sg.evolve(s, e), unit_id=UNIT, now=T0 + 2 * DAY) == []


def test_a_co_unit_cannot_sign_return_consult_or_reply():
    s = assigned()
    with pytest.raises(NotLeadUnit):
        sg.decide_acknowledge(s, unit_id=CO_UNIT, now=T0)
    with pytest.raises(NotLeadUnit):
        sg.decide_return(s, ReturnSuggestion(S1, "非本单位职责"), unit_id=CO_UNIT, now=T0)
    with pytest.raises(NotLeadUnit):
        sg.decide_consult(s, RecordConsultation(S1, T0.date(), "phone", "x"), unit_id=CO_UNIT, now=T0, policy=POLICY)
    with pytest.raises(NotLeadUnit):
        sg.decide_reply(s, ReplyToSuggestion(S1, "A", "x"), unit_id=CO_UNIT, now=T0, policy=POLICY)


def test_a_return_within_the_window_sends_it_back_for_reassignment():
    s = fold(
        assigned(), sg.decide_return(assigned(), ReturnSuggestion(S1, "不属于本所职责"), unit_id=UNIT, now=T0 + 7 * DAY)
    )
    assert (s.status, s.lead_unit_id, s.rounds, s.due_at) == ("submitted", None, (), None)
    again = fold(
        s,
        sg.decide_assign(
            s,
            AssignSuggestion(S1, CO_UNIT, "王"),
            now=T0 + 8 * DAY,
            policy=POLICY,
            is_street=False,
            actor_role="township_staff",
        ),
    )
    assert [r.number for r in again.rounds] == [1] and again.lead_unit_id == CO_UNIT


def test_a_return_after_the_window_is_refused():
    with pytest.raises(ReturnWindowPassed) as refused:
        sg.decide_return(assigned(), ReturnSuggestion(S1, "x"), unit_id=UNIT, now=T0 + 7 * DAY + timedelta(seconds=1))
    assert refused.value.code == "return_window_passed"


# -- consult and reply ------------------------------------------------------------------------------
def test_a_consultation_counts_for_the_current_round():
    s = consulted(assigned(), T0 + DAY, "phone")
    assert s.current_round.consultation_modes == ("phone",)


def test_a_consultation_dated_in_the_future_or_before_the_round_is_refused():
    for held_on in (T0.date() + 2 * DAY, T0.date() - DAY):
        with pytest.raises(InvalidInput) as refused:
            sg.decide_consult(
                assigned(), RecordConsultation(S1, held_on, "phone", "x"), unit_id=UNIT, now=T0 + DAY, policy=POLICY
            )
        assert refused.value.field == "held_on"


def test_consulting_before_assignment_is_an_invalid_transition():
    with pytest.raises(InvalidTransition):
        sg.decide_consult(
            submitted(), RecordConsultation(S1, T0.date(), "phone", "x"), unit_id=None, now=T0, policy=POLICY
        )


def test_reply_before_consultation_is_refused():
    with pytest.raises(ConsultationRequired) as refused:
        sg.decide_reply(assigned(), ReplyToSuggestion(S1, "A", "已解决"), unit_id=UNIT, now=T0 + DAY, policy=POLICY)
    assert refused.value.code == "consultation_required"


def test_the_face_to_face_setting_refuses_a_reply_after_a_phone_call_only():
    policy = SuggestionPolicy.parse(require_consultation="face_to_face")
    s = consulted(assigned(), T0 + DAY, "phone")
    with pytest.raises(ConsultationRequired):
        sg.decide_reply(s, ReplyToSuggestion(S1, "A", "x"), unit_id=UNIT, now=T0 + DAY, policy=policy)


def test_with_consultation_off_a_reply_needs_none():
    policy = SuggestionPolicy.parse(require_consultation="false")
    [e] = sg.decide_reply(assigned(), ReplyToSuggestion(S1, "A", "x"), unit_id=None, now=T0 + DAY, policy=policy)
    assert e.consultation_modes == ()


def test_an_a_reply_ends_the_rounds_deadline():
    s = answered(T0 + 10 * DAY)
    assert (s.status, s.due_at, s.current_round.result) == ("replied", None, "A")
    assert s.current_round.replied_at == T0 + 10 * DAY


@pytest.mark.parametrize(
    ("result", "kw", "field"),
    [
        ("B", {"measures": "列入明年计划"}, "promised_by"),
        ("B", {"promised_by": date(2026, 6, 30)}, "measures"),
        ("B", {"promised_by": date(2026, 1, 1), "measures": "x"}, "promised_by"),
        ("C", {}, "reason"),
        ("D", {}, "result"),
    ],
)
def test_b_needs_a_promised_date_and_measures_and_c_needs_a_reason(result, kw, field):
    s = consulted(assigned(), T0 + DAY)
    with pytest.raises(InvalidInput) as refused:
        sg.decide_reply(s, ReplyToSuggestion(S1, result, "答复", **kw), unit_id=UNIT, now=T0 + DAY, policy=POLICY)
    assert refused.value.field == field


def test_a_late_reply_is_recorded_with_the_rounds_due_at():
    s = consulted(assigned(), T0 + 100 * DAY)
    [e] = sg.decide_reply(
        s, ReplyToSuggestion(S1, "C", "x", reason="政策不允许"), unit_id=UNIT, now=T0 + 100 * DAY, policy=POLICY
    )
    assert isinstance(e, SuggestionReplied) and e.due_at == s.due_at and e.replied_at > e.due_at


def test_replying_twice_is_an_invalid_transition():
    with pytest.raises(InvalidTransition):
        sg.decide_reply(answered(), ReplyToSuggestion(S1, "A", "x"), unit_id=UNIT, now=T0 + 20 * DAY, policy=POLICY)


# -- evaluate and re-handle ------------------------------------------------------------------------
@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied"])
def test_a_satisfied_evaluation_closes_the_suggestion(satisfaction):
    s = answered()
    events = sg.decide_evaluate(
        s, EvaluateSuggestion(S1, satisfaction), deputy_id=LEAD, now=T0 + 20 * DAY, policy=POLICY
    )
    assert [type(e) for e in events] == [SatisfactionEvaluated, SuggestionClosed]
    assert fold(s, events).status == "closed"


def test_unsatisfied_starts_rehandling_with_its_own_one_month_deadline():
    at = T0 + 20 * DAY
    events = sg.decide_evaluate(
        answered(), EvaluateSuggestion(S1, "unsatisfied"), deputy_id=LEAD, now=at, policy=POLICY
    )
    assert [type(e) for e in events] == [SatisfactionEvaluated, RehandlingStarted]
    s = fold(answered(), events)
    assert (s.status, s.current_round.number, s.due_at, s.unsatisfied) == (
        "rehandling",
        2,
        datetime(2026, 3, 20, 9, 0, tzinfo=TZ),
        True,
    )


def test_a_rehandling_round_needs_its_own_consultation():
    s = evaluated(answered(), T0 + 20 * DAY, "unsatisfied")
    with pytest.raises(ConsultationRequired):
        sg.decide_reply(s, ReplyToSuggestion(S1, "A", "x"), unit_id=UNIT, now=T0 + 21 * DAY, policy=POLICY)
    again = replied(consulted(s, T0 + 21 * DAY), T0 + 22 * DAY)
    assert (again.status, [r.result for r in again.rounds]) == ("replied", ["A", "A"])


@pytest.mark.parametrize("who", [CO, None, "d-other"])
def test_only_the_lead_deputy_evaluates(who):
    with pytest.raises(NotLeadDeputy) as refused:
        sg.decide_evaluate(
            answered(), EvaluateSuggestion(S1, "satisfied"), deputy_id=who, now=T0 + 20 * DAY, policy=POLICY
        )
    assert refused.value.code == "not_lead_deputy"


@pytest.mark.parametrize("first", ["satisfied", "unsatisfied"])
def test_evaluating_the_same_reply_twice_is_refused(first):
    s = evaluated(answered(), T0 + 20 * DAY, first)
    with pytest.raises(AlreadyEvaluated) as refused:
        sg.decide_evaluate(s, EvaluateSuggestion(S1, "satisfied"), deputy_id=LEAD, now=T0 + 21 * DAY, policy=POLICY)
    assert refused.value.code == "already_evaluated"


def test_evaluating_before_a_reply_is_an_invalid_transition():
    with pytest.raises(InvalidTransition):
        sg.decide_evaluate(assigned(), EvaluateSuggestion(S1, "satisfied"), deputy_id=LEAD, now=T0, policy=POLICY)


# -- B promises ------------------------------------------------------------------------------------
def test_a_b_promise_is_tracked_after_closing_until_carried_out():
    s = evaluated(answered(result="B", promised_by=date(2026, 6, 30), measures="列入计划"), T0 + 20 * DAY, "satisfied")
    assert s.status == "closed" and s.open_promise.promised_by == date(2026, 6, 30)
    c = RecordImplementation(S1, date(2026, 6, 1), "道路已硬化")
    s = fold(s, sg.decide_implementation(s, c, unit_id=UNIT, now=datetime(2026, 6, 2, tzinfo=TZ), policy=POLICY))
    assert s.open_promise is None and s.promises[0].carried_out_on == date(2026, 6, 1)


def test_implementation_without_an_open_promise_is_refused():
    with pytest.raises(NoOpenPromise):
        sg.decide_implementation(
            answered(), RecordImplementation(S1, T0.date(), "x"), unit_id=UNIT, now=T0 + 20 * DAY, policy=POLICY
        )


def test_a_later_reply_replaces_an_unkept_promise():
    s = evaluated(answered(result="B", promised_by=date(2026, 6, 30), measures="m"), T0 + 20 * DAY, "unsatisfied")
    s = replied(consulted(s, T0 + 21 * DAY), T0 + 22 * DAY, "A")
    assert s.open_promise is None and s.promises[0].superseded
