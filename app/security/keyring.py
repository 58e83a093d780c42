"""Envelope encryption for case data (DESIGN.md section 4).

A root key wraps one versioned data key per charity; fields are encrypted with AES-256-GCM under
the charity's data key, the associated data binding charity, table, column, row and key version,
so a ciphertext moved anywhere else fails to decrypt. Lookups by prison number use a blind index.

This module is pure: it imports only the standard library and ``cryptography``. Wrapped keys are
kept in a ``KeyStore``; the database adapter lives elsewhere and ``MemoryKeyStore`` serves tests.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.domain.clock import system_clock

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FIELD_FORMAT = 1
BLIND_INDEX_KEY_VERSION = 1
BLIND_INDEX_BYTES = 16

_VERSION_BYTES = 4
_HEADER_BYTES = 1 + _VERSION_BYTES + NONCE_BYTES


class KeyUnwrapError(ValueError):
    """Raised when a wrapped key does not unwrap: wrong root, charity or version, or tampered."""


class UnknownDataKey(LookupError):
    """Raised when a charity has no data key, or none of the requested version."""


class FieldDecryptionError(ValueError):
    """Raised when an encrypted field does not decrypt, for any reason."""


def _canonical(*parts: bytes) -> bytes:
    # Length-prefixed, so no two different tuples of parts encode to the same bytes.
    return b"".join(len(part).to_bytes(4, "big") + part for part in parts)


def _version_bytes(version: int) -> bytes:
    return version.to_bytes(_VERSION_BYTES, "big")


class RootKeyProvider(Protocol):
    """Wraps and unwraps data keys; ``context`` is authenticated and must match on unwrap."""

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes: ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes: ...


class LocalRootKey:
    """A root key held in process memory, for development and tests.

    Production uses a KMS: another ``RootKeyProvider`` whose ``wrap`` and ``unwrap`` call the KMS
    with ``context`` as its encryption context, so the root key never enters this process.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"root key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "LocalRootKey(<hidden>)"

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LocalRootKey:
        """Read the key at ``path``, first creating it (mode 0600, random bytes) if absent."""
        try:
            # O_EXCL: two processes starting together cannot both write a different key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return cls(Path(path).read_bytes())
        key = os.urandom(KEY_BYTES)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        return cls(key)

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext_key, context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], context)
        except (InvalidTag, ValueError) as exc:
            raise KeyUnwrapError("wrapped key does not unwrap under this root and context") from exc


@dataclass(frozen=True)
class DataKey:
    charity_id: uuid.UUID
    version: int
    key: bytes = field(repr=False)


@dataclass(frozen=True)
class WrappedDataKey:
    charity_id: uuid.UUID
    version: int
    wrapped: bytes = field(repr=False)
    created_at: datetime | None = None


class KeyStore(Protocol):
    """Where wrapped data keys are kept; ``add`` must refuse a duplicate (charity, version)."""

    def charity_ids(self) -> list[uuid.UUID]: ...

    def wrapped_keys(self, charity_id: uuid.UUID) -> list[WrappedDataKey]: ...

    def add(self, wrapped_key: WrappedDataKey) -> None: ...

    def replace(self, wrapped_key: WrappedDataKey) -> None: ...


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[tuple[uuid.UUID, int], WrappedDataKey] = {}

    def charity_ids(self) -> list[uuid.UUID]:
        return sorted({charity_id for charity_id, _ in self._keys})

    def wrapped_keys(self, charity_id: uuid.UUID) -> list[WrappedDataKey]:
        found = [key for (owner, _), key in self._keys.items() if owner == charity_id]
        return sorted(found, key=lambda key: key.version)

    def add(self, wrapped_key: WrappedDataKey) -> None:
        slot = (wrapped_key.charity_id, wrapped_key.version)
        if slot in self._keys:
            raise ValueError("data key version already exists")
        self._keys[slot] = wrapped_key

    def replace(self, wrapped_key: WrappedDataKey) -> None:
        slot = (wrapped_key.charity_id, wrapped_key.version)
        if slot not in self._keys:
            raise UnknownDataKey("no data key of that version to replace")
        self._keys[slot] = wrapped_key


def data_key_context(charity_id: uuid.UUID, version: int) -> bytes:
    """What a wrapped data key is bound to, so it unwraps only for its own charity and version."""
    return _canonical(b"continuum:data-key", charity_id.bytes, _version_bytes(version))


class Keyring:
    """Per-charity, versioned data keys, wrapped under a root key and kept in a ``KeyStore``."""

    def __init__(
        self,
        root: RootKeyProvider,
        store: KeyStore,
        clock: Callable[[], datetime] = system_clock,
    ) -> None:
        self._root = root
        self._store = store
        self._clock = clock
        # A version's key material never changes (rewrapping changes only its wrapping), so
        # unwrapped keys can be cached; this saves a KMS call per field.
        self._cache: dict[tuple[uuid.UUID, int], DataKey] = {}
        # The newest version seen per charity: a keyring lasts one unit of work, so a rotation
        # made elsewhere during it is picked up by the next one.
        self._current: dict[uuid.UUID, int] = {}

    def ensure_key(self, charity_id: uuid.UUID) -> DataKey:
        if not self._store.wrapped_keys(charity_id):
            return self._add_version(charity_id, 1)
        return self.current(charity_id)

    def rotate(self, charity_id: uuid.UUID) -> DataKey:
        """Add the next version; new data is written under it and older versions stay readable."""
        versions = [key.version for key in self._store.wrapped_keys(charity_id)]
        return self._add_version(charity_id, max(versions, default=0) + 1)

    def rewrap_all(self, new_root: RootKeyProvider) -> int:
        """Rewrap every data key under ``new_root``; field ciphertexts are untouched.

        Every key is unwrapped and rewrapped before any is written, so a bad old root changes
        nothing; the caller runs the writes in one transaction. Returns the number rewrapped.
        """
        rewrapped: list[WrappedDataKey] = []
        for charity_id in self._store.charity_ids():
            for stored in self._store.wrapped_keys(charity_id):
                context = data_key_context(stored.charity_id, stored.version)
                key = self._root.unwrap(stored.wrapped, context)
                wrapped = new_root.wrap(key, context)
                # Losing a root key loses every record, so prove the new wrapping opens first.
                if not hmac.compare_digest(new_root.unwrap(wrapped, context), key):
                    raise KeyUnwrapError("new root did not return the key it wrapped")
                rewrapped.append(replace(stored, wrapped=wrapped))
        for wrapped_key in rewrapped:
            self._store.replace(wrapped_key)
        self._root = new_root
        return len(rewrapped)

    def current(self, charity_id: uuid.UUID) -> DataKey:
        version = self._current.get(charity_id)
        if version is not None:
            return self._cache[(charity_id, version)]
        stored = self._store.wrapped_keys(charity_id)
        if not stored:
            raise UnknownDataKey("charity has no data key")
        data_key = self._unwrap(max(stored, key=lambda key: key.version))
        self._current[charity_id] = data_key.version
        return data_key

    def version(self, charity_id: uuid.UUID, version: int) -> DataKey:
        cached = self._cache.get((charity_id, version))
        if cached is not None:
            return cached
        for stored in self._store.wrapped_keys(charity_id):
            if stored.version == version:
                return self._unwrap(stored)
        raise UnknownDataKey("charity has no data key of that version")

    def _add_version(self, charity_id: uuid.UUID, version: int) -> DataKey:
        data_key = DataKey(charity_id, version, os.urandom(KEY_BYTES))
        wrapped = self._root.wrap(data_key.key, data_key_context(charity_id, version))
        self._store.add(WrappedDataKey(charity_id, version, wrapped, self._clock()))
        self._cache[(charity_id, version)] = data_key
        self._current[charity_id] = version
        return data_key

    def _unwrap(self, stored: WrappedDataKey) -> DataKey:
        slot = (stored.charity_id, stored.version)
        if slot not in self._cache:
            key = self._root.unwrap(stored.wrapped, data_key_context(*slot))
            self._cache[slot] = DataKey(stored.charity_id, stored.version, key)
        return self._cache[slot]


def _field_aad(
    charity_id: uuid.UUID, table: str, column: str, row_id: uuid.UUID, version: int
) -> bytes:
    return _canonical(
        bytes([FIELD_FORMAT]),
        charity_id.bytes,
        table.encode(),
        column.encode(),
        row_id.bytes,
        _version_bytes(version),
    )


def encrypt_field(
    keyring: Keyring,
    charity_id: uuid.UUID,
    table: str,
    column: str,
    row_id: uuid.UUID,
    plaintext: str,
) -> bytes:
    """Encrypt under the charity's current data key: format, key version, nonce, ciphertext."""
    data_key = keyring.current(charity_id)
    # Random 96-bit nonces: NIST SP 800-38D allows 2^32 messages per key; rotation resets it.
    nonce = os.urandom(NONCE_BYTES)
    aad = _field_aad(charity_id, table, column, row_id, data_key.version)
    ciphertext = AESGCM(data_key.key).encrypt(nonce, plaintext.encode(), aad)
    return bytes([FIELD_FORMAT]) + _version_bytes(data_key.version) + nonce + ciphertext


def decrypt_field(
    keyring: Keyring,
    charity_id: uuid.UUID,
    table: str,
    column: str,
    row_id: uuid.UUID,
    blob: bytes,
) -> str:
    if len(blob) < _HEADER_BYTES + TAG_BYTES or blob[0] != FIELD_FORMAT:
        raise FieldDecryptionError("field is not a recognised ciphertext")
    version = int.from_bytes(blob[1 : 1 + _VERSION_BYTES], "big")
    nonce = blob[1 + _VERSION_BYTES : _HEADER_BYTES]
    aad = _field_aad(charity_id, table, column, row_id, version)
    try:
        data_key = keyring.version(charity_id, version)
        return AESGCM(data_key.key).decrypt(nonce, blob[_HEADER_BYTES:], aad).decode()
    except (UnknownDataKey, KeyUnwrapError, InvalidTag, UnicodeDecodeError) as exc:
        raise FieldDecryptionError(
            f"field does not decrypt for {table}.{column} row {row_id}"
        ) from exc


def normalise_for_index(value: str) -> str:
    return "".join(value.split()).upper()


def blind_index(keyring: Keyring, charity_id: uuid.UUID, purpose: str, value: str) -> str:
    """A lookup token for ``value``: truncated HMAC-SHA256 under a per-charity, per-purpose key.

    The index key is derived from data key version 1, never the current one, so stored indexes
    still match after rotation. Truncating to 16 bytes gives rare false positives, which callers
    weed out by decrypting the candidates, and makes the token less useful for linking records.
    """
    if not purpose:
        raise ValueError("blind index purpose must be named")
    base = keyring.version(charity_id, BLIND_INDEX_KEY_VERSION)
    index_key = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=_canonical(b"continuum:blind-index", purpose.encode()),
    ).derive(base.key)
    digest = hmac.new(index_key, normalise_for_index(value).encode(), hashlib.sha256).digest()
    return digest[:BLIND_INDEX_BYTES].hex()
