"""Small secrets kept in the database (TOTP seeds) sealed with AES-256-GCM.

The sealing key is derived with HKDF from the service's secret key, and the associated data names
the purpose and the row, so a sealed value copied to another user fails to open. Case data uses
the per-charity keyring instead (DESIGN.md section 4).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

NONCE_BYTES = 12


class SealBroken(ValueError):
    """Raised when a sealed value does not open: wrong key, wrong row, or tampered bytes."""


class Sealer:
    def __init__(self, secret_key: str, purpose: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"continuum:{purpose}".encode()
        ).derive(secret_key.encode())
        self._aead = AESGCM(key)
        self._purpose = purpose

    def seal(self, plaintext: bytes, row: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, self._aad(row))

    def open(self, sealed: bytes, row: str) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], self._aad(row))
        except InvalidTag as exc:
            raise SealBroken("sealed value does not open for this row") from exc

    def _aad(self, row: str) -> bytes:
        return f"{self._purpose}|{row}".encode()
