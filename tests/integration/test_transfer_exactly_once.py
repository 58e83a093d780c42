"""Accepting a transfer happens once or not at all, on both databases (DESIGN.md section 6): a
failure after the receiver's rows are written leaves nothing of them and the sender as it was; a
retried acceptance with the same idempotency key changes nothing the second time. (Twenty
accepts at once: tests/postgres/test_transfer_concurrency.py.)"""

from __future__ import annotations

import pytest

from app.domain.errors import Conflict, TransferRefused
from app.domain.transfers.machine import TransferState
from app.domain.vocabulary import DataCategory
from app.models import Case, CaseStatus, CaseTransfer, CaseTransferStep, TransferOffer
from app.services import transfers
from tests.support.transfers import (
    RECEIVING_PRISON,
    SENDER_CASE,
    chain_lengths,
    offered_transfer,
    row_counts,
    rows_of,
    transfer_consent,
)


@pytest.fixture
def offered(desk, world):
    return offered_transfer(
        desk("pops_liverpool"), world, DataCategory.IDENTITY, DataCategory.NEEDS
    )


def test_failure_after_the_receivers_insert_leaves_no_receiver_case_and_the_sender_unchanged(
    desk, world, offered, all_rows
):
    counts, chains = row_counts(all_rows), chain_lengths(all_rows, world)
    with pytest.raises(RuntimeError, match="injected failure"):
        desk("nepacs_manager").do(
            transfers.accept_transfer, offered.id, fail_after_receiver_insert=True
        )
    assert row_counts(all_rows) == counts
    assert chain_lengths(all_rows, world) == chains
    assert rows_of(all_rows, Case, Case.transfer_id == offered.id) == []
    (row,) = rows_of(all_rows, CaseTransfer, CaseTransfer.id == offered.id)
    assert row.state == TransferState.OFFERED.value and row.decided_at is None
    steps = rows_of(all_rows, CaseTransferStep, CaseTransferStep.transfer_id == offered.id)
    assert [s.state for s in sorted(steps, key=lambda s: s.sequence)] == ["proposed", "offered"]
    (offer,) = rows_of(all_rows, TransferOffer, TransferOffer.transfer_id == offered.id)
    assert offer.package_enc is not None and offer.voided_at is None
    (sender_case,) = rows_of(all_rows, Case, Case.id == world.cases[SENDER_CASE])
    assert sender_case.status == CaseStatus.TRANSFER_PENDING.value
    assert sender_case.closed_on is None
    # Nothing half-done stands in the way: the same acceptance, retried, completes.
    accepted = desk("nepacs_manager").do(transfers.accept_transfer, offered.id)
    assert accepted.transfer.state == TransferState.ACCEPTED.value
    assert len(rows_of(all_rows, Case, Case.transfer_id == offered.id)) == 1


def test_second_accept_with_the_same_idempotency_key_changes_nothing(
    desk, world, offered, all_rows
):
    manager = desk("nepacs_manager")
    first = manager.do(transfers.accept_transfer, offered.id, idempotency_key="accept-1")
    assert not first.replayed
    counts = row_counts(all_rows)
    assert counts["audit_events"] > 0 and counts["notifications"] > 0
    again = manager.do(transfers.accept_transfer, offered.id, idempotency_key="accept-1")
    assert again.replayed
    assert again.case_id == first.case_id
    assert again.transfer.state == TransferState.ACCEPTED.value
    assert row_counts(all_rows) == counts


def test_second_accept_with_another_key_is_refused_and_changes_nothing(
    desk, world, offered, all_rows
):
    manager = desk("nepacs_manager")
    manager.do(transfers.accept_transfer, offered.id, idempotency_key="accept-1")
    counts = row_counts(all_rows)
    for key in ("accept-2", None):
        with pytest.raises(TransferRefused):
            manager.do(transfers.accept_transfer, offered.id, idempotency_key=key)
    assert row_counts(all_rows) == counts


def test_a_retried_offer_changes_nothing_and_its_key_cannot_replay_as_an_acceptance(
    desk, world, all_rows
):
    worker = desk("pops_liverpool")
    transfer_consent(worker, world, world.cases[SENDER_CASE])
    proposed = worker.do(
        transfers.propose_transfer, world.cases[SENDER_CASE], to_prison_code=RECEIVING_PRISON
    )
    worker.do(transfers.offer_transfer, proposed.id, idempotency_key="offer-1")
    counts = row_counts(all_rows)
    again = worker.do(transfers.offer_transfer, proposed.id, idempotency_key="offer-1")
    assert again.state == TransferState.OFFERED.value
    assert row_counts(all_rows) == counts
    with pytest.raises(Conflict):
        desk("nepacs_manager").do(transfers.accept_transfer, proposed.id, idempotency_key="offer-1")
    assert row_counts(all_rows) == counts
