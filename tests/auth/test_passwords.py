"""Passwords: argon2 hashes only, and the 等保 2.0 level-2 strength rule (≥8 chars of ≥3 classes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.auth.passwords import check_strength, classes, hash_password, needs_rehash, strength_problem, verify_password
from libs.domain.errors import InvalidInput


@pytest.mark.parametrize("weak", ["", "Ab1!", "Abc1234", "abcdefgh", "abcd1234", "ABCD1234", "abcdEFGH", "12345678!"])
def test_weak_passwords_are_refused_naming_the_field(weak: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_strength(weak)
    assert refused.value.field == "password"
    assert refused.value.code == "invalid_input"


@pytest.mark.parametrize("strong", ["Abcd1234", "abcd123!", "ABCD!234", "人大Ab12!x", "Renda-2026-ok"])
def test_eight_characters_of_three_classes_are_enough(strong: str) -> None:
    assert strength_problem(strong) is None


def test_the_hash_is_argon2id_and_verifies_only_the_same_password() -> None:
    h = hash_password("Renda-2026-ok")
    assert h.startswith("$argon2id$")
    assert "Renda-2026-ok" not in h
    assert verify_password(h, "Renda-2026-ok")
    assert not verify_password(h, "Renda-2026-OK")
    assert not needs_rehash(h)


def test_the_same_password_hashes_differently_each_time() -> None:
    assert hash_password("Renda-2026-ok") != hash_password("Renda-2026-ok")


def test_an_unknown_user_or_a_broken_hash_never_verifies() -> None:
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


def test_a_weak_password_is_never_hashed() -> None:
    with pytest.raises(InvalidInput):
        hash_password("password")


@given(st.text(min_size=0, max_size=40))
def test_the_rule_is_exactly_length_and_classes(pw: str) -> None:
    ok = 8 <= len(pw) <= 128 and classes(pw) >= 3
    assert (strength_problem(pw) is None) == ok
