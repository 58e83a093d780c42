"""Time-based one-time passwords (RFC 6238) with the ``cryptography`` primitives.

A code is accepted for the current 30-second step or the one either side (clock drift), and never
for a step at or before the last one accepted, so a code seen over someone's shoulder cannot be
replayed.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from urllib.parse import quote

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor import InvalidToken
from cryptography.hazmat.primitives.twofactor.totp import TOTP

STEP_SECONDS = 30
DIGITS = 6
SECRET_BYTES = 20
# RFC 6238 section 5.2 allows one step of drift each way.
DRIFT_STEPS = 1


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def secret_to_base32(secret: bytes) -> str:
    return base64.b32encode(secret).decode().rstrip("=")


def base32_to_secret(text: str) -> bytes:
    cleaned = text.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def _totp(secret: bytes) -> TOTP:
    # SHA-1 is what every authenticator app implements for TOTP (RFC 6238's default).
    return TOTP(secret, DIGITS, SHA1(), STEP_SECONDS, enforce_key_length=False)  # noqa: S303


def code_at(secret: bytes, when: float) -> str:
    return _totp(secret).generate(int(when)).decode()


@dataclass(frozen=True)
class TotpCheck:
    ok: bool
    step: int = 0


def check_code(secret: bytes, code: str, now: float, last_step: int) -> TotpCheck:
    """Accept a fresh code: right for a step near now, and later than the last step used."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return TotpCheck(False)
    totp = _totp(secret)
    current = int(now) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        try:
            totp.verify(code.encode(), step * STEP_SECONDS)
        except InvalidToken:
            continue
        if step <= last_step:
            return TotpCheck(False)
        return TotpCheck(True, step)
    return TotpCheck(False)


def provisioning_uri(secret: bytes, account: str, issuer: str) -> str:
    label = quote(f"{issuer}:{account}")
    return (
        f"otpauth://totp/{label}?secret={secret_to_base32(secret)}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )
