"""What crosses with a transfer, through the use cases on both databases (DESIGN.md section 6):
before accepting, NEPACS's manager reads only the categories the family consented to, and only
the people who consented (or children under the adults' "children" category); after accepting,
NEPACS's new case holds exactly that package, sealed under NEPACS's own key, and POPS keeps its
case read-only."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.domain.errors import Conflict
from app.domain.vocabulary import (
    ConsentSubject,
    ContactKind,
    DataCategory,
    Need,
)
from app.models import (
    ActionItem,
    Case,
    CaseNeed,
    CaseNote,
    CaseStatus,
    ConsentRecord,
    Contact,
    Family,
    FamilyMember,
    OutcomeAssessment,
    OutcomeScore,
    PersonInCustody,
)
from app.security.keyring import FieldDecryptionError, decrypt_field
from app.services import transfers
from app.services.cases import casework
from app.services.cases.scope import case_for_work
from app.services.platform.keys import keyring
from app.services.platform.vault import Vault, vault_for
from app.services.transfers import views
from tests.support.cases import TODAY, Desk
from tests.support.transfers import SENDER_CASE, offered_transfer, transfer_consent
from tests.support.worked_family import (
    ACTION_TEXT,
    CHILD_NAME,
    CONTACT_SUMMARY,
    GRANDMOTHER,
    NOTE_BODY,
    PARTNER,
    WorkedFamily,
)

IDENTITY = DataCategory.IDENTITY
# The package's key for each case-level category.
SECTIONS = {
    DataCategory.NEEDS: "needs",
    DataCategory.CONTACTS: "contacts",
    DataCategory.ASSESSMENTS: "assessments",
    DataCategory.ACTION_PLAN: "actions",
    DataCategory.NOTES: "notes",
}


def _member_consent(worker: Desk, world, family: WorkedFamily, who: uuid.UUID, *categories) -> None:
    transfer_consent(
        worker,
        world,
        family.case_id,
        *categories,
        subject=ConsentSubject.FAMILY_MEMBER,
        family_member_id=who,
    )


def _package_as_nepacs(desk, transfer_id) -> tuple[dict[str, Any], str]:
    detail = desk("nepacs_manager").do(views.read_transfer, transfer_id)
    assert detail.package is not None
    return detail.package, json.dumps(detail.package)


# --- before acceptance -------------------------------------------------------------------------


def test_nepacs_manager_sees_only_identity_when_that_is_all_the_family_agreed_to(
    desk, world, family
):
    offered = offered_transfer(desk("pops_liverpool"), world, IDENTITY)
    package, text = _package_as_nepacs(desk, offered.id)
    number, name = world.people[SENDER_CASE]
    assert (package["person"]["name"], package["person"]["prison_number"]) == (name, number)
    assert package["categories"] == []
    assert set(SECTIONS.values()).isdisjoint(package)
    assert "safeguarding" not in package["case"]
    assert package["members"] == []
    for secret in (CONTACT_SUMMARY, NOTE_BODY, ACTION_TEXT, *PARTNER, *GRANDMOTHER, CHILD_NAME):
        assert secret not in text
    detail = desk("nepacs_manager").do(views.read_transfer, offered.id)
    assert detail.offered_categories == ()
    assert detail.consents == ()  # the sender's per-person view never reaches the receiver


def test_nepacs_manager_sees_contacts_but_not_notes_when_contacts_were_agreed(desk, world, family):
    offered = offered_transfer(desk("pops_liverpool"), world, IDENTITY, DataCategory.CONTACTS)
    package, text = _package_as_nepacs(desk, offered.id)
    assert package["categories"] == ["contacts"]
    assert [c["summary"] for c in package["contacts"]] == [CONTACT_SUMMARY]
    assert set(package) & set(SECTIONS.values()) == {"contacts"}
    assert NOTE_BODY not in text and ACTION_TEXT not in text


@pytest.mark.parametrize("category", SECTIONS, ids=[c.value for c in SECTIONS])
def test_each_case_category_crosses_alone_when_it_alone_was_agreed(desk, world, family, category):
    offered = offered_transfer(desk("pops_liverpool"), world, IDENTITY, category)
    package, _ = _package_as_nepacs(desk, offered.id)
    assert package["categories"] == [category.value]
    assert set(package) & set(SECTIONS.values()) == {SECTIONS[category]}
    assert package[SECTIONS[category]]  # the sender's record of that kind is in it
    assert ("safeguarding" in package["case"]) == (category is DataCategory.NEEDS)


def test_an_adult_without_their_own_consent_is_left_out_of_the_package(desk, world, family):
    worker = desk("pops_liverpool")
    everything = (IDENTITY, DataCategory.CONTACT_DETAILS, DataCategory.CHILDREN)
    _member_consent(worker, world, family, family.grandmother, *everything)
    offered = offered_transfer(worker, world, IDENTITY, DataCategory.CHILDREN)
    package, text = _package_as_nepacs(desk, offered.id)
    members = {m["name"]: m for m in package["members"]}
    assert set(members) == {GRANDMOTHER[0], CHILD_NAME}
    assert members[GRANDMOTHER[0]]["phone"] == GRANDMOTHER[1]
    # The child goes under the adults' "children" category: identity only.
    assert "phone" not in members[CHILD_NAME]
    assert PARTNER[0] not in text and PARTNER[1] not in text and "pat@x.test" not in text


def test_an_adults_contact_details_go_only_under_their_own_consent(desk, world, family):
    worker = desk("pops_liverpool")
    _member_consent(worker, world, family, family.grandmother, IDENTITY)
    _member_consent(worker, world, family, family.partner, IDENTITY, DataCategory.CONTACT_DETAILS)
    offered = offered_transfer(worker, world, IDENTITY, DataCategory.CONTACT_DETAILS)
    package, text = _package_as_nepacs(desk, offered.id)
    members = {m["name"]: m for m in package["members"]}
    assert set(members) == {GRANDMOTHER[0], PARTNER[0]}
    assert GRANDMOTHER[1] not in text and "1 Gate Street" not in text
    assert members[PARTNER[0]]["phone"] == PARTNER[1]
    # No adult's consent included children's details: the child stays behind.
    assert CHILD_NAME not in text


# --- after acceptance --------------------------------------------------------------------------


def _landed(session, vault: Vault, case_id: uuid.UUID) -> dict[str, Any]:
    """The receiver's new case in the shape of a package (ids and references aside)."""
    case = session.get_one(Case, case_id)
    family = session.get_one(Family, case.family_id)
    person = session.get_one(PersonInCustody, family.person_in_custody_id)

    def rows(model, *where, order=()):
        return session.scalars(select(model).where(*where).order_by(*order)).all()

    assessments = rows(OutcomeAssessment, OutcomeAssessment.case_id == case.id)
    return {
        "person": {
            "name": vault.open(person, "name"),
            "prison_number": vault.open(person, "prison_number"),
            "date_of_birth": vault.open(person, "date_of_birth"),
        },
        "members": sorted(
            (
                m.kind,
                m.relationship,
                vault.open(m, "name"),
                vault.open(m, "phone"),
                vault.open(m, "address"),
            )
            for m in rows(FamilyMember, FamilyMember.family_id == family.id)
        ),
        "safeguarding": case.safeguarding,
        "needs": sorted(n.need for n in rows(CaseNeed, CaseNeed.case_id == case.id)),
        "contacts": [
            vault.open(c, "summary")
            for c in rows(Contact, Contact.case_id == case.id, order=(Contact.occurred_on,))
        ],
        "notes": [vault.open(n, "body") for n in rows(CaseNote, CaseNote.case_id == case.id)],
        "actions": [
            vault.open(a, "description") for a in rows(ActionItem, ActionItem.case_id == case.id)
        ],
        "assessments": [
            {
                s.area: s.score
                for s in rows(OutcomeScore, OutcomeScore.assessment_id == assessment.id)
            }
            for assessment in assessments
        ],
    }


def _expected(package: dict[str, Any]) -> dict[str, Any]:
    return {
        "person": {k: package["person"][k] for k in ("name", "prison_number", "date_of_birth")},
        "members": sorted(
            (m["kind"], m["relationship"], m["name"], m.get("phone"), m.get("address"))
            for m in package["members"]
        ),
        "safeguarding": package["case"].get("safeguarding", False),
        "needs": package.get("needs", []),
        "contacts": [c["summary"] for c in package.get("contacts", [])],
        "notes": [n["body"] for n in package.get("notes", [])],
        "actions": [a["description"] for a in package.get("actions", [])],
        "assessments": [a["scores"] for a in package.get("assessments", [])],
    }


def test_nepacs_case_after_acceptance_holds_exactly_the_package_under_its_own_key(
    desk, world, family, app
):
    worker, manager = desk("pops_liverpool"), desk("nepacs_manager")
    agreed = (IDENTITY, DataCategory.CONTACT_DETAILS, DataCategory.CHILDREN)
    _member_consent(worker, world, family, family.grandmother, *agreed, DataCategory.NEEDS)
    offered = offered_transfer(
        worker, world, IDENTITY, DataCategory.CHILDREN, DataCategory.NEEDS, DataCategory.CONTACTS
    )
    package, _ = _package_as_nepacs(desk, offered.id)
    accepted = manager.do(transfers.accept_transfer, offered.id)

    root = app.extensions["continuum"].root_key
    with manager.session() as session:
        vault = vault_for(session, root)
        landed = _landed(session, vault, accepted.case_id)
        assert landed == _expected(package)
        # What the family did not agree to, and who did not agree, stayed with POPS.
        assert landed["notes"] == [] and landed["actions"] == [] and landed["assessments"] == []
        assert landed["needs"] == [Need.VISITS.value] and landed["safeguarding"] is True
        assert PARTNER[0] not in {m[2] for m in landed["members"]}
        case = session.get_one(Case, accepted.case_id)
        assert (case.transfer_id, case.transferred_from_charity_id) == (
            offered.id,
            world.organisations["pops"],
        )
        consents = session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id))
        assert {c.recipient_charity_id for c in consents} == {world.organisations["nepacs"]}
        # Sealed under NEPACS's key, bound to NEPACS's row: it does not open as POPS's.
        person = session.get_one(
            PersonInCustody, session.get_one(Family, case.family_id).person_in_custody_id
        )
        assert person.name_enc is not None
        with pytest.raises(FieldDecryptionError):
            decrypt_field(
                keyring(session, root),
                world.organisations["pops"],
                "people_in_custody",
                "name",
                person.id,
                person.name_enc,
            )


def test_pops_case_after_acceptance_is_transferred_out_and_refuses_new_work(desk, world, family):
    worker = desk("pops_liverpool")
    offered = offered_transfer(worker, world, IDENTITY, DataCategory.NOTES)
    desk("nepacs_manager").do(transfers.accept_transfer, offered.id)
    with worker.session() as session:
        assert session.get_one(Case, family.case_id).status == CaseStatus.TRANSFERRED_OUT.value
        with pytest.raises(Conflict):
            case_for_work(session, worker.context, family.case_id)
    with pytest.raises(Conflict):
        worker.do(casework.add_note, family.case_id, body="After the move")
    with pytest.raises(Conflict):
        worker.do(casework.add_contact, family.case_id, kind=ContactKind.PHONE, occurred_on=TODAY)
    # The sender's own record is kept as it was: the note is still POPS's to read.
    with worker.session() as session:
        notes = session.scalars(select(CaseNote).where(CaseNote.case_id == family.case_id)).all()
        assert len(notes) == 1
        assert vault_for(session, worker.root).open(notes[0], "body") == NOTE_BODY


def test_a_day_in_the_package_survives_the_crossing(desk, world, family):
    """Dates cross as dates: the contact's day in NEPACS's case is the day POPS recorded."""
    worker = desk("pops_liverpool")
    offered = offered_transfer(worker, world, IDENTITY, DataCategory.CONTACTS)
    accepted = desk("nepacs_manager").do(transfers.accept_transfer, offered.id)
    with desk("nepacs_manager").session() as session:
        (contact,) = session.scalars(select(Contact).where(Contact.case_id == accepted.case_id))
        assert contact.occurred_on == TODAY - timedelta(days=7)
        assert isinstance(contact.occurred_on, date)
