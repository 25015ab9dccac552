"""Deputy groups: leaders, members, one central group per township, no size limit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.domain.errors import AlreadyExists, InvalidInput
from services.deputies.domain.errors import CentralGroupExists, DeputyTerminated, GroupNotFormed
from services.deputies.domain.group import (
    GROUP,
    ChangeDeputyGroup,
    FormDeputyGroup,
    decide_change,
    decide_form,
    evolve,
)
from services.deputies.events import DeputyGroupChanged, DeputyGroupFormed

T = "340403101"  # 安成镇


def form(central: bool = False, leaders=("d1",), members=("d2", "d3"), name="第一代表小组") -> FormDeputyGroup:
    return FormDeputyGroup("g1", T, name, tuple(leaders), tuple(members), central)


def formed(**kw):
    return GROUP.replay("g1", decide_form(GROUP.initial("g1"), form(**kw), central_group_exists=False))


def test_forming_a_group_includes_leaders_among_members():
    [e] = decide_form(GROUP.initial("g1"), form(), central_group_exists=False)
    assert isinstance(e, DeputyGroupFormed)
    assert e.leader_ids == ("d1",) and e.member_ids == ("d1", "d2", "d3")


def test_a_group_needs_at_least_one_leader():
    with pytest.raises(InvalidInput) as err:
        decide_form(GROUP.initial("g1"), form(leaders=()), central_group_exists=False)
    assert err.value.field == "leader_ids"


def test_a_group_needs_a_name():
    with pytest.raises(InvalidInput) as err:
        decide_form(GROUP.initial("g1"), form(name="  "), central_group_exists=False)
    assert err.value.field == "name"


def test_a_second_central_group_in_the_township_is_refused():
    with pytest.raises(CentralGroupExists) as err:
        decide_form(GROUP.initial("g1"), form(central=True), central_group_exists=True)
    assert err.value.code == "central_group_exists"


def test_the_first_central_group_is_formed():
    [e] = decide_form(GROUP.initial("g1"), form(central=True), central_group_exists=False)
    assert e.central is True


def test_a_non_central_group_ignores_an_existing_central_group():
    assert decide_form(GROUP.initial("g1"), form(), central_group_exists=True)


def test_a_terminated_member_is_refused():
    with pytest.raises(DeputyTerminated) as err:
        decide_form(GROUP.initial("g1"), form(), central_group_exists=False, current_ids={"d1", "d2"})
    assert err.value.details == {"deputy_ids": ["d3"]}


def test_forming_the_same_group_twice_is_refused():
    with pytest.raises(AlreadyExists):
        decide_form(formed(), form(), central_group_exists=False)


def test_changing_members_records_the_whole_new_composition():
    [e] = decide_change(
        formed(), ChangeDeputyGroup("g1", "第一代表小组", ("d2",), ("d1", "d4")), central_group_exists=False
    )
    assert isinstance(e, DeputyGroupChanged)
    assert (e.township, e.leader_ids, e.member_ids) == (T, ("d2",), ("d2", "d1", "d4"))


def test_an_unchanged_group_records_nothing():
    g = formed()
    assert (
        decide_change(g, ChangeDeputyGroup("g1", g.name, g.leader_ids, g.member_ids), central_group_exists=False) == []
    )


def test_the_central_group_stays_central_when_changed():
    g = formed(central=True)
    [e] = decide_change(
        g,
        ChangeDeputyGroup("g1", "中心组", g.leader_ids, g.member_ids, central=True),
        central_group_exists=False,
    )
    assert e.central


def test_making_a_group_central_when_another_is_central_is_refused():
    g = formed()
    with pytest.raises(CentralGroupExists):
        decide_change(g, ChangeDeputyGroup("g1", g.name, g.leader_ids, g.member_ids, True), central_group_exists=True)


def test_changing_an_unknown_group_is_not_found():
    with pytest.raises(GroupNotFormed):
        decide_change(GROUP.initial("x"), ChangeDeputyGroup("x", "n", ("d1",), ()), central_group_exists=False)


@given(st.integers(min_value=1, max_value=400), st.integers(min_value=1, max_value=5))
def test_no_group_size_is_ever_refused(size, leaders):
    members = tuple(f"d{i}" for i in range(size))
    [e] = decide_form(GROUP.initial("g1"), form(leaders=members[:leaders], members=members), central_group_exists=False)
    state = evolve(GROUP.initial("g1"), e)
    assert len(state.member_ids) == size
    assert set(state.leader_ids) <= set(state.member_ids)
