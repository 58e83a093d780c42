"""The transfer package names its people by references that mean something only inside that
package (issue 13, item 6): the receiving charity never learns the sender's member ids, through
the use case, the API or the web page, and still lands each consent on the member it is for.

The sender's ids are random UUIDs that 404 anywhere else, but they are the sender's identifiers:
a receiver holding them could link two packages about the same person, or name a record to the
sender in a way the sender never chose to publish.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy import select

from app.domain.vocabulary import ConsentSubject, DataCategory
from app.models import ConsentRecord, FamilyMember, TransferOffer
from app.services import transfers
from app.services.platform.vault import vault_for
from app.services.transfers import views
from app.services.transfers.package import open_offer, seal_offer
from tests.support.transfers import offered_transfer, transfer_consent
from tests.support.worked_family import CHILD_NAME, GRANDMOTHER, PARTNER, WorkedFamily

IDENTITY = DataCategory.IDENTITY
EVERYTHING = (
    IDENTITY,
    DataCategory.CONTACT_DETAILS,
    DataCategory.CHILDREN,
    DataCategory.NEEDS,
    DataCategory.CONTACTS,
    DataCategory.NOTES,
)


def _sender_member_ids(desk, family: WorkedFamily) -> list[uuid.UUID]:
    """Every member id of the sender's family, the main contact from the world included."""
    with desk("pops_liverpool").session() as session:
        family_id = session.scalar(
            select(FamilyMember.family_id).where(FamilyMember.id == family.partner)
        )
        return list(
            session.scalars(select(FamilyMember.id).where(FamilyMember.family_id == family_id))
        )


def _everyone_consents(desk, world, family: WorkedFamily) -> None:
    """Both adults and, through the grandmother, the child: consents that point at members."""
    worker = desk("pops_liverpool")
    for adult in (family.grandmother, family.partner):
        transfer_consent(
            worker,
            world,
            family.case_id,
            *EVERYTHING,
            subject=ConsentSubject.FAMILY_MEMBER,
            family_member_id=adult,
        )
    transfer_consent(
        worker,
        world,
        family.case_id,
        IDENTITY,
        subject=ConsentSubject.FAMILY_MEMBER,
        family_member_id=family.child,
        given_by_member_id=family.grandmother,
    )


def _sender_ids_in(text: str, ids: list[uuid.UUID]) -> list[str]:
    """The sender's ids found in ``text``, in any of the spellings a UUID has."""
    found = []
    lowered = text.lower()
    for member_id in ids:
        for spelling in (str(member_id), member_id.hex):
            if spelling in lowered:
                found.append(spelling)
    return found


def test_nepacs_sees_no_pops_member_id_through_the_service_the_api_or_the_page(
    desk, world, family, app, bearer, signed_in
):
    _everyone_consents(desk, world, family)
    offered = offered_transfer(desk("pops_liverpool"), world, *EVERYTHING)
    ids = _sender_member_ids(desk, family)
    assert len(ids) == 3  # two adults and a child

    package = desk("nepacs_manager").do(views.read_transfer, offered.id).package
    assert package is not None
    text = json.dumps(package)
    # The package does name the people, so it could have named their ids.
    assert GRANDMOTHER[0] in text and PARTNER[0] in text and CHILD_NAME in text
    assert _sender_ids_in(text, ids) == []

    page = signed_in("nepacs_manager").get(f"/transfers/{offered.id}")
    assert page.status_code == 200
    assert GRANDMOTHER[0] in page.text
    assert _sender_ids_in(page.text, ids) == []

    response = app.test_client().get(
        f"/api/v1/transfers/{offered.id}", headers=bearer("nepacs_manager")
    )
    assert response.status_code == 200, response.text
    assert len(response.get_json()["package"]["members"]) == 3
    assert _sender_ids_in(response.text, ids) == []


def test_every_consent_in_the_package_points_at_a_member_of_the_package(desk, world, family):
    _everyone_consents(desk, world, family)
    offered = offered_transfer(desk("pops_liverpool"), world, *EVERYTHING)
    package = desk("nepacs_manager").do(views.read_transfer, offered.id).package
    refs = {m["ref"] for m in package["members"]}
    assert len(refs) == len(package["members"]) == 3
    pointed = [c["ref"] for c in package["consents"]] + [
        c["given_by_ref"] for c in package["consents"]
    ]
    assert {r for r in pointed if r is not None} <= refs
    # Short, opaque and the package's own: nothing in a ref is shaped like a UUID.
    for ref in refs:
        assert re.fullmatch(r"m[0-9a-f]{16}", ref), ref


def test_nepacs_case_keeps_each_consent_with_the_member_it_is_for(desk, world, family):
    _everyone_consents(desk, world, family)
    offered = offered_transfer(desk("pops_liverpool"), world, *EVERYTHING)
    manager = desk("nepacs_manager")
    accepted = manager.do(transfers.accept_transfer, offered.id)
    with manager.session() as session:
        vault = vault_for(session, manager.root)
        members = {m.id: vault.open(m, "name") for m in session.scalars(select(FamilyMember))}
        landed = session.scalars(
            select(ConsentRecord).where(ConsentRecord.case_id == accepted.case_id)
        ).all()
        said = sorted(
            (
                members.get(c.family_member_id, "") if c.family_member_id else "",
                members.get(c.given_by_member_id, "") if c.given_by_member_id else "",
            )
            for c in landed
            if c.purpose == "transfer"
        )
    assert said == sorted(
        [
            ("", ""),  # the person in custody's own
            (GRANDMOTHER[0], ""),
            (PARTNER[0], ""),
            (CHILD_NAME, GRANDMOTHER[0]),
        ]
    )


def test_two_offers_of_the_same_family_give_the_same_person_different_refs(desk, world, family):
    """A ref means something inside one package only: two packages cannot be linked by it."""
    _everyone_consents(desk, world, family)
    worker = desk("pops_liverpool")
    first = offered_transfer(worker, world, *EVERYTHING)
    refs_first = _refs_by_name(desk, first.id)
    worker.do(transfers.cancel_transfer, first.id, reason=_a_reason())
    second = offered_transfer(worker, world, *EVERYTHING)
    refs_second = _refs_by_name(desk, second.id)
    assert set(refs_first) == set(refs_second) == {GRANDMOTHER[0], PARTNER[0], CHILD_NAME}
    assert all(refs_first[name] != refs_second[name] for name in refs_first)


def _refs_by_name(desk, transfer_id: uuid.UUID) -> dict[str, str]:
    package = desk("nepacs_manager").do(views.read_transfer, transfer_id).package
    return {m["name"]: m["ref"] for m in package["members"]}


def _a_reason() -> Any:
    from app.domain.transfers.machine import TransferReason

    return next(iter(TransferReason))


# --- a package stored before this change -------------------------------------------------------


def _as_stored_before(desk, transfer_id: uuid.UUID) -> dict[str, str]:
    """Rewrite the offer's package as the old code sealed it: refs were the sender's member ids.
    Returns the old ref of each member, by name."""
    manager = desk("nepacs_manager")
    with manager.session() as session:
        vault = vault_for(session, manager.root)
        offer = session.scalar(
            select(TransferOffer).where(TransferOffer.transfer_id == transfer_id)
        )
        package = open_offer(vault, offer)
        old = {m["ref"]: str(uuid.uuid4()) for m in package["members"]}
        package.pop("refs", None)
        for member in package["members"]:
            member["ref"] = old[member["ref"]]
        for consent in package["consents"]:
            for key in ("ref", "given_by_ref"):
                consent[key] = old.get(consent[key]) if consent[key] else None
        seal_offer(vault, offer, package)
        session.commit()
        return {m["name"]: m["ref"] for m in package["members"]}


def test_an_offer_stored_before_the_change_shows_no_old_ref_and_lands_whole(desk, world, family):
    _everyone_consents(desk, world, family)
    offered = offered_transfer(desk("pops_liverpool"), world, *EVERYTHING)
    old_refs = _as_stored_before(desk, offered.id)
    manager = desk("nepacs_manager")
    package = manager.do(views.read_transfer, offered.id).package
    text = json.dumps(package)
    assert GRANDMOTHER[0] in text
    assert [ref for ref in old_refs.values() if ref in text] == []
    accepted = manager.do(transfers.accept_transfer, offered.id)
    with manager.session() as session:
        vault = vault_for(session, manager.root)
        landed = session.scalars(
            select(ConsentRecord).where(
                ConsentRecord.case_id == accepted.case_id, ConsentRecord.purpose == "transfer"
            )
        ).all()
        names = {m.id: vault.open(m, "name") for m in session.scalars(select(FamilyMember))}
        assert sorted(
            (names.get(c.family_member_id, ""), names.get(c.given_by_member_id, "")) for c in landed
        ) == sorted(
            [("", ""), (GRANDMOTHER[0], ""), (PARTNER[0], ""), (CHILD_NAME, GRANDMOTHER[0])]
        )
