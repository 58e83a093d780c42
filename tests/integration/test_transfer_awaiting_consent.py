"""A proposal waits for the family's consent (DESIGN.md section 6, issue 4's lifecycle), through
the use cases on both databases: a proposal the consent gate does not open goes at once, by the
same party, to "awaiting consent"; one it opens stays "proposed", ready to offer. Recording the
consent later moves nothing, the worker then offers; NEPACS sees none of these steps."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from app.domain.errors import NotFound
from app.domain.transfers.machine import Party, TransferOrigin, TransferReason, TransferState
from app.domain.vocabulary import ConsentMethod, ConsentPurpose, ConsentVerification, DataCategory
from app.models import CaseTransfer, CaseTransferStep
from app.services import transfers
from app.services.cases.consent_withdrawal import withdraw_consent
from app.services.transfers import views
from tenants.context import TenantContext
from tenants.permissions import Role
from tests.support.cases import Desk, give_consent
from tests.support.transfers import (
    RECEIVING_PRISON,
    SENDER_CASE,
    rows_of,
    transfer_consent,
)

AWAITING = TransferState.AWAITING_CONSENT.value
PROPOSED = TransferState.PROPOSED.value


@pytest.fixture
def case_id(world):
    return world.cases[SENDER_CASE]


def _propose(worker: Desk, case_id) -> CaseTransfer:
    return worker.do(transfers.propose_transfer, case_id, to_prison_code=RECEIVING_PRISON)


def _steps(all_rows, transfer_id) -> list[CaseTransferStep]:
    steps = rows_of(all_rows, CaseTransferStep, CaseTransferStep.transfer_id == transfer_id)
    return sorted(steps, key=lambda s: s.sequence)


def _row(all_rows, transfer_id) -> CaseTransfer:
    (row,) = rows_of(all_rows, CaseTransfer, CaseTransfer.id == transfer_id)
    return row


def _assert_receivers_see_nothing(desk, transfer_id) -> None:
    for key in ("nepacs_manager", "nepacs_durham", "pact_manager"):
        reader = desk(key)
        assert reader.do(views.list_transfers) == [], key
        with pytest.raises(NotFound):
            reader.do(views.read_transfer, transfer_id)
        with reader.session() as session:
            assert session.scalars(select(CaseTransferStep)).all() == [], key


def test_pops_worker_proposal_without_consent_awaits_it_in_a_second_step_by_the_worker(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    proposed = _propose(worker, case_id)

    row = _row(all_rows, proposed.id)
    assert (row.state, row.step_count, row.receiver_sees) == (AWAITING, 2, False)
    steps = _steps(all_rows, proposed.id)
    assert [s.state for s in steps] == [PROPOSED, AWAITING]
    worker_id = world.actors["pops_liverpool"].user_id
    for step in steps:
        assert (step.by_user_id, step.party, step.receiver_sees) == (
            worker_id,
            Party.SENDER.value,
            False,
        )
    assert steps[0].at == steps[1].at
    seen = worker.do(views.read_transfer, proposed.id)
    assert seen.summary.state is TransferState.AWAITING_CONSENT and not seen.gate_open
    _assert_receivers_see_nothing(desk, proposed.id)


def test_pops_worker_proposal_with_a_transfer_consent_on_file_stays_proposed_in_one_step(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    transfer_consent(worker, world, case_id, DataCategory.IDENTITY)
    proposed = _propose(worker, case_id)

    row = _row(all_rows, proposed.id)
    assert (row.state, row.step_count, row.receiver_sees) == (PROPOSED, 1, False)
    (step,) = _steps(all_rows, proposed.id)
    assert (step.state, step.party, step.receiver_sees) == (PROPOSED, Party.SENDER.value, False)
    assert worker.do(views.read_transfer, proposed.id).gate_open
    _assert_receivers_see_nothing(desk, proposed.id)


def test_a_consent_to_another_charity_leaves_the_proposal_to_nepacs_awaiting_consent(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    transfer_consent(worker, world, case_id, DataCategory.IDENTITY, to="pact")
    proposed = _propose(worker, case_id)
    assert _row(all_rows, proposed.id).state == AWAITING


def test_movement_proposal_without_consent_awaits_it_as_the_platform(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    feed = replace(
        worker,
        context=TenantContext(world.organisations["pops"], frozenset({"LPI"}), Role.SITE_MANAGER),
    )
    proposed = feed.do(
        transfers.propose_transfer,
        case_id,
        to_prison_code=RECEIVING_PRISON,
        reason=TransferReason.PERSON_MOVED,
        platform=TransferOrigin.MOVEMENT,
    )

    row = _row(all_rows, proposed.id)
    assert (row.origin, row.state, row.receiver_sees) == ("movement", AWAITING, False)
    steps = _steps(all_rows, proposed.id)
    assert [(s.state, s.party, s.by_user_id) for s in steps] == [
        (PROPOSED, Party.PLATFORM.value, None),
        (AWAITING, Party.PLATFORM.value, None),
    ]
    assert [s.reason for s in steps] == [TransferReason.PERSON_MOVED.value, None]
    _assert_receivers_see_nothing(desk, proposed.id)


def test_pops_worker_offers_from_awaiting_consent_once_the_consent_is_recorded(
    desk, world, case_id, all_rows
):
    worker, manager = desk("pops_liverpool"), desk("nepacs_manager")
    proposed = _propose(worker, case_id)
    transfer_consent(worker, world, case_id, DataCategory.IDENTITY)
    # Recording the consent moves nothing: the worker offers when ready.
    assert _row(all_rows, proposed.id).state == AWAITING
    assert worker.do(views.read_transfer, proposed.id).gate_open
    _assert_receivers_see_nothing(desk, proposed.id)

    offered = worker.do(transfers.offer_transfer, proposed.id)

    assert offered.state == TransferState.OFFERED.value
    assert [s.state for s in _steps(all_rows, proposed.id)] == [PROPOSED, AWAITING, "offered"]
    # The receiver's timeline starts at the offer: the waiting was never shared.
    seen = manager.do(views.read_transfer, proposed.id)
    assert [s.state for s in seen.steps] == [TransferState.OFFERED]


def test_withdrawing_the_transfer_consent_halts_a_proposal_awaiting_consent(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    proposed = _propose(worker, case_id)
    consent = transfer_consent(worker, world, case_id, DataCategory.IDENTITY)
    assert _row(all_rows, proposed.id).state == AWAITING

    worker.do(
        withdraw_consent,
        case_id,
        consent.id,
        method=ConsentMethod.VERBAL,
        verification=ConsentVerification.NONE,
    )

    assert _row(all_rows, proposed.id).state == TransferState.HALTED.value
    last = _steps(all_rows, proposed.id)[-1]
    assert (last.state, last.reason, last.receiver_sees) == (
        TransferState.HALTED.value,
        TransferReason.CONSENT_WITHDRAWN.value,
        False,
    )
    _assert_receivers_see_nothing(desk, proposed.id)


def test_withdrawing_an_unrelated_consent_leaves_the_proposal_awaiting_consent(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    contact = give_consent(worker, case_id, purpose=ConsentPurpose.CONTACT)
    proposed = _propose(worker, case_id)
    worker.do(
        withdraw_consent,
        case_id,
        contact.id,
        method=ConsentMethod.VERBAL,
        verification=ConsentVerification.NONE,
    )
    assert _row(all_rows, proposed.id).state == AWAITING


def _request(desk) -> CaseTransfer:
    return desk("nepacs_manager").do(
        transfers.request_transfer,
        prison_number="A1234BC",
        from_prison_code="LPI",
        to_prison_code=RECEIVING_PRISON,
        reason=TransferReason.FAMILY_ASKED,
    )


def test_pops_worker_granting_a_request_without_consent_sets_it_awaiting_consent(
    desk, world, all_rows
):
    requested = _request(desk)
    granted = desk("pops_liverpool").do(transfers.grant_request, requested.id)

    assert granted.state == AWAITING
    steps = _steps(all_rows, requested.id)
    assert [(s.state, s.party) for s in steps] == [
        ("requested", Party.RECEIVER.value),
        (PROPOSED, Party.SENDER.value),
        (AWAITING, Party.SENDER.value),
    ]
    assert steps[1].by_user_id == steps[2].by_user_id == world.actors["pops_liverpool"].user_id
    # NEPACS asked, so it follows the request's state from the start; the case, not before the
    # offer.
    seen = desk("nepacs_manager").do(views.read_transfer, requested.id)
    assert seen.summary.state is TransferState.AWAITING_CONSENT
    assert seen.package is None and seen.summary.sender_case_id is None


def test_pops_worker_granting_a_request_with_consent_on_file_leaves_it_ready_to_offer(
    desk, world, case_id, all_rows
):
    worker = desk("pops_liverpool")
    transfer_consent(worker, world, case_id, DataCategory.IDENTITY)
    requested = _request(desk)
    granted = worker.do(transfers.grant_request, requested.id)

    assert granted.state == PROPOSED
    assert [s.state for s in _steps(all_rows, requested.id)] == ["requested", PROPOSED]
    assert worker.do(transfers.offer_transfer, requested.id).state == "offered"
