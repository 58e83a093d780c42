"""The consent gate of a transfer, through the use cases on both databases (DESIGN.md sections 5
and 6): nothing crosses to NEPACS without the family's consent to this transfer, to NEPACS, in
force on the day; a consent that lapses or is withdrawn after the offer stops the acceptance, and a
withdrawal halts a live transfer in its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.domain.errors import NotFound, TransferConsentMissing, TransferRefused
from app.domain.people import MemberDetails
from app.domain.transfers.machine import TransferReason, TransferState
from app.domain.vocabulary import (
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    DataCategory,
    MemberKind,
    Relationship,
)
from app.models import Case, CaseStatus, CaseTransfer, CaseTransferStep, TransferOffer
from app.services import transfers
from app.services.cases.consent_withdrawal import withdraw_consent
from app.services.cases.family_file import add_member
from app.services.transfers import views
from tests.support.cases import TODAY, Desk, give_consent
from tests.support.transfers import (
    RECEIVING_PRISON,
    SENDER_CASE,
    chain_lengths,
    offered_transfer,
    row_counts,
    rows_of,
    transfer_consent,
)

IDENTITY = DataCategory.IDENTITY


@pytest.fixture
def case_id(world):
    return world.cases[SENDER_CASE]


def _withdraw(desk: Desk, case_id, consent_id) -> None:
    desk.do(
        withdraw_consent,
        case_id,
        consent_id,
        method=ConsentMethod.VERBAL,
        verification=ConsentVerification.NONE,
    )


def _state(desk: Desk, transfer_id) -> str:
    with desk.session() as session:
        return session.get_one(CaseTransfer, transfer_id).state


def _case_status(desk: Desk, case_id) -> str:
    with desk.session() as session:
        return session.get_one(Case, case_id).status


def _assert_nepacs_learned_nothing(desk, all_rows, world, transfer_id, chains_before) -> None:
    manager = desk("nepacs_manager")
    assert manager.do(views.list_transfers) == []
    with pytest.raises(NotFound):
        manager.do(views.read_transfer, transfer_id)
    with pytest.raises(NotFound):
        manager.do(transfers.accept_transfer, transfer_id)
    assert rows_of(all_rows, TransferOffer, TransferOffer.transfer_id == transfer_id) == []
    assert rows_of(all_rows, Case, Case.transfer_id == transfer_id) == []
    nepacs = world.organisations["nepacs"]
    assert chain_lengths(all_rows, world)["nepacs"] == chains_before["nepacs"]
    (row,) = rows_of(all_rows, CaseTransfer, CaseTransfer.id == transfer_id)
    assert row.receiver_charity_id == nepacs and not row.receiver_sees


# --- the offer ---------------------------------------------------------------------------------


def test_pops_offer_without_any_consent_is_refused_and_nepacs_learns_nothing(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    chains = chain_lengths(all_rows, world)
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)
    with pytest.raises(TransferConsentMissing):
        worker.do(transfers.offer_transfer, proposed.id)
    assert _state(worker, proposed.id) == TransferState.AWAITING_CONSENT.value
    assert _case_status(worker, case_id) == CaseStatus.ACTIVE.value
    _assert_nepacs_learned_nothing(desk, all_rows, world, proposed.id, chains)


def _for_pact(worker: Desk, world, case_id) -> Desk:
    transfer_consent(worker, world, case_id, IDENTITY, DataCategory.NEEDS, to="pact")
    return worker


def _to_contact(worker: Desk, world, case_id) -> Desk:
    give_consent(worker, case_id, purpose=ConsentPurpose.CONTACT)
    return worker


def _for_statistics(worker: Desk, world, case_id) -> Desk:
    give_consent(worker, case_id, purpose=ConsentPurpose.STATISTICS)
    return worker


def _expired_before_today(worker: Desk, world, case_id) -> Desk:
    transfer_consent(
        worker,
        world,
        case_id,
        valid_from=TODAY - timedelta(days=60),
        expires_on=TODAY - timedelta(days=1),
    )
    return worker


def _expired_by_the_day_of_the_offer(worker: Desk, world, case_id) -> Desk:
    transfer_consent(worker, world, case_id, expires_on=TODAY + timedelta(days=10))
    return worker.at(TODAY + timedelta(days=20))


def _withdrawn(worker: Desk, world, case_id) -> Desk:
    consent = transfer_consent(worker, world, case_id, IDENTITY, DataCategory.NEEDS)
    _withdraw(worker, case_id, consent.id)
    return worker


def _refused(worker: Desk, world, case_id) -> Desk:
    transfer_consent(worker, world, case_id, decision=ConsentDecision.REFUSED)
    return worker


def _without_identity(worker: Desk, world, case_id) -> Desk:
    transfer_consent(worker, world, case_id, DataCategory.NEEDS, DataCategory.CONTACTS)
    return worker


NOT_THIS_TRANSFER: dict[str, Callable[..., Desk]] = {
    "for_another_charity": _for_pact,
    "to_contact_the_family": _to_contact,
    "for_statistics": _for_statistics,
    "expired_before_today": _expired_before_today,
    "expired_by_the_day_of_the_offer": _expired_by_the_day_of_the_offer,
    "withdrawn": _withdrawn,
    "refused": _refused,
    "without_identity": _without_identity,
}


@pytest.mark.parametrize("consent", NOT_THIS_TRANSFER.values(), ids=NOT_THIS_TRANSFER.keys())
def test_pops_offer_is_refused_without_a_consent_to_this_transfer_today(
    desk, world, case_id, all_rows, consent
):
    worker = desk("pops_liverpool")
    offering = consent(worker, world, case_id)
    chains = chain_lengths(all_rows, world)
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)
    # Only the consent that lapses after the day of the proposal let it stand ready to offer.
    waiting = (
        TransferState.PROPOSED
        if consent is _expired_by_the_day_of_the_offer
        else TransferState.AWAITING_CONSENT
    )
    assert _state(worker, proposed.id) == waiting.value
    with pytest.raises(TransferConsentMissing):
        offering.do(transfers.offer_transfer, proposed.id)
    assert _state(worker, proposed.id) == waiting.value
    _assert_nepacs_learned_nothing(desk, all_rows, world, proposed.id, chains)


def test_pops_offer_with_a_consent_to_this_transfer_is_made(desk, world, case_id, all_rows):
    """The positive twin of the refusals above: the same steps with a valid consent do offer."""
    worker = desk("pops_liverpool")
    offered = offered_transfer(worker, world)
    assert offered.state == TransferState.OFFERED.value
    assert len(rows_of(all_rows, TransferOffer, TransferOffer.transfer_id == offered.id)) == 1
    assert [t.id for t in desk("nepacs_manager").do(views.list_transfers)] == [offered.id]


# --- between the offer and the acceptance --------------------------------------------------------


def _assert_nothing_landed(desk, all_rows, transfer_id, case_id) -> None:
    assert rows_of(all_rows, Case, Case.transfer_id == transfer_id) == []
    steps = rows_of(all_rows, CaseTransferStep, CaseTransferStep.transfer_id == transfer_id)
    assert TransferState.ACCEPTED.value not in {s.state for s in steps}
    assert _case_status(desk("pops_liverpool"), case_id) != CaseStatus.TRANSFERRED_OUT.value


def test_nepacs_accept_is_refused_once_the_consent_has_expired_since_the_offer(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    transfer_consent(worker, world, case_id, expires_on=TODAY + timedelta(days=3))
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)
    offered = worker.do(transfers.offer_transfer, proposed.id)
    with pytest.raises(TransferConsentMissing):
        desk("nepacs_manager", TODAY + timedelta(days=5)).do(transfers.accept_transfer, offered.id)
    _assert_nothing_landed(desk, all_rows, offered.id, case_id)
    assert _state(worker, offered.id) == TransferState.OFFERED.value
    assert _case_status(worker, case_id) == CaseStatus.TRANSFER_PENDING.value
    # Still within the consent, the same acceptance goes through: the lapse alone refused it.
    accepted = desk("nepacs_manager", TODAY + timedelta(days=3)).do(
        transfers.accept_transfer, offered.id
    )
    assert accepted.transfer.state == TransferState.ACCEPTED.value


def test_nepacs_accept_is_refused_once_the_consent_was_withdrawn_since_the_offer(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    consent = transfer_consent(worker, world, case_id, IDENTITY, DataCategory.NEEDS)
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)
    offered = worker.do(transfers.offer_transfer, proposed.id)
    _withdraw(worker, case_id, consent.id)
    with pytest.raises(TransferRefused):
        desk("nepacs_manager").do(transfers.accept_transfer, offered.id)
    _assert_nothing_landed(desk, all_rows, offered.id, case_id)


def test_withdrawal_after_the_offer_halts_the_transfer_in_its_own_transaction(
    desk, world, case_id, all_rows
):
    worker, manager = desk("pops_liverpool"), desk("nepacs_manager")
    consent = transfer_consent(worker, world, case_id, IDENTITY, DataCategory.NEEDS)
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)
    offered = worker.do(transfers.offer_transfer, proposed.id)
    assert [t.id for t in manager.do(views.list_transfers, open_only=True)] == [offered.id]

    commits: list[dict[str, int]] = []
    with worker.session() as session:
        commit = session.commit

        def counting_commit() -> None:
            session.flush()
            commits.append(row_counts(all_rows))  # what another connection sees before it
            commit()

        session.commit = counting_commit  # type: ignore[method-assign]
        withdraw_consent(
            session,
            worker.context,
            worker.origin,
            case_id,
            consent.id,
            method=ConsentMethod.WRITTEN,
            verification=ConsentVerification.SIGNED_FORM,
        )
    # One commit carried the withdrawal and the halt together: before it nothing of either
    # was visible to anyone else.
    assert len(commits) == 1
    (row,) = rows_of(all_rows, CaseTransfer, CaseTransfer.id == offered.id)
    assert row.state == TransferState.HALTED.value
    steps = rows_of(all_rows, CaseTransferStep, CaseTransferStep.transfer_id == offered.id)
    last = max(steps, key=lambda s: s.sequence)
    assert (last.state, last.reason) == ("halted", TransferReason.CONSENT_WITHDRAWN.value)
    assert commits[0]["case_transfer_steps"] == len(steps) - 1
    (offer,) = rows_of(all_rows, TransferOffer, TransferOffer.transfer_id == offered.id)
    assert offer.package_enc is None and offer.voided_at is not None
    assert _case_status(worker, case_id) == CaseStatus.ACTIVE.value
    assert manager.do(views.list_transfers, open_only=True) == []
    (seen,) = manager.do(views.list_transfers)
    assert seen.state is TransferState.HALTED and not seen.is_open
    assert manager.do(views.read_transfer, offered.id).package is None


def test_withdrawing_a_consent_the_transfer_does_not_rest_on_leaves_it_offered(
    desk, world, case_id
):
    worker = desk("pops_liverpool")
    other = give_consent(worker, case_id, purpose=ConsentPurpose.CONTACT)
    offered = offered_transfer(worker, world, IDENTITY)
    _withdraw(worker, case_id, other.id)
    assert _state(worker, offered.id) == TransferState.OFFERED.value


def test_receiver_sees_nothing_before_the_offer(desk, world, case_id):
    worker = desk("pops_liverpool")
    transfer_consent(worker, world, case_id, IDENTITY, DataCategory.NEEDS)
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)
    for key in ("nepacs_manager", "nepacs_durham", "pact_manager", "pops_wakefield"):
        reader = desk(key)
        assert reader.do(views.list_transfers) == [], key
        with pytest.raises(NotFound):
            reader.do(views.read_transfer, proposed.id)
        with reader.session() as session:
            assert session.get(CaseTransfer, proposed.id) is None
            assert session.scalars(select(CaseTransferStep)).all() == []


# --- an adult who goes with the offer ----------------------------------------------------------


def _with_grandmother(desk, world, case_id, **consent_overrides):
    """A grandmother with her own consent to the transfer, and the offer that carries her."""
    worker = desk("pops_liverpool")
    grandmother = worker.do(
        add_member,
        case_id,
        MemberDetails(
            kind=MemberKind.ADULT,
            relationship=Relationship.GRANDPARENT,
            name="Gwen Goeswith",
            phone="07700 900222",
        ),
    )
    theirs = transfer_consent(
        worker,
        world,
        case_id,
        IDENTITY,
        DataCategory.CONTACT_DETAILS,
        subject=ConsentSubject.FAMILY_MEMBER,
        family_member_id=grandmother.id,
        **consent_overrides,
    )
    offered = offered_transfer(worker, world, IDENTITY)
    package = desk("nepacs_manager").do(views.read_transfer, offered.id).package
    assert "Gwen Goeswith" in {m["name"] for m in package["members"]}
    return theirs, offered


def test_an_adults_withdrawal_after_the_offer_halts_it_though_the_person_in_custody_consents(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    theirs, offered = _with_grandmother(desk, world, case_id)
    _withdraw(worker, case_id, theirs.id)
    assert _state(worker, offered.id) == TransferState.HALTED.value
    (offer,) = rows_of(all_rows, TransferOffer, TransferOffer.transfer_id == offered.id)
    assert offer.package_enc is None
    with pytest.raises(TransferRefused):
        desk("nepacs_manager").do(transfers.accept_transfer, offered.id)
    _assert_nothing_landed(desk, all_rows, offered.id, case_id)


def test_nepacs_accept_is_refused_once_an_adults_consent_has_expired_since_the_offer(
    desk, world, case_id, all_rows
):
    _, offered = _with_grandmother(desk, world, case_id, expires_on=TODAY + timedelta(days=3))
    with pytest.raises(TransferConsentMissing):
        desk("nepacs_manager", TODAY + timedelta(days=5)).do(transfers.accept_transfer, offered.id)
    _assert_nothing_landed(desk, all_rows, offered.id, case_id)


def test_nepacs_accept_is_refused_once_the_family_narrowed_its_consent_since_the_offer(
    desk, world, case_id, all_rows
):
    """The person in custody's newer word (identity only) replaces the one the package was cut
    under (identity and needs): what was offered is no longer what the family says."""
    worker = desk("pops_liverpool")
    offered = offered_transfer(worker, world, IDENTITY, DataCategory.NEEDS)
    next_day = TODAY + timedelta(days=1)
    transfer_consent(worker.at(next_day), world, case_id, IDENTITY)
    with pytest.raises(TransferConsentMissing):
        desk("nepacs_manager", next_day).do(transfers.accept_transfer, offered.id)
    _assert_nothing_landed(desk, all_rows, offered.id, case_id)
