"""The process's cache of unwrapped data keys (issue 13): a read opens fields without fetching
and unwrapping the charity's key each time, yet an entry expires by the app's clock, a rotation
through the process drops the charity's keys, and one root is never served another's key."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.security.key_cache import DATA_KEY_MAX_AGE, CachedKeyring, DataKeyCache
from app.security.keyring import (
    FieldDecryptionError,
    LocalRootKey,
    MemoryKeyStore,
    WrappedDataKey,
    decrypt_field,
    encrypt_field,
)

CHARITY = uuid.UUID("5b0c7a52-29f2-4a4e-9a55-0d8f1c3f0a01")
ROW = uuid.UUID("0e1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b")
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class CountingStore(MemoryKeyStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def wrapped_keys(self, charity_id: uuid.UUID) -> list[WrappedDataKey]:
        self.reads += 1
        return super().wrapped_keys(charity_id)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def world():
    root, store, clock, cache = LocalRootKey(b"r" * 32), CountingStore(), Clock(), DataKeyCache()
    CachedKeyring(root, store, clock, cache).ensure_key(CHARITY)

    def ring(with_root: LocalRootKey = root) -> CachedKeyring:
        # A keyring per unit of work, as app.services.platform.keys.keyring makes one per request.
        return CachedKeyring(with_root, store, clock, cache)

    blob = encrypt_field(ring(), CHARITY, "contacts", "summary", ROW, "visit went well")
    return root, store, clock, ring, blob


def test_reads_after_the_first_open_fields_without_fetching_the_key_again(world):
    _root, store, _clock, ring, blob = world
    assert decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, blob) == "visit went well"
    reads = store.reads
    for _ in range(3):
        assert decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, blob) == "visit went well"
    assert store.reads == reads


def test_a_cached_key_expires_by_the_app_clock(world):
    _root, store, clock, ring, blob = world
    decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, blob)
    reads = store.reads
    clock.now = START + DATA_KEY_MAX_AGE + timedelta(seconds=1)
    decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, blob)
    assert store.reads == reads + 1


def test_a_rotation_through_the_process_drops_the_charitys_cached_keys(world):
    _root, store, _clock, ring, blob = world
    decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, blob)
    assert ring().rotate(CHARITY).version == 2
    reads = store.reads
    # The old version still opens its fields, read again from the store.
    assert decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, blob) == "visit went well"
    assert store.reads == reads + 1
    newer = encrypt_field(ring(), CHARITY, "contacts", "summary", ROW, "second visit")
    assert newer[1:5] == (2).to_bytes(4, "big")
    assert decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, newer) == "second visit"


def test_a_key_cached_under_one_root_is_never_served_under_another(world):
    _root, _store, _clock, ring, blob = world
    decrypt_field(ring(), CHARITY, "contacts", "summary", ROW, blob)
    with pytest.raises(FieldDecryptionError):
        decrypt_field(ring(LocalRootKey(b"x" * 32)), CHARITY, "contacts", "summary", ROW, blob)
