"""Personal API tokens: 256 random bits, shown once, stored as a SHA-256 digest.

A slow hash buys nothing for a random 256-bit secret, and a fast digest lets the token be found
by an indexed lookup without revealing it.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "ctm_"  # noqa: S105 - a public marker, not a secret


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]
