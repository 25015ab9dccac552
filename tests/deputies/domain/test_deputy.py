"""Deputy aggregate: Given events, When command, Then events or error."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.domain.errors import AlreadyExists, InvalidInput, InvalidTransition, NotForStreet
from services.deputies.domain.deputy import (
    DEPUTY,
    ConfirmQualification,
    RecordContact,
    RecordDutyActivity,
    RegisterDeputy,
    TerminateDeputy,
    decide_confirm_qualification,
    decide_record_activity,
    decide_record_contact,
    decide_register,
    decide_terminate,
    evolve,
    is_current,
    require_current,
)
from services.deputies.domain.errors import (
    DeputyNotRegistered,
    DeputyTerminated,
    NotPresidiumMember,
)
from services.deputies.events import (
    DeputyQualificationConfirmed,
    DeputyRegistered,
    DutyActivityRecorded,
)
from services.deputies.events import DeputyTerminated as Terminated

T = "340403100"  # 舜耕镇
ELECTED = date(2021, 11, 20)
TODAY = date(2024, 6, 1)
PHONE = "13905540000"


def register(deputy_id: str = "d1", **kw: object) -> RegisterDeputy:
    base = RegisterDeputy(
        deputy_id=deputy_id,
        name="张桂兰",
        gender="female",
        level="township",
        congress=T,
        township=T,
        constituency="第三选区",
        term=18,
        sector="农业",
        phone=PHONE,
        elected_on=ELECTED,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def registered(deputy_id: str = "d1", **kw: object):
    return DEPUTY.replay(
        deputy_id,
        decide_register(DEPUTY.initial(deputy_id), register(deputy_id, **kw), congress_is_street=False),
    )


def terminated(on: date = date(2023, 3, 1)):
    d = registered()
    [e] = decide_terminate(d, TerminateDeputy("d1", "moved", on, "迁出本镇"))
    return evolve(d, e)


def activity(kind: str = "constituent_visit", on: date = date(2024, 3, 5), **kw: object) -> RecordDutyActivity:
    base = RecordDutyActivity(deputy_id="d1", activity_id="a1", kind=kind, on=on, summary="走访", people_count=4)  # type: ignore[arg-type]
    return replace(base, **kw)  # type: ignore[arg-type]


# ---- registration ---------------------------------------------------------------------------


def test_registering_a_township_deputy_records_codes_and_level():
    [e] = decide_register(DEPUTY.initial("d1"), register(), congress_is_street=False)
    assert isinstance(e, DeputyRegistered)
    assert (e.level, e.congress, e.township, e.term) == ("township", T, T, 18)


def test_a_township_deputy_is_grouped_in_the_own_township_by_default():
    [e] = decide_register(DEPUTY.initial("d1"), register(township=None), congress_is_street=False)
    assert e.township == T


def test_a_township_deputy_grouped_elsewhere_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide_register(DEPUTY.initial("d1"), register(township="340403101"), congress_is_street=False)
    assert err.value.field == "township"


def test_a_county_deputy_is_grouped_in_a_township_of_the_county():
    [e] = decide_register(
        DEPUTY.initial("d2"), register("d2", level="county", congress="340403"), congress_is_street=False
    )
    assert (e.level, e.congress, e.township) == ("county", "340403", T)


def test_a_county_deputy_grouped_outside_the_county_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide_register(
            DEPUTY.initial("d2"),
            register("d2", level="county", congress="340404", township=T),
            congress_is_street=False,
        )
    assert err.value.field == "township"


def test_a_province_deputy_may_give_the_six_digit_province_code():
    [e] = decide_register(
        DEPUTY.initial("d3"), register("d3", level="province", congress="340000"), congress_is_street=False
    )
    assert e.township == T


def test_a_congress_code_of_the_wrong_length_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide_register(DEPUTY.initial("d1"), register(level="city", congress="340403"), congress_is_street=False)
    assert err.value.field == "congress"


def test_a_township_deputy_of_a_street_is_refused_not_for_street():
    with pytest.raises(NotForStreet) as err:
        decide_register(DEPUTY.initial("d1"), register(congress="340403001", township=None), congress_is_street=True)
    assert err.value.code == "not_for_street"


def test_registering_twice_is_refused():
    with pytest.raises(AlreadyExists):
        decide_register(registered(), register(), congress_is_street=False)


def test_a_malformed_phone_is_refused_without_echoing_it():
    with pytest.raises(InvalidInput) as err:
        decide_register(DEPUTY.initial("d1"), register(phone="call me"), congress_is_street=False)
    assert err.value.field == "phone" and "call me" not in str(err.value)


def test_the_phone_is_kept_in_the_event_but_never_in_its_repr_or_the_state_repr():
    [e] = decide_register(DEPUTY.initial("d1"), register(), congress_is_street=False)
    assert e.phone == PHONE
    assert PHONE not in repr(e) and PHONE not in str(e)
    state = evolve(DEPUTY.initial("d1"), e)
    assert state.phone == PHONE and PHONE not in repr(state)
    assert PHONE not in repr(register())


def test_a_by_election_is_recorded_as_such():
    [e] = decide_register(DEPUTY.initial("d9"), register("d9", by_election=True), congress_is_street=False)
    assert e.by_election is True


# ---- qualification --------------------------------------------------------------------------


def test_qualification_is_confirmed_once():
    d = registered(by_election=True)
    [e] = decide_confirm_qualification(d, ConfirmQualification("d1", date(2022, 1, 5)))
    assert isinstance(e, DeputyQualificationConfirmed)
    assert decide_confirm_qualification(evolve(d, e), ConfirmQualification("d1", date(2022, 2, 5))) == []


def test_an_unconfirmed_deputy_is_not_current_when_confirmation_is_required():
    d = registered(by_election=True)
    assert is_current(d, TODAY) and not is_current(d, TODAY, require_confirmed=True)


def test_a_terminated_deputy_cannot_be_confirmed():
    with pytest.raises(DeputyTerminated):
        decide_confirm_qualification(terminated(), ConfirmQualification("d1", TODAY))


# ---- termination ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["resigned", "recalled", "moved", "deceased", "term_ended"])
def test_every_reason_terminates_with_date_and_reason(reason):
    [e] = decide_terminate(registered(), TerminateDeputy("d1", reason, date(2023, 3, 1), "说明"))
    assert isinstance(e, Terminated)
    assert (e.reason, e.effective_on, e.reason_text, e.congress, e.township) == (
        reason,
        date(2023, 3, 1),
        "说明",
        T,
        T,
    )


def test_a_terminated_deputy_is_current_until_the_day_before_effect():
    d = terminated(date(2023, 3, 1))
    assert is_current(d, date(2023, 2, 28))
    assert not is_current(d, date(2023, 3, 1))
    assert d.status == "terminated"


@pytest.mark.parametrize("again", [("moved", date(2023, 3, 1)), ("deceased", date(2023, 5, 1))])
def test_a_mandate_ends_once_a_second_termination_is_an_invalid_transition(again):
    # the same termination again included: only a retry of the same command (the store's) records nothing
    with pytest.raises(InvalidTransition) as err:
        decide_terminate(terminated(), TerminateDeputy("d1", *again))
    assert err.value.code == "invalid_transition"


def test_termination_before_election_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide_terminate(registered(), TerminateDeputy("d1", "resigned", ELECTED - timedelta(days=1)))
    assert err.value.field == "effective_on"


def test_terminating_an_unknown_deputy_is_not_found():
    with pytest.raises(DeputyNotRegistered):
        decide_terminate(DEPUTY.initial("x"), TerminateDeputy("x", "moved", TODAY))


def test_require_current_refuses_a_terminated_deputy_with_its_code():
    with pytest.raises(DeputyTerminated) as err:
        require_current(terminated(), TODAY)
    assert err.value.code == "deputy_terminated"


# ---- duty activities ------------------------------------------------------------------------


def test_an_activity_carries_the_read_model_codes():
    [e] = decide_record_activity(registered(), activity(), today=TODAY)
    assert isinstance(e, DutyActivityRecorded)
    assert (e.kind, e.people_count, e.congress, e.township, e.level) == (
        "constituent_visit",
        4,
        T,
        T,
        "township",
    )


def test_a_terminated_deputy_records_no_activity_after_termination():
    with pytest.raises(DeputyTerminated):
        decide_record_activity(terminated(date(2023, 3, 1)), activity(on=date(2023, 3, 2)), today=TODAY)


def test_an_activity_before_termination_may_still_be_recorded():
    [e] = decide_record_activity(terminated(date(2023, 3, 1)), activity(on=date(2023, 2, 1)), today=TODAY)
    assert e.on == date(2023, 2, 1)


def test_the_same_activity_twice_records_nothing():
    d = registered()
    [e] = decide_record_activity(d, activity(), today=TODAY)
    assert decide_record_activity(evolve(d, e), activity(), today=TODAY) == []


def test_a_future_activity_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide_record_activity(registered(), activity(on=TODAY + timedelta(days=1)), today=TODAY)
    assert err.value.field == "on"


def test_a_visit_without_people_is_refused():
    with pytest.raises(InvalidInput) as err:
        decide_record_activity(registered(), activity(people_count=0), today=TODAY)
    assert err.value.field == "people_count"


def test_a_report_to_voters_without_its_mode_was_given_at_a_meeting():
    [e] = decide_record_activity(registered(), activity("report_to_voters", people_count=30), today=TODAY)
    assert e.report_mode == "meeting"
    [w] = decide_record_activity(
        registered(), activity("report_to_voters", people_count=30, report_mode="written"), today=TODAY
    )
    assert w.report_mode == "written"


def test_only_a_report_to_voters_has_a_mode():
    with pytest.raises(InvalidInput):
        decide_record_activity(registered(), activity("good_deed", report_mode="written"), today=TODAY)


# ---- contacts -------------------------------------------------------------------------------


def contact(kind: str = "presidium_member", **kw: object) -> RecordContact:
    base = RecordContact(deputy_id="d1", contact_id="c1", kind=kind, on=date(2024, 1, 10), contact_deputy_id="d2")  # type: ignore[arg-type]
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_presidium_member_records_a_deputy_contact_once():
    d = registered()
    [e] = decide_record_contact(d, contact(), is_presidium_member=True, today=TODAY)
    assert e.contact_deputy_id == "d2"
    again = decide_record_contact(evolve(d, e), contact(contact_id="c2"), is_presidium_member=True, today=TODAY)
    assert again == []


def test_only_a_presidium_member_records_deputy_contacts():
    with pytest.raises(NotPresidiumMember):
        decide_record_contact(registered(), contact(), is_presidium_member=False, today=TODAY)


def test_a_terminated_contact_deputy_is_refused():
    with pytest.raises(DeputyTerminated):
        decide_record_contact(registered(), contact(), is_presidium_member=True, contact_is_current=False, today=TODAY)


def test_a_constituent_contact_needs_name_and_village_and_hides_the_name():
    with pytest.raises(InvalidInput) as err:
        decide_record_contact(
            registered(),
            contact("constituent", contact_deputy_id=None, constituent_name="李四"),
            is_presidium_member=False,
            today=TODAY,
        )
    assert err.value.field == "contact"
    [e] = decide_record_contact(
        registered(),
        contact("constituent", contact_deputy_id=None, constituent_name="李四", village="姚家湾村"),
        is_presidium_member=False,
        today=TODAY,
    )
    assert (e.constituent_name, e.village, e.contact_deputy_id) == ("李四", "姚家湾村", None)
    assert "李四" not in repr(e)


def test_a_terminated_deputy_records_no_contact():
    with pytest.raises(DeputyTerminated):
        decide_record_contact(terminated(), contact(), is_presidium_member=True, today=TODAY)


# ---- invariants -----------------------------------------------------------------------------


@given(
    st.lists(st.dates(min_value=date(2021, 1, 1), max_value=date(2027, 1, 1)), min_size=1, max_size=6),
    st.dates(min_value=date(2021, 1, 1), max_value=date(2027, 1, 1)),
)
def test_once_terminated_a_deputy_never_becomes_current_again(term_dates, probe):
    d = registered()
    first: date | None = None
    for when in term_dates:
        try:
            events = decide_terminate(d, TerminateDeputy("d1", "resigned", when))
        except (InvalidTransition, InvalidInput):
            continue
        for e in events:
            d = evolve(d, e)
        first = first or when
        assert d.terminated_on == first  # the first termination stands
    if first is not None and probe >= first:
        assert not is_current(d, probe)
        with pytest.raises(DeputyTerminated):
            decide_record_activity(d, activity(on=probe), today=date(2030, 1, 1))
