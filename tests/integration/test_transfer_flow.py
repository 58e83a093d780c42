"""The happy path of a transfer, end to end through the use cases, on both databases: a POPS
worker at Liverpool proposes and offers a family's case to NEPACS (Durham) with the family's
consent; a NEPACS manager accepts; the case continues at NEPACS and POPS keeps it read-only."""

from __future__ import annotations

from sqlalchemy import select

from app.domain.vocabulary import ConsentPurpose, DataCategory
from app.models import Case, CaseStatus, CaseTransfer, TransferOffer
from app.services import transfers
from app.services.platform.audit import verify
from tests.support.cases import give_consent


def test_pops_offer_with_consent_is_accepted_by_nepacs_and_the_case_continues_there(
    desk, world, owner_sessions
):
    worker, manager = desk("pops_liverpool"), desk("nepacs_manager")
    case_id = world.cases[("pops", "LPI")]
    give_consent(
        worker,
        case_id,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations["nepacs"],
        categories=frozenset({DataCategory.IDENTITY, DataCategory.NEEDS}),
    )
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    offered = worker.do(transfers.offer_transfer, proposed.id)
    assert offered.state == "offered"
    accepted = manager.do(transfers.accept_transfer, offered.id, idempotency_key="k-1")
    with manager.session() as session:
        new_case = session.get_one(Case, accepted.case_id)
        assert new_case.transferred_from_charity_id == world.organisations["pops"]
        assert new_case.status == CaseStatus.ACTIVE.value
        offer = session.scalar(select(TransferOffer))
        assert offer is not None and offer.package_enc is None
    with worker.session() as session:
        assert session.get_one(Case, case_id).status == CaseStatus.TRANSFERRED_OUT.value
        assert session.get_one(CaseTransfer, offered.id).state == "accepted"
    again = manager.do(transfers.accept_transfer, offered.id, idempotency_key="k-1")
    assert again.replayed and again.case_id == accepted.case_id
    with owner_sessions() as session:
        for slug in ("pops", "nepacs"):
            assert verify(session, str(world.organisations[slug])).ok
