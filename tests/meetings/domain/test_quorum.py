from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.meetings.domain.quorum import (
    Quorum,
    majority_passes,
    needed_for_quorum,
    quorum_met,
    votes_needed_to_pass,
)


@pytest.mark.parametrize(("members", "needed"), [(9, 6), (13, 9), (40, 27), (41, 28), (3, 2), (1, 1), (15, 10)])
def test_quorum_is_two_thirds_of_all_members_rounded_up(members: int, needed: int) -> None:
    assert needed_for_quorum(members) == needed
    assert quorum_met(needed, members)
    assert not quorum_met(needed - 1, members)


@pytest.mark.parametrize(("members", "needed"), [(9, 5), (13, 7), (40, 21), (41, 21), (1, 1), (2, 2)])
def test_a_motion_passes_with_more_than_half_of_all_members(members: int, needed: int) -> None:
    assert votes_needed_to_pass(members) == needed
    assert majority_passes(needed, members)
    assert not majority_passes(needed - 1, members)


def test_a_tie_of_all_members_does_not_pass() -> None:
    assert not majority_passes(20, 40)  # 20 yes, 20 no
    assert not majority_passes(6, 12)


def test_half_of_those_present_is_not_enough() -> None:
    # 41 deputies, 28 present: 15 yes is a majority of those present, not of all deputies
    assert not majority_passes(15, 41)
    assert majority_passes(21, 41)


def test_no_members_means_no_quorum() -> None:
    assert not quorum_met(0, 0)
    assert not Quorum(present=0, members=0, needed=0).met


@given(st.integers(min_value=1, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_quorum_matches_exact_fraction(members: int, present: int) -> None:
    assert quorum_met(present, members) == (Fraction(present, members) >= Fraction(2, 3))
    needed = needed_for_quorum(members)
    assert 3 * needed >= 2 * members > 3 * (needed - 1)


@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=0, max_value=5000))
def test_majority_matches_exact_fraction(members: int, yes: int) -> None:
    assert majority_passes(yes, members) == (Fraction(yes) > Fraction(members, 2))
    assert majority_passes(votes_needed_to_pass(members), members)
    assert not majority_passes(votes_needed_to_pass(members) - 1, members)
