"""Twenty NEPACS managers' sessions accept one offered transfer at the same moment, on PostgreSQL:
exactly one receiver case and one "accepted" step come of it, and every other accept is a clean
refusal (DESIGN.md section 6, "exactly once, even if two managers press accept at the same
moment"). The crash and retry cases run on both databases in
tests/integration/test_transfer_exactly_once.py. PostgreSQL only."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_session_factory
from app.domain.errors import TransferRefused
from app.domain.transfers.machine import TransferState
from app.domain.vocabulary import DataCategory
from app.models import Case, CaseStatus, CaseTransfer, CaseTransferStep, TransferOffer
from app.security.keyring import LocalRootKey
from app.services import transfers
from app.services.platform.audit import verify
from app.services.transfers import Accepted
from tests.conftest import ROOT_KEY_FILE
from tests.support.cases import TODAY, Desk, context_of, origin_on
from tests.support.transfers import SENDER_CASE, chain_lengths, offered_transfer, rows_of

pytestmark = pytest.mark.postgres_only

ACCEPTS = 20


@pytest.fixture
def sessions(pg_database, pg_world) -> Iterator[sessionmaker[Session]]:
    # One connection per accepting thread, each its own transaction.
    engine = make_engine(pg_database.app_url, pool_size=ACCEPTS, max_overflow=2)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def every_row(postgres, pg_database) -> Iterator[sessionmaker[Session]]:
    """The superuser's sessions: forced row-level security hides case rows even from the owner."""
    engine = make_engine(postgres.url(pg_database.name))
    yield make_session_factory(engine, walls=False)
    engine.dispose()


def _desk(sessions, world, key: str) -> Desk:
    return Desk(
        context_of(world, key), sessions, LocalRootKey.from_file(ROOT_KEY_FILE), origin_on(TODAY)
    )


def _race(manager: Desk, transfer_id) -> tuple[list[Accepted], list[BaseException]]:
    """ACCEPTS threads accept ``transfer_id`` as ``manager``, each in its own session, all
    released at once; returns what they accepted and what they raised."""
    barrier = threading.Barrier(ACCEPTS)
    done: list[Accepted] = []
    raised: list[BaseException] = []
    lock = threading.Lock()

    def accept() -> None:
        barrier.wait()
        try:
            result = manager.do(transfers.accept_transfer, transfer_id)
        except BaseException as error:
            with lock:
                raised.append(error)
        else:
            with lock:
                done.append(result)

    threads = [threading.Thread(target=accept) for _ in range(ACCEPTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an accept never finished"
    return done, raised


def test_twenty_concurrent_accepts_of_one_transfer_make_one_case(sessions, pg_world, every_row):
    worker = _desk(sessions, pg_world, "pops_liverpool")
    offered = offered_transfer(worker, pg_world, DataCategory.IDENTITY, DataCategory.NEEDS)
    chains = chain_lengths(every_row, pg_world)

    done, raised = _race(_desk(sessions, pg_world, "nepacs_manager"), offered.id)

    assert len(done) == 1, raised
    assert len(raised) == ACCEPTS - 1
    assert all(isinstance(error, TransferRefused) for error in raised), raised
    (case,) = rows_of(every_row, Case, Case.transfer_id == offered.id)
    assert case.id == done[0].case_id
    assert case.charity_id == pg_world.organisations["nepacs"]
    steps = rows_of(every_row, CaseTransferStep, CaseTransferStep.transfer_id == offered.id)
    assert [s.state for s in steps].count(TransferState.ACCEPTED.value) == 1
    assert sorted(s.sequence for s in steps) == [1, 2, 3]
    (row,) = rows_of(every_row, CaseTransfer, CaseTransfer.id == offered.id)
    assert row.state == TransferState.ACCEPTED.value and row.step_count == 3
    (offer,) = rows_of(every_row, TransferOffer, TransferOffer.transfer_id == offered.id)
    assert offer.package_enc is None
    (sender_case,) = rows_of(every_row, Case, Case.id == pg_world.cases[SENDER_CASE])
    assert sender_case.status == CaseStatus.TRANSFERRED_OUT.value
    # One acceptance audited in each chain, and both chains still whole.
    after = chain_lengths(every_row, pg_world)
    assert (after["pops"] - chains["pops"], after["nepacs"] - chains["nepacs"]) == (1, 1)
    with every_row() as session:
        for slug in ("pops", "nepacs"):
            assert verify(session, str(pg_world.organisations[slug])).ok
