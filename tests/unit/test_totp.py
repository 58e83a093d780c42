"""TOTP codes (RFC 6238): the published test vectors, the drift window, and replay refusal."""

from __future__ import annotations

import pytest

from app.security import totp

RFC_SECRET = b"12345678901234567890"
# RFC 6238 appendix B, SHA-1, 8 digits; a 6-digit code is the same value's last six digits.
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
# The middle of a 30-second step, so "now" is unambiguous.
NOW = 1_700_000_010 + 15
STEP = NOW // totp.STEP_SECONDS


def _code(offset_steps: int, secret: bytes = RFC_SECRET) -> str:
    return totp.code_at(secret, NOW + offset_steps * totp.STEP_SECONDS)


@pytest.mark.parametrize(("when", "eight_digits"), RFC_VECTORS)
def test_code_matches_rfc_6238_vector(when, eight_digits):
    assert totp.code_at(RFC_SECRET, when) == eight_digits[-6:]


def test_code_for_the_current_step_is_accepted_and_names_its_step():
    assert totp.check_code(RFC_SECRET, _code(0), NOW, 0) == totp.TotpCheck(True, STEP)


@pytest.mark.parametrize("offset", [-1, 1])
def test_code_one_step_either_side_is_accepted_for_clock_drift(offset):
    assert totp.check_code(RFC_SECRET, _code(offset), NOW, 0) == totp.TotpCheck(True, STEP + offset)


@pytest.mark.parametrize("offset", [-2, 2, -10])
def test_code_two_or_more_steps_away_is_refused(offset):
    assert _code(offset) not in {_code(-1), _code(0), _code(1)}  # the refusal is not a collision
    assert not totp.check_code(RFC_SECRET, _code(offset), NOW, 0).ok


def test_code_for_the_last_step_used_is_refused_as_a_replay():
    first = totp.check_code(RFC_SECRET, _code(0), NOW, 0)
    assert first.ok
    assert not totp.check_code(RFC_SECRET, _code(0), NOW, first.step).ok


def test_code_for_a_step_before_the_last_one_used_is_refused():
    assert not totp.check_code(RFC_SECRET, _code(-1), NOW, STEP).ok


def test_code_after_the_last_step_used_is_accepted():
    assert totp.check_code(RFC_SECRET, _code(1), NOW, STEP).ok


def test_code_for_another_secret_is_refused():
    other = b"another twenty bytes"
    assert _code(0, other) != _code(0)
    assert not totp.check_code(RFC_SECRET, _code(0, other), NOW, 0).ok


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5", "١٢٣٤٥٦"])
def test_malformed_code_is_refused(code):
    assert not totp.check_code(RFC_SECRET, code, NOW, 0).ok


def test_code_typed_with_spaces_is_accepted():
    code = _code(0)
    assert totp.check_code(RFC_SECRET, f" {code[:3]} {code[3:]} ", NOW, 0).ok


def test_secret_survives_base32_round_trip_with_grouping_spaces():
    secret = totp.new_secret()
    assert len(secret) == totp.SECRET_BYTES
    text = totp.secret_to_base32(secret)
    grouped = " ".join(text[i : i + 4] for i in range(0, len(text), 4)).lower()
    assert totp.base32_to_secret(grouped) == secret


def test_provisioning_uri_names_the_secret_and_parameters():
    uri = totp.provisioning_uri(RFC_SECRET, "pops.liverpool@pops", "Continuum")
    assert uri.startswith("otpauth://totp/Continuum%3Apops.liverpool%40pops?")
    assert f"secret={totp.secret_to_base32(RFC_SECRET)}" in uri
    assert "digits=6" in uri and "period=30" in uri and "algorithm=SHA1" in uri
