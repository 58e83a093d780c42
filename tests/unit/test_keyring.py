"""The keyring: envelope encryption, field ciphertexts bound to their place, and blind indexes."""

from __future__ import annotations

import os
import stat
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.security.keyring import (
    DataKey,
    FieldDecryptionError,
    Keyring,
    KeyUnwrapError,
    LocalRootKey,
    MemoryKeyStore,
    WrappedDataKey,
    blind_index,
    data_key_context,
    decrypt_field,
    encrypt_field,
)

NEPACS = uuid.UUID("00000000-0000-4000-8000-00000000000a")
POPS = uuid.UUID("00000000-0000-4000-8000-00000000000b")
ROW = uuid.UUID("00000000-0000-4000-8000-000000000001")
OTHER_ROW = uuid.UUID("00000000-0000-4000-8000-000000000002")
SECRET = "Jane Doe, A1234BC"


def _root() -> LocalRootKey:
    return LocalRootKey(os.urandom(32))


def _keyring(store: MemoryKeyStore | None = None, root: LocalRootKey | None = None) -> Keyring:
    keyring = Keyring(root or _root(), store if store is not None else MemoryKeyStore())
    keyring.ensure_key(NEPACS)
    keyring.ensure_key(POPS)
    return keyring


def _encrypt(keyring: Keyring, plaintext: str = SECRET) -> bytes:
    return encrypt_field(keyring, NEPACS, "family_member", "full_name", ROW, plaintext)


def _decrypt(keyring: Keyring, blob: bytes) -> str:
    return decrypt_field(keyring, NEPACS, "family_member", "full_name", ROW, blob)


def test_field_round_trips_and_ciphertext_hides_plaintext():
    keyring = _keyring()
    blob = _encrypt(keyring)
    assert SECRET.encode() not in blob
    assert _decrypt(keyring, blob) == SECRET


def test_same_plaintext_encrypts_differently_each_time():
    keyring = _keyring()
    assert _encrypt(keyring) != _encrypt(keyring)


@pytest.mark.parametrize(
    ("charity_id", "table", "column", "row_id"),
    [
        pytest.param(NEPACS, "family_member", "full_name", OTHER_ROW, id="another-row"),
        pytest.param(NEPACS, "family_member", "notes", ROW, id="another-column"),
        pytest.param(NEPACS, "prisoner", "full_name", ROW, id="another-table"),
        pytest.param(POPS, "family_member", "full_name", ROW, id="another-charity"),
    ],
)
def test_ciphertext_copied_elsewhere_fails_to_decrypt(charity_id, table, column, row_id):
    keyring = _keyring()
    blob = _encrypt(keyring)
    with pytest.raises(FieldDecryptionError) as raised:
        decrypt_field(keyring, charity_id, table, column, row_id, blob)
    assert SECRET not in str(raised.value)


def test_ciphertext_moved_to_charity_with_same_key_material_still_fails():
    # The associated data binds the charity even if two charities' keys were ever equal.
    store = MemoryKeyStore()
    root = _root()
    keyring = _keyring(store, root)
    blob = _encrypt(keyring)
    shared = keyring.current(NEPACS).key
    context = data_key_context(POPS, 1)
    store.replace(WrappedDataKey(POPS, 1, root.wrap(shared, context)))
    with pytest.raises(FieldDecryptionError):
        decrypt_field(Keyring(root, store), POPS, "family_member", "full_name", ROW, blob)


def test_every_tampered_byte_fails_to_decrypt():
    keyring = _keyring()
    blob = _encrypt(keyring)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(FieldDecryptionError):
            _decrypt(keyring, bytes(tampered))


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02" + bytes(40)], ids=["empty", "short", "v2"])
def test_malformed_blob_fails_to_decrypt(blob):
    with pytest.raises(FieldDecryptionError):
        _decrypt(_keyring(), blob)


def test_rotation_keeps_old_data_readable_and_writes_new_data_under_new_version():
    keyring = _keyring()
    old_blob = _encrypt(keyring, "before rotation")
    assert keyring.rotate(NEPACS).version == 2
    new_blob = _encrypt(keyring, "after rotation")
    assert int.from_bytes(old_blob[1:5], "big") == 1
    assert int.from_bytes(new_blob[1:5], "big") == 2
    assert keyring.current(NEPACS).version == 2
    assert keyring.version(NEPACS, 1) != keyring.version(NEPACS, 2)
    assert _decrypt(keyring, old_blob) == "before rotation"
    assert _decrypt(keyring, new_blob) == "after rotation"


def test_rotation_of_one_charity_leaves_the_other_on_its_version():
    keyring = _keyring()
    keyring.rotate(NEPACS)
    assert keyring.current(POPS).version == 1


def test_ensure_key_twice_keeps_version_one():
    keyring = _keyring()
    first = keyring.current(NEPACS)
    assert keyring.ensure_key(NEPACS) == first


def _wrappings(store: MemoryKeyStore) -> dict[tuple[uuid.UUID, int], bytes]:
    return {
        (key.charity_id, key.version): key.wrapped
        for charity_id in store.charity_ids()
        for key in store.wrapped_keys(charity_id)
    }


def test_rewrap_under_new_root_keeps_data_readable_and_old_root_cannot_unwrap():
    store = MemoryKeyStore()
    old_root, new_root = _root(), _root()
    keyring = _keyring(store, old_root)
    v1_blob = _encrypt(keyring, "under version 1")
    keyring.rotate(NEPACS)
    v2_blob = _encrypt(keyring, "under version 2")
    before = _wrappings(store)

    assert keyring.rewrap_all(new_root) == 3

    after = _wrappings(store)
    assert after.keys() == before.keys()
    assert all(after[slot] != before[slot] for slot in before)
    for reader in (keyring, Keyring(new_root, store)):
        assert _decrypt(reader, v1_blob) == "under version 1"
        assert _decrypt(reader, v2_blob) == "under version 2"
    stale = Keyring(old_root, store)
    with pytest.raises(KeyUnwrapError):
        stale.current(NEPACS)
    with pytest.raises(FieldDecryptionError):
        _decrypt(stale, v1_blob)


def test_key_rotated_after_rewrap_is_wrapped_under_the_new_root():
    store = MemoryKeyStore()
    new_root = _root()
    keyring = _keyring(store)
    keyring.rewrap_all(new_root)
    keyring.rotate(POPS)
    assert Keyring(new_root, store).current(POPS).version == 2


def test_rewrap_with_wrong_old_root_changes_nothing():
    store = MemoryKeyStore()
    _keyring(store, _root())
    before = _wrappings(store)
    with pytest.raises(KeyUnwrapError):
        Keyring(_root(), store).rewrap_all(_root())
    assert _wrappings(store) == before


def test_wrapped_key_swapped_between_charities_fails_to_unwrap():
    store = MemoryKeyStore()
    root = _root()
    _keyring(store, root)
    nepacs_wrapped = store.wrapped_keys(NEPACS)[0]
    store.replace(WrappedDataKey(POPS, 1, nepacs_wrapped.wrapped))
    with pytest.raises(KeyUnwrapError):
        Keyring(root, store).current(POPS)


def test_blind_index_is_stable_across_rotation():
    keyring = _keyring()
    before = blind_index(keyring, NEPACS, "prison_number", "A1234BC")
    keyring.rotate(NEPACS)
    assert blind_index(keyring, NEPACS, "prison_number", "A1234BC") == before


def test_blind_index_ignores_case_and_spaces():
    keyring = _keyring()
    index = blind_index(keyring, NEPACS, "prison_number", "a1234bc")
    assert index == blind_index(keyring, NEPACS, "prison_number", " A1234BC ")
    assert index == blind_index(keyring, NEPACS, "prison_number", "A1 234 BC")
    assert len(index) == 32
    int(index, 16)


def test_blind_index_differs_between_charities_purposes_and_values():
    keyring = _keyring()
    index = blind_index(keyring, NEPACS, "prison_number", "A1234BC")
    assert index != blind_index(keyring, POPS, "prison_number", "A1234BC")
    assert index != blind_index(keyring, NEPACS, "phone", "A1234BC")
    assert index != blind_index(keyring, NEPACS, "prison_number", "A1234BD")


def test_local_root_key_file_is_created_private_and_reused(tmp_path):
    path = tmp_path / "root.key"
    first = LocalRootKey.from_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    content = path.read_bytes()
    second = LocalRootKey.from_file(path)
    assert path.read_bytes() == content
    context = b"ctx"
    assert second.unwrap(first.wrap(b"k" * 32, context), context) == b"k" * 32


def test_local_root_key_file_of_wrong_length_is_refused(tmp_path):
    path = tmp_path / "root.key"
    path.write_bytes(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        LocalRootKey.from_file(path)


def test_data_key_repr_hides_the_key():
    key = bytes(range(32))
    shown = repr(DataKey(NEPACS, 1, key))
    assert key.hex() not in shown
    assert repr(key) not in shown
    assert "key=" not in shown
    assert "version=1" in shown


def test_root_key_repr_hides_the_key():
    key = bytes(range(32))
    assert repr(key) not in repr(LocalRootKey(key))


_PROPERTY_KEYRING = _keyring()


@settings(database=None, deadline=None)
@given(st.text())
def test_any_text_round_trips(plaintext):
    blob = _encrypt(_PROPERTY_KEYRING, plaintext)
    assert _decrypt(_PROPERTY_KEYRING, blob) == plaintext
