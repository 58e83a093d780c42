"""The application wall around the rows two charities share (tenants/guard.py, DESIGN.md section 3),
on both databases: a transfer and its steps are seen and written by the sender at its prison and
by the receiver at its prison once shared with it, by nobody else; their sides never change; and
``tenants.system.acting_for`` hands the session back as it found it, with nothing loaded for one
charity left reachable under the other."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.domain.vocabulary import DataCategory
from app.models import Case, CaseTransfer, CaseTransferStep
from app.services import transfers
from tenants.context import AppendOnlyWrite, CrossTenantWrite
from tenants.guard import bind_tenant, current_tenant
from tenants.system import acting_for
from tests.support.cases import context_of
from tests.support.transfers import (
    RECEIVING_PRISON,
    SENDER_CASE,
    offered_transfer,
    transfer_consent,
)

NEITHER_SIDE = ("pact_manager", "pops_wakefield")


@pytest.fixture
def proposed(desk, world):
    """Proposed, not offered: shared with nobody but the sender yet."""
    worker = desk("pops_liverpool")
    transfer_consent(worker, world, world.cases[SENDER_CASE])
    return worker.do(
        transfers.propose_transfer, world.cases[SENDER_CASE], to_prison_code=RECEIVING_PRISON
    )


@pytest.fixture
def offered(desk, world):
    return offered_transfer(desk("pops_liverpool"), world, DataCategory.IDENTITY)


def _step_for(row: CaseTransfer, *, receiver_sees: bool) -> CaseTransferStep:
    """A new step of ``row`` with the row's own sides, as the services write one."""
    return CaseTransferStep(
        id=uuid.uuid4(),
        transfer_id=row.id,
        sequence=row.step_count + 1,
        state="cancelled",
        at=datetime(2026, 3, 2, 10, tzinfo=UTC),
        party="sender",
        sender_charity_id=row.sender_charity_id,
        sender_prison_code=row.sender_prison_code,
        receiver_charity_id=row.receiver_charity_id,
        receiver_prison_code=row.receiver_prison_code,
        receiver_sees=receiver_sees,
    )


def _visible(desk, key: str, transfer_id) -> tuple[bool, int]:
    with desk(key).session() as session:
        found = session.get(CaseTransfer, transfer_id) is not None
        listed = session.scalars(select(CaseTransfer.id)).all()
        steps = session.scalars(
            select(CaseTransferStep).where(CaseTransferStep.transfer_id == transfer_id)
        ).all()
        assert found == (transfer_id in listed)
        return found, len(steps)


def test_sender_at_its_prison_sees_the_transfer_and_its_steps(desk, offered):
    assert _visible(desk, "pops_liverpool", offered.id) == (True, 2)
    assert _visible(desk, "pops_manager", offered.id) == (True, 2)


@pytest.mark.parametrize("key", NEITHER_SIDE)
def test_a_context_that_is_neither_side_cannot_read_the_transfer(desk, offered, key):
    assert _visible(desk, key, offered.id) == (False, 0)


def test_receiver_cannot_see_the_transfer_before_it_is_shared(desk, proposed):
    for key in ("nepacs_manager", "nepacs_durham"):
        assert _visible(desk, key, proposed.id) == (False, 0)


def test_receiver_sees_the_transfer_from_the_offer_step_on(desk, offered):
    # The proposal step was never shared; the offer step and the row itself are.
    assert _visible(desk, "nepacs_manager", offered.id) == (True, 1)


@pytest.mark.parametrize("key", NEITHER_SIDE)
def test_a_context_that_is_neither_side_cannot_write_the_transfer(desk, world, offered, key):
    sender = desk("pops_liverpool")
    with sender.session() as session:
        row = session.get_one(CaseTransfer, offered.id)
        bind_tenant(session, context_of(world, key))
        row.state = "cancelled"
        with pytest.raises(CrossTenantWrite):
            session.flush()
        session.rollback()
    with sender.session() as session:
        row = session.get_one(CaseTransfer, offered.id)
        bind_tenant(session, context_of(world, key))
        session.add(_step_for(row, receiver_sees=True))
        with pytest.raises(CrossTenantWrite):
            session.flush()


def test_receiver_cannot_write_a_step_of_a_transfer_not_shared_with_it(desk, world, proposed):
    with desk("pops_liverpool").session() as session:
        row = session.get_one(CaseTransfer, proposed.id)
        bind_tenant(session, context_of(world, "nepacs_manager"))
        session.add(_step_for(row, receiver_sees=False))
        with pytest.raises(CrossTenantWrite):
            session.flush()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("receiver_charity_id", "pact"),
        ("sender_charity_id", "pact"),
        ("receiver_prison_code", "BMI"),
        ("sender_prison_code", "WDI"),
    ],
)
def test_changing_a_side_of_a_transfer_is_refused(desk, world, offered, column, value):
    value = world.organisations.get(value, value)
    for key in ("pops_manager", "nepacs_manager"):
        with desk(key).session() as session:
            row = session.get_one(CaseTransfer, offered.id)
            setattr(row, column, value)
            with pytest.raises(CrossTenantWrite, match="never change"):
                session.flush()


def test_a_transfer_step_is_never_edited(desk, offered):
    with desk("pops_liverpool").session() as session:
        step = session.scalars(
            select(CaseTransferStep).where(CaseTransferStep.transfer_id == offered.id)
        ).first()
        assert step is not None
        step.reason = "other"
        with pytest.raises(AppendOnlyWrite):
            session.flush()


# --- acting_for ------------------------------------------------------------------------------


def test_acting_for_restores_the_callers_context_after_an_exception(desk, world):
    pops, nepacs = context_of(world, "pops_liverpool"), context_of(world, "nepacs_manager")
    with desk("pops_liverpool").session() as session:
        with pytest.raises(RuntimeError), acting_for(session, nepacs):
            assert current_tenant(session) == nepacs
            raise RuntimeError("failed while acting for NEPACS")
        assert current_tenant(session) == pops
        # And the walls are pops's again, in the same transaction.
        assert set(session.scalars(select(Case.id))) == {world.cases[("pops", "LPI")]}


def test_an_object_loaded_for_one_charity_is_unreachable_while_acting_for_the_other(desk, world):
    pops_case, nepacs_case = world.cases[("pops", "LPI")], world.cases[("nepacs", "DMI")]
    with desk("pops_liverpool").session() as session:
        loaded = session.get_one(Case, pops_case)
        with acting_for(session, context_of(world, "nepacs_manager")):
            assert loaded not in session
            assert session.get(Case, pops_case) is None
            theirs = session.get_one(Case, nepacs_case)
        assert theirs not in session
        assert session.get(Case, nepacs_case) is None
        assert session.get(Case, pops_case) is not None


def test_an_object_loaded_for_one_charity_is_unreachable_after_acting_for_fails(desk, world):
    nepacs_case = world.cases[("nepacs", "DMI")]
    with desk("pops_liverpool").session() as session:
        with pytest.raises(RuntimeError), acting_for(session, context_of(world, "nepacs_manager")):
            assert session.get(Case, nepacs_case) is not None
            raise RuntimeError("failed while acting for NEPACS")
        assert session.get(Case, nepacs_case) is None
