"""Reading and writing the encrypted fields of case rows (DESIGN.md section 4).

A model's column ``<name>_enc`` holds the field ``<name>`` sealed under the row's charity key,
bound to the row's charity, table, column and id; ``Vault`` is the one place that knows this, so
use cases say ``vault.seal(person, "name", value)`` and never touch ciphertext themselves.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.models.base import new_id
from app.security.keyring import (
    Keyring,
    RootKeyProvider,
    blind_index,
    decrypt_field,
    encrypt_field,
)
from app.services.platform.keys import keyring as sql_keyring

PRISON_NUMBER_INDEX = "prison_number"


class Vault:
    """Seals and opens fields of tenant-owned rows with a keyring lasting one unit of work."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @staticmethod
    def _ensure_id(row: Any) -> uuid.UUID:
        # The id is part of the associated data, so it must exist before the first seal.
        if row.id is None:
            row.id = new_id()
        return row.id

    def seal(self, row: Any, field: str, value: str | None) -> None:
        """Store ``value`` (or nothing, for None or blank) in ``row.<field>_enc``."""
        column = f"{field}_enc"
        if not hasattr(type(row), column):
            raise AttributeError(f"{type(row).__name__} has no encrypted field {field!r}")
        if value is None or not value.strip():
            setattr(row, column, None)
            return
        row_id = self._ensure_id(row)
        blob = encrypt_field(
            self._keyring, row.charity_id, row.__tablename__, field, row_id, value.strip()
        )
        setattr(row, column, blob)

    def open(self, row: Any, field: str) -> str | None:
        """The plaintext of ``row.<field>_enc``; FieldDecryptionError if it was moved or altered."""
        return self.open_field(
            row.charity_id, row.__tablename__, field, row.id, getattr(row, f"{field}_enc")
        )

    def open_field(
        self, charity_id: uuid.UUID, table: str, field: str, row_id: uuid.UUID, blob: Any
    ) -> str | None:
        """``open`` for a field read as a column, not as an object: the same associated data."""
        if blob is None:
            return None
        return decrypt_field(self._keyring, charity_id, table, field, row_id, bytes(blob))

    def prison_number_index(self, charity_id: uuid.UUID, prison_number: str) -> str:
        return blind_index(self._keyring, charity_id, PRISON_NUMBER_INDEX, prison_number)

    def keyed_token(self, charity_id: uuid.UUID, purpose: str, value: str) -> str:
        """A truncated HMAC of ``value`` under ``charity_id``'s key for ``purpose``: computable
        only by whoever holds that charity's key, and meaningless to anyone else."""
        return blind_index(self._keyring, charity_id, purpose, value)


def vault_for(session: Session, root: RootKeyProvider) -> Vault:
    """A vault whose data keys come from ``session``'s database (one request or job)."""
    return Vault(sql_keyring(session, root))
