"""The township presidium: 7–13 members (≤ 15 when large), a chair, no office holders, no streets."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.domain.errors import InvalidInput, NotForStreet
from services.deputies.domain.errors import DeputyTerminated, GovernmentOfficeHolder, NotCongressMember, PresidiumSize
from services.deputies.domain.presidium import (
    PRESIDIUM,
    FormPresidium,
    SizeRule,
    decide_form,
    evolve,
    is_member,
)
from services.deputies.events import PresidiumFormed

T = "340403102"  # 曹庵镇
ON = date(2022, 1, 8)


def members(n: int, start: int = 0) -> tuple[str, ...]:
    return tuple(f"d{i}" for i in range(start, start + n))


def form(n: int = 9, chair: str = "d0", start: int = 0) -> FormPresidium:
    return FormPresidium(T, members(n, start), chair, ON)


def decide(c: FormPresidium, state=None, **kw):
    args = {"is_street": False, "large_township": False, "office_holder_ids": frozenset()} | kw
    return decide_form(state or PRESIDIUM.initial(T), c, **args)


def test_a_presidium_of_nine_with_a_chair_is_formed():
    [e] = decide(form())
    assert isinstance(e, PresidiumFormed)
    assert (e.township, e.chair_id, len(e.member_ids), e.replaced_member_ids) == (T, "d0", 9, ())


@pytest.mark.parametrize("n", [7, 13])
def test_seven_and_thirteen_members_are_the_bounds(n):
    assert decide(form(n))


@pytest.mark.parametrize("n", [6, 14])
def test_fewer_than_seven_or_more_than_thirteen_is_refused(n):
    with pytest.raises(PresidiumSize) as err:
        decide(form(n))
    assert err.value.code == "presidium_size"
    assert err.value.details == {"actual": n, "minimum": 7, "maximum": 13}


def test_a_large_township_may_have_fifteen_but_not_sixteen():
    assert decide(form(15), large_township=True)
    with pytest.raises(PresidiumSize):
        decide(form(16), large_township=True)


def test_a_deputy_named_twice_is_refused_naming_the_field():
    c = FormPresidium(T, (*members(7), "d0"), "d0", ON)
    with pytest.raises(InvalidInput) as err:
        decide(c)
    assert err.value.field == "member_ids"


def test_a_deputy_of_another_congress_is_refused_as_such_not_as_terminated():
    # an active county deputy grouped in the township: current, but not a deputy of this congress
    with pytest.raises(NotCongressMember) as err:
        decide(form(), congress_member_ids=set(members(9)) - {"d3"}, current_ids=set(members(9)))
    assert err.value.code == "not_congress_member" and err.value.details["deputy_ids"] == ["d3"]


def test_the_chair_must_be_a_member():
    with pytest.raises(InvalidInput) as err:
        decide(form(chair="d99"))
    assert err.value.field == "chair_id"


def test_a_member_holding_government_office_is_refused():
    with pytest.raises(GovernmentOfficeHolder) as err:
        decide(form(), office_holder_ids={"d3", "d5", "x"})
    assert err.value.code == "government_office_holder"
    assert err.value.details == {"deputy_ids": ["d3", "d5"]}


def test_a_street_has_no_presidium():
    with pytest.raises(NotForStreet) as err:
        decide(form(), is_street=True)
    assert err.value.code == "not_for_street"


def test_a_terminated_member_is_refused():
    with pytest.raises(DeputyTerminated):
        decide(form(), current_ids=set(members(8)))


def test_forming_again_replaces_the_old_presidium():
    old = PRESIDIUM.replay(T, decide(form()))
    [e] = decide(form(9, chair="d20", start=20), state=old)
    assert e.replaced_member_ids == members(9)
    new = evolve(old, e)
    assert new.member_ids == members(9, 20) and new.chair_id == "d20"
    assert not is_member(new, "d0") and is_member(new, "d20")


def test_forming_the_same_presidium_again_records_nothing():
    old = PRESIDIUM.replay(T, decide(form()))
    assert decide(form(), state=old) == []


def test_the_size_rule_is_configurable():
    assert decide(form(5), size=SizeRule(minimum=5, maximum=9, maximum_large=11))


@given(st.integers(min_value=0, max_value=25), st.booleans())
def test_a_formed_presidium_always_has_an_allowed_size_and_its_chair(n, large):
    try:
        events = decide(form(n) if n else FormPresidium(T, (), "d0", ON), large_township=large)
    except (PresidiumSize, InvalidInput):
        assert not 7 <= n <= (15 if large else 13)
        return
    p = PRESIDIUM.replay(T, events)
    assert 7 <= len(p.member_ids) <= (15 if large else 13)
    assert p.chair_id in p.member_ids
