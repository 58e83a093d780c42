"""Charities' data keys in the database: set up, rotated, and bound to their charity."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text

from app.models import DataKeyRecord
from app.security.keyring import (
    FieldDecryptionError,
    KeyUnwrapError,
    LocalRootKey,
    decrypt_field,
    encrypt_field,
)
from app.services.platform.keys import SqlKeyStore, ensure_charity_keys, keyring
from app.services.platform.reference import ensure_organisation
from tenants.permissions import OrganisationKind


@pytest.fixture
def root(app):
    return LocalRootKey.from_file(app.extensions["continuum"].settings.effective_root_key_file)


def _invoke(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_every_charity_gets_a_first_key_once_and_the_root_key_file_is_private(
    app, app_sessions, owner_sessions, world, root
):
    with owner_sessions() as session:
        ensure_organisation(session, "jigsaw", "Jigsaw", OrganisationKind.CHARITY)
        session.commit()
    with app_sessions() as session:
        # The world's charities were keyed when it was built; the new one is keyed now.
        assert ensure_charity_keys(session, root) == 1
        assert ensure_charity_keys(session, root) == 0
        store = SqlKeyStore(session)
        assert [k.version for k in store.wrapped_keys(world.organisations["pops"])] == [1]
        # Only charities own case data, so only charities have data keys.
        assert store.wrapped_keys(world.organisations["ministry"]) == []
    key_file = app.extensions["continuum"].settings.effective_root_key_file
    assert key_file.stat().st_mode & 0o077 == 0


def test_the_database_holds_no_data_key_in_clear(app_sessions, world, root):
    with app_sessions() as session:
        ensure_charity_keys(session, root)
        raw = keyring(session, root).current(world.organisations["pops"]).key
        stored = session.scalars(select(DataKeyRecord.wrapped)).all()
    assert all(raw not in wrapped for wrapped in stored)


def test_rotation_by_cli_keeps_old_fields_readable_and_writes_new_ones_under_the_new_key(
    app, app_sessions, world, root
):
    pops = world.organisations["pops"]
    row = uuid.uuid4()
    with app_sessions() as session:
        ensure_charity_keys(session, root)
        old = encrypt_field(keyring(session, root), pops, "people", "name", row, "Test Person")
    assert "pops: data key version 2 is now current" in _invoke(
        app, "keys", "rotate", "--charity", "pops"
    )
    with app_sessions() as session:
        ring = keyring(session, root)
        assert decrypt_field(ring, pops, "people", "name", row, old) == "Test Person"
        new = encrypt_field(ring, pops, "people", "name", row, "Test Person")
        assert int.from_bytes(new[1:5], "big") == 2
        assert decrypt_field(ring, pops, "people", "name", row, new) == "Test Person"
    status = _invoke(app, "keys", "status")
    assert "pops: version 2 current" in status and "nepacs: version 1 current" in status


def test_a_field_encrypted_for_one_charity_does_not_open_for_another(app_sessions, world, root):
    pops, nepacs = world.organisations["pops"], world.organisations["nepacs"]
    row = uuid.uuid4()
    with app_sessions() as session:
        ensure_charity_keys(session, root)
        ring = keyring(session, root)
        blob = encrypt_field(ring, pops, "people", "name", row, "Test Person")
        with pytest.raises(FieldDecryptionError):
            decrypt_field(ring, nepacs, "people", "name", row, blob)


def test_a_wrapped_key_copied_to_another_charity_does_not_unwrap(
    app_sessions, owner_sessions, world, root
):
    pops, nepacs = world.organisations["pops"], world.organisations["nepacs"]
    with app_sessions() as session:
        ensure_charity_keys(session, root)
    with owner_sessions() as session:
        # What someone with write access to the database could try: give NEPACS POPS's key.
        session.execute(
            text(
                "UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE charity_id = :p) "
                "WHERE charity_id = :n"
            ),
            {
                "p": pops if session.get_bind().dialect.name == "postgresql" else pops.hex,
                "n": nepacs if session.get_bind().dialect.name == "postgresql" else nepacs.hex,
            },
        )
        session.commit()
    with app_sessions() as session, pytest.raises(KeyUnwrapError):
        keyring(session, root).current(nepacs)


def test_rotating_an_unknown_or_non_charity_organisation_is_refused(app):
    for slug in ("nobody", "ministry"):
        result = app.test_cli_runner().invoke(args=["keys", "rotate", "--charity", slug])
        assert result.exit_code != 0
        assert "--charity" in result.output
