"""`continuum services transfer-prison`: Liverpool's service moves from POPS to NEPACS; every open
POPS case there is proposed to NEPACS and offered only where the family consented; the rest stay
with POPS, listed by case reference; Pact, a party to nothing, sees nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from app.domain.audit_chain import PLATFORM_CHAIN
from app.domain.errors import Conflict
from app.domain.people import PersonDetails
from app.domain.transfers.machine import Party, TransferOrigin, TransferReason, TransferState
from app.domain.vocabulary import ConsentPurpose, DataCategory
from app.models import (
    AuditEntry,
    Case,
    CaseStatus,
    CaseTransfer,
    CaseTransferStep,
    Notification,
    Service,
    TransferOffer,
)
from app.services import transfers
from app.services.cases.referrals import open_case
from app.services.platform.audit import verify
from app.services.platform.keys import keyring
from app.services.platform.vault import Vault, vault_for
from app.services.transfers import contract_change
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.support.cases import TODAY, give_consent, origin_on

HANDOVER = TODAY + timedelta(days=7)  # announced a week ahead
SECOND_PERSON = ("Lewis Nocontent", "H5678JK")


def _consent_to_nepacs(worker, world, case_id) -> None:
    give_consent(
        worker,
        case_id,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations["nepacs"],
        categories=frozenset({DataCategory.IDENTITY, DataCategory.NEEDS}),
    )


def _liverpool_cases(desk, world, day: date = TODAY) -> tuple[Case, Case]:
    """The world's POPS case at Liverpool, consented to NEPACS, and a second one without."""
    worker = desk("pops_liverpool", day)
    consented = world.cases[("pops", "LPI")]
    _consent_to_nepacs(worker, world, consented)
    name, number = SECOND_PERSON
    other = worker.do(open_case, prison_code="LPI", person=PersonDetails(name, number))
    with worker.session() as session:
        return session.get_one(Case, consented), session.get_one(Case, other.id)


def _transfer_prison(app, world, owner_sessions):
    """Liverpool to NEPACS from HANDOVER, run on TODAY: the owner's session for the service,
    the application's for the cases."""
    state = app.extensions["continuum"]
    with owner_sessions() as owner, state.session_factory() as session:
        return contract_change.transfer_prison(
            owner,
            session,
            origin_on(TODAY),
            vault_for(session, state.root_key),
            prison_code="LPI",
            to_charity_id=world.organisations["nepacs"],
            on=HANDOVER,
        )


def _seen_by(app, context: TenantContext, model) -> list:
    with app.extensions["continuum"].session_factory() as session:
        bind_tenant(session, context)
        return list(session.scalars(select(model)))


def _nepacs_at_liverpool(world) -> TenantContext:
    return TenantContext(world.organisations["nepacs"], frozenset({"LPI"}), Role.SITE_MANAGER)


def test_case_with_consent_is_offered_to_nepacs_and_the_one_without_is_listed(
    app, world, desk, owner_sessions
):
    consented, other = _liverpool_cases(desk, world)

    result = _transfer_prison(app, world, owner_sessions)

    assert result.awaiting_consent == [other.reference]
    assert result.under_way == [] and result.failed == []
    with desk("pops_liverpool").session() as session:
        by_case = {row.sender_case_id: row for row in session.scalars(select(CaseTransfer))}
    assert set(by_case) == {consented.id, other.id}
    offered, waiting = by_case[consented.id], by_case[other.id]
    assert result.offered == [offered.id]
    assert (offered.state, offered.receiver_sees) == (TransferState.OFFERED.value, True)
    assert (waiting.state, waiting.receiver_sees) == (TransferState.AWAITING_CONSENT.value, False)
    for row in (offered, waiting):
        assert row.origin == TransferOrigin.CONTRACT_CHANGE.value
        assert (row.sender_prison_code, row.receiver_prison_code) == ("LPI", "LPI")
        assert row.receiver_charity_id == world.organisations["nepacs"]
    with desk("pops_liverpool").session() as session:
        proposed, offer_step = session.scalars(
            select(CaseTransferStep)
            .where(CaseTransferStep.transfer_id == offered.id)
            .order_by(CaseTransferStep.sequence)
        ).all()
    assert proposed.reason == TransferReason.CONTRACT_CHANGE.value
    assert proposed.by_user_id is None and offer_step.by_user_id is None
    # The case without consent waits for it, as the platform, in the step after the proposal.
    with desk("pops_liverpool").session() as session:
        steps = session.scalars(
            select(CaseTransferStep)
            .where(CaseTransferStep.transfer_id == waiting.id)
            .order_by(CaseTransferStep.sequence)
        ).all()
    assert [(s.state, s.party, s.by_user_id) for s in steps] == [
        (TransferState.PROPOSED.value, Party.PLATFORM.value, None),
        (TransferState.AWAITING_CONSENT.value, Party.PLATFORM.value, None),
    ]


def test_service_at_liverpool_ends_for_pops_and_starts_for_nepacs_on_the_day(
    app, world, desk, owner_sessions
):
    _liverpool_cases(desk, world)

    result = _transfer_prison(app, world, owner_sessions)

    assert result.service.changed
    with owner_sessions() as session:
        services = session.scalars(
            select(Service).where(Service.prison_code == "LPI").order_by(Service.starts_on)
        ).all()
        assert [(s.charity_id, s.ends_on) for s in services] == [
            (world.organisations["pops"], HANDOVER),
            (world.organisations["nepacs"], None),
        ]
        assert services[1].starts_on == HANDOVER
        day_before = HANDOVER - timedelta(days=1)
        assert transfers.serving_charity(session, "LPI", day_before) == world.organisations["pops"]
        events = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "service.transfer_prison")
        ).all()
        assert [e.chain for e in events] == [PLATFORM_CHAIN]
        for chain in (PLATFORM_CHAIN, str(world.organisations["pops"])):
            assert verify(session, chain).ok


def test_pops_keeps_both_liverpool_cases_in_its_list_after_the_change(
    app, world, desk, owner_sessions
):
    consented, other = _liverpool_cases(desk, world)

    _transfer_prison(app, world, owner_sessions)

    with desk("pops_liverpool").session() as session:
        statuses = {case.id: case.status for case in session.scalars(select(Case))}
    assert statuses[consented.id] == CaseStatus.TRANSFER_PENDING.value
    assert statuses[other.id] == other.status


def test_nepacs_at_liverpool_sees_only_the_offered_case(app, world, desk, owner_sessions):
    _liverpool_cases(desk, world)

    result = _transfer_prison(app, world, owner_sessions)

    nepacs = _nepacs_at_liverpool(world)
    assert [row.id for row in _seen_by(app, nepacs, CaseTransfer)] == result.offered
    assert [offer.transfer_id for offer in _seen_by(app, nepacs, TransferOffer)] == result.offered
    assert _seen_by(app, nepacs, Case) == []


@pytest.mark.parametrize("prisons", [("BMI",), ("BMI", "LPI")])
def test_pact_sees_nothing_of_the_contract_change(app, world, desk, owner_sessions, prisons):
    _liverpool_cases(desk, world)
    _transfer_prison(app, world, owner_sessions)

    pact = TenantContext(world.organisations["pact"], frozenset(prisons), Role.SITE_MANAGER)
    for model in (CaseTransfer, TransferOffer, Notification):
        assert _seen_by(app, pact, model) == []


def test_running_again_after_the_consent_arrives_offers_the_waiting_case_only(
    app, world, desk, owner_sessions
):
    consented, other = _liverpool_cases(desk, world)
    first = _transfer_prison(app, world, owner_sessions)
    _consent_to_nepacs(desk("pops_liverpool"), world, other.id)

    again = _transfer_prison(app, world, owner_sessions)

    assert not again.service.changed
    assert again.awaiting_consent == [] and again.failed == []
    assert again.under_way == [consented.reference]  # already offered: left as it is
    with desk("pops_liverpool").session() as session:
        rows = session.scalars(select(CaseTransfer)).all()
    assert len(rows) == 2
    (waiting,) = [row for row in rows if row.sender_case_id == other.id]
    assert again.offered == [waiting.id] and waiting.id not in first.offered
    assert waiting.state == TransferState.OFFERED.value


def test_case_with_a_transfer_already_under_way_is_listed_and_the_others_go_on(
    app, world, desk, owner_sessions
):
    consented, other = _liverpool_cases(desk, world)
    worker = desk("pops_liverpool")
    earlier = worker.do(transfers.propose_transfer, other.id, to_prison_code="BMI")

    result = _transfer_prison(app, world, owner_sessions)

    assert result.under_way == [other.reference]
    assert len(result.offered) == 1 and result.awaiting_consent == []
    with worker.session() as session:
        assert (
            session.get_one(CaseTransfer, earlier.id).state == TransferState.AWAITING_CONSENT.value
        )
        assert session.get_one(Case, consented.id).status == CaseStatus.TRANSFER_PENDING.value


class _FailsFirstOffer(Vault):
    """A vault that refuses to seal the first offer package it is given: one case's failure."""

    def __init__(self, keyring) -> None:
        super().__init__(keyring)
        self.refused = False

    def seal(self, row, field, value) -> None:
        if isinstance(row, TransferOffer) and not self.refused:
            self.refused = True
            raise Conflict("injected failure while sealing the offer")
        super().seal(row, field, value)


def test_one_case_failing_leaves_no_trace_of_it_and_the_others_go_on(
    app, world, desk, owner_sessions
):
    consented, other = _liverpool_cases(desk, world)
    _consent_to_nepacs(desk("pops_liverpool"), world, other.id)
    state = app.extensions["continuum"]

    with owner_sessions() as owner, state.session_factory() as session:
        result = contract_change.transfer_prison(
            owner,
            session,
            origin_on(TODAY),
            _FailsFirstOffer(keyring(session, state.root_key)),
            prison_code="LPI",
            to_charity_id=world.organisations["nepacs"],
            on=HANDOVER,
        )

    first, second = sorted([consented, other], key=lambda case: case.reference)
    assert result.failed == [(first.reference, "injected failure while sealing the offer")]
    with desk("pops_liverpool").session() as session:
        (row,) = session.scalars(select(CaseTransfer)).all()
        assert row.sender_case_id == second.id and result.offered == [row.id]
        assert session.get_one(Case, first.id).status == first.status


def test_cli_transfer_prison_lists_the_waiting_case_by_reference_and_names_nobody(
    app, world, desk, tmp_path
):
    today = app.extensions["continuum"].clock().date()
    _, other = _liverpool_cases(desk, world, today)
    on = today + timedelta(days=7)

    result = app.test_cli_runner().invoke(
        args=["services", "transfer-prison", "--prison", "lpi", "--to", "nepacs", "--on", str(on)]
    )

    assert result.exit_code == 0, result.output
    assert f"LPI: the service moved to nepacs from {on.isoformat()}" in result.stdout
    assert "cases offered to nepacs: 1" in result.stdout
    assert f"  {other.reference}" in result.stdout.splitlines()
    for number, name in [*world.people.values(), (SECOND_PERSON[1], SECOND_PERSON[0])]:
        assert number not in result.output and name not in result.output


def test_cli_transfer_prison_to_the_charity_already_serving_fails_without_change(
    app, owner_sessions
):
    command = "services transfer-prison --prison LPI --to pops --on 2026-04-01"
    result = app.test_cli_runner().invoke(args=command.split())

    assert result.exit_code == 2
    assert "already serves LPI" in result.stderr
    with owner_sessions() as session:
        services = session.scalars(select(Service).where(Service.prison_code == "LPI")).all()
    assert [s.ends_on for s in services] == [None]
