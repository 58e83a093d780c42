"""Case records that guard themselves, on SQLite and PostgreSQL: consent records are never
edited (the ORM guard, then the database, refuse) and a withdrawal works forward from its date;
an encrypted field is bound to its charity, table, column and row, and stays readable after the
charity's key is rotated while new fields use the new key."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from app.domain.errors import Conflict
from app.domain.people import PersonDetails
from app.domain.vocabulary import ConsentDecision, ConsentMethod, ConsentVerification
from app.models import CaseStatus, ConsentRecord
from app.security.keyring import FieldDecryptionError
from app.services.cases.casework import add_note
from app.services.cases.consent_withdrawal import withdraw_consent
from app.services.cases.consents import consent_receipt
from app.services.cases.family_file import read_family
from app.services.cases.referrals import open_case
from app.services.cases.search import find_cases
from app.services.platform.keys import rotate_charity_key
from app.services.platform.vault import vault_for
from tenants.context import AppendOnlyWrite
from tests.support.cases import TODAY, give_consent, person_of


@pytest.fixture
def lpi(world) -> uuid.UUID:
    return world.cases[("pops", "LPI")]


# --- consent records are never edited ----------------------------------------------------------


@pytest.mark.parametrize("change", ["edit", "delete"])
def test_a_consent_record_cannot_be_edited_or_deleted_through_the_orm(change, desk, lpi):
    worker = desk("pops_liverpool")
    consent = give_consent(worker, lpi)
    with worker.session() as session:
        record = session.get_one(ConsentRecord, consent.id)
        if change == "edit":
            record.categories = "identity,notes"
        else:
            session.delete(record)
        with pytest.raises(AppendOnlyWrite):
            session.flush()
    with worker.session() as session:
        assert session.get_one(ConsentRecord, consent.id).categories == "identity"


@pytest.mark.parametrize(
    "statement", ["UPDATE consents SET method = 'written'", "DELETE FROM consents"]
)
def test_the_database_refuses_to_change_a_consent_past_the_orm(statement, desk, backend, lpi):
    """SQLite by trigger, PostgreSQL because the app role has no UPDATE or DELETE grant."""
    worker = desk("pops_liverpool")
    give_consent(worker, lpi)
    refusal = {"sqlite": "never edited", "postgresql": "permission denied"}[backend]
    with worker.session() as session:
        with pytest.raises(DBAPIError, match=refusal):
            session.execute(text(statement))
        session.rollback()
        assert session.scalars(select(ConsentRecord.method)).all() == ["verbal"]


# SQLite only: there the owner and the app share one file, so the trigger is the guard. On
# PostgreSQL the app role lacks the grant (tests/postgres/test_casework_grants.py).
@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "statement", ["UPDATE consents SET method = 'written'", "DELETE FROM consents"]
)
def test_on_sqlite_even_the_owner_connection_cannot_change_a_consent(
    statement, desk, backend, owner_sessions, lpi
):
    give_consent(desk("pops_liverpool"), lpi)
    with owner_sessions() as session:
        with pytest.raises(DBAPIError, match="never edited"):
            session.execute(text(statement))
        session.rollback()
        assert session.scalars(select(ConsentRecord.method)).all() == ["verbal"]


def test_a_withdrawal_works_forward_from_its_date_and_leaves_the_consent_as_given(desk, lpi):
    given_on, withdrawn_on = TODAY - timedelta(days=30), TODAY - timedelta(days=10)
    consent = give_consent(desk("pops_liverpool", given_on), lpi)
    worker = desk("pops_liverpool")
    worker.do(
        withdraw_consent,
        lpi,
        consent.id,
        method=ConsentMethod.WRITTEN,
        verification=ConsentVerification.SIGNED_FORM,
        withdrawn_on=withdrawn_on,
    )
    states = {
        day: worker.at(day).do(consent_receipt, lpi, consent.id).state
        for day in (withdrawn_on - timedelta(days=1), withdrawn_on, TODAY)
    }
    assert states == {
        withdrawn_on - timedelta(days=1): "active",
        withdrawn_on: "withdrawn",
        TODAY: "withdrawn",
    }
    assert worker.do(consent_receipt, lpi, consent.id).withdrawn_on == withdrawn_on
    with worker.session() as session:
        records = {r.id: r for r in session.scalars(select(ConsentRecord))}
    assert records[consent.id].decision == "given"
    (withdrawal,) = (r for r in records.values() if r.id != consent.id)
    assert (withdrawal.decision, withdrawal.withdraws_id) == ("withdrawn", consent.id)
    # The family page shows both records as withdrawn: the record of a withdrawal is no consent.
    shown = {view.id: view.state for view in worker.do(read_family, lpi).consents}
    assert shown == {consent.id: "withdrawn", withdrawal.id: "withdrawn"}
    with pytest.raises(Conflict):
        worker.do(
            withdraw_consent,
            lpi,
            consent.id,
            method=ConsentMethod.VERBAL,
            verification=ConsentVerification.NONE,
        )


def test_a_given_contact_consent_makes_a_referred_case_active_and_a_refusal_does_not(desk):
    worker = desk("pops_liverpool")
    case = worker.do(open_case, prison_code="LPI", person=PersonDetails("Ann Example", "C3456DE"))
    assert case.status == CaseStatus.REFERRED.value
    give_consent(worker, case.id, decision=ConsentDecision.REFUSED)
    assert worker.do(read_family, case.id).case.status == CaseStatus.REFERRED.value
    give_consent(worker, case.id)
    assert worker.do(read_family, case.id).case.status == CaseStatus.ACTIVE.value


# --- encryption binding and rotation -----------------------------------------------------------


def _key_version(blob: bytes) -> int:
    # app.security.keyring: one format byte, then the data key version in four bytes.
    return int.from_bytes(blob[1:5], "big")


def test_a_name_copied_to_another_person_of_the_same_charity_does_not_open(desk, world):
    manager = desk("pops_manager")
    lpi, wdi = world.cases[("pops", "LPI")], world.cases[("pops", "WDI")]
    with manager.session() as session:
        person_of(session, wdi).name_enc = person_of(session, lpi).name_enc
        session.commit()
    with manager.session() as session:
        vault = vault_for(session, manager.root)
        assert vault.open(person_of(session, lpi), "name") == world.people[("pops", "LPI")][1]
        with pytest.raises(FieldDecryptionError):
            vault.open(person_of(session, wdi), "name")


def test_a_field_moved_to_another_column_of_its_own_row_does_not_open(desk, lpi):
    worker = desk("pops_liverpool")
    with worker.session() as session:
        person = person_of(session, lpi)
        person.prison_number_enc = person.name_enc
        session.commit()
        with pytest.raises(FieldDecryptionError):
            vault_for(session, worker.root).open(person, "prison_number")


def test_a_name_copied_to_another_charitys_row_does_not_open_there(desk, world, lpi):
    pops, nepacs = desk("pops_liverpool"), desk("nepacs_durham")
    with pops.session() as session:
        stolen = person_of(session, lpi).name_enc
    dmi = world.cases[("nepacs", "DMI")]
    with nepacs.session() as session:
        person_of(session, dmi).name_enc = stolen
        session.commit()
    with nepacs.session() as session, pytest.raises(FieldDecryptionError):
        vault_for(session, nepacs.root).open(person_of(session, dmi), "name")


def test_after_rotation_old_fields_read_and_new_ones_use_the_new_key(
    desk, app_sessions, world, lpi
):
    worker = desk("pops_liverpool")
    old_note = worker.do(add_note, lpi, body="Before rotation.")
    assert _key_version(old_note.body_enc) == 1
    with app_sessions() as session:
        assert rotate_charity_key(session, worker.root, worker.context.charity_id) == 2
    new_note = worker.do(add_note, lpi, body="After rotation.")
    assert _key_version(new_note.body_enc) == 2
    file = worker.do(read_family, lpi)
    assert file.person.name == world.people[("pops", "LPI")][1]
    assert {note.body for note in file.notes} == {"Before rotation.", "After rotation."}
    # The blind index is derived from version 1, so lookups by prison number still match.
    assert [s.case.id for s in worker.do(find_cases, "A1234BC")] == [lpi]
    # Another charity's key is untouched.
    dmi = world.cases[("nepacs", "DMI")]
    assert _key_version(desk("nepacs_durham").do(add_note, dmi, body="x").body_enc) == 1
