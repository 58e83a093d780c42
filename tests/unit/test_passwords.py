"""Passwords: argon2id, a minimum length, and no way to sign in without a stored hash."""

from __future__ import annotations

import pytest

from app.security import passwords

GOOD = "correct horse battery staple"


def test_password_is_hashed_with_argon2id():
    stored = passwords.hash_password(GOOD)
    assert stored.startswith("$argon2id$")
    assert GOOD not in stored


def test_same_password_hashes_differently_each_time():
    assert passwords.hash_password(GOOD) != passwords.hash_password(GOOD)


@pytest.mark.parametrize("length", [0, 1, passwords.MIN_LENGTH - 1])
def test_short_password_is_refused(length):
    with pytest.raises(passwords.WeakPassword):
        passwords.hash_password("x" * length)


def test_password_of_minimum_length_is_accepted():
    assert passwords.verify_password(
        passwords.hash_password("x" * passwords.MIN_LENGTH), "x" * passwords.MIN_LENGTH
    )


def test_right_password_verifies_and_wrong_one_does_not():
    stored = passwords.hash_password(GOOD)
    assert passwords.verify_password(stored, GOOD) is True
    assert passwords.verify_password(stored, GOOD + " ") is False
    assert passwords.verify_password(stored, "") is False


@pytest.mark.parametrize("password", [GOOD, "", "continuum-timing-equaliser"])
def test_verify_with_no_stored_hash_is_false(password):
    # The last one is the timing equaliser's own password: it must not open an account either.
    assert passwords.verify_password(None, password) is False


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=1,t=1,p=1$broken"])
def test_verify_with_malformed_hash_is_false(stored):
    assert passwords.verify_password(stored, GOOD) is False


def test_fresh_hash_needs_no_rehash_but_a_weaker_one_does():
    from argon2 import PasswordHasher

    assert not passwords.needs_rehash(passwords.hash_password(GOOD))
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GOOD)
    assert passwords.needs_rehash(weak)
    assert passwords.verify_password(weak, GOOD)
