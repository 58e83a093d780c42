"""A family's objection to statistical use goes with its case (app.services.transfers.objection),
on both databases: POPS's Liverpool family said no to statistics; once NEPACS accepts the case,
NEPACS's figures leave the family out too, from the day it said no, and count it as excluded.
A family that never objected carries nothing (use in statistics is the default)."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import distinct, select

from app.domain.figures.catalogue import TableId
from app.domain.figures.periods import Quarter
from app.domain.people import MemberDetails
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
from app.models import Case, ConsentRecord, FamilyMember
from app.services import transfers
from app.services.cases.consent_withdrawal import withdraw_consent
from app.services.cases.family_file import add_member
from app.services.figures.metrics import quarter_figures
from app.services.figures.population import objecting_families
from tests.support.cases import TODAY, Desk, give_consent
from tests.support.transfers import SENDER_CASE, offered_transfer, transfer_consent

SAID_NO_ON = TODAY - timedelta(days=20)
RECEIVED = TableId.REGION_TRANSFERS.value


def _statistics(worker: Desk, case_id: uuid.UUID, decision: ConsentDecision, day: date, **more):
    return give_consent(
        worker,
        case_id,
        purpose=ConsentPurpose.STATISTICS,
        decision=decision,
        valid_from=day,
        method=ConsentMethod.WRITTEN,
        verification=ConsentVerification.SIGNED_FORM,
        **more,
    )


def _accepted_case(desk, world, *categories: DataCategory) -> uuid.UUID:
    offered = offered_transfer(desk("pops_liverpool"), world, *categories)
    return desk("nepacs_manager").do(transfers.accept_transfer, offered.id).case_id


def _statistics_records(desk, case_id: uuid.UUID) -> list[ConsentRecord]:
    with desk("nepacs_manager").session() as session:
        return list(
            session.scalars(
                select(ConsentRecord).where(
                    ConsentRecord.case_id == case_id,
                    ConsentRecord.purpose == ConsentPurpose.STATISTICS.value,
                )
            )
        )


def _nepacs_objects(desk, case_id: uuid.UUID, on: date) -> bool:
    with desk("nepacs_manager").session() as session:
        family = session.get_one(Case, case_id).family_id
        objecting = objecting_families(on).subquery()
        return family in set(session.scalars(select(distinct(objecting.c.family_id))))


def test_a_family_that_said_no_at_pops_is_left_out_of_nepacs_figures_after_the_move(
    desk, world, app_sessions
):
    worker = desk("pops_liverpool")
    _statistics(worker, world.cases[SENDER_CASE], ConsentDecision.REFUSED, SAID_NO_ON)
    case_id = _accepted_case(desk, world)

    [carried] = _statistics_records(desk, case_id)
    assert (carried.decision, carried.valid_from) == (ConsentDecision.REFUSED.value, SAID_NO_ON)
    assert (carried.method, carried.verification) == ("written", "signed_form")
    assert carried.subject == ConsentSubject.PERSON_IN_CUSTODY.value
    assert carried.categories == ""
    assert _nepacs_objects(desk, case_id, TODAY)
    # The transfer NEPACS received is left out of its completed transfers and counted excluded.
    with app_sessions() as session:
        figures = quarter_figures(session, Quarter.of(TODAY))
    nepacs = figures.of(world.organisations["nepacs"])
    assert nepacs.excluded[RECEIVED] == 1
    assert all(tally.count == 0 for key, tally in nepacs.cells.items() if key[0] == RECEIVED)


def test_a_no_said_after_the_offer_still_goes_with_the_case(desk, world):
    """Read at acceptance, not at the offer: the family's latest word is the one that counts."""
    worker = desk("pops_liverpool")
    offered = offered_transfer(worker, world)
    _statistics(worker, world.cases[SENDER_CASE], ConsentDecision.REFUSED, TODAY)
    case_id = desk("nepacs_manager").do(transfers.accept_transfer, offered.id).case_id
    [carried] = _statistics_records(desk, case_id)
    assert carried.valid_from == TODAY
    assert _nepacs_objects(desk, case_id, TODAY)


def test_a_withdrawn_yes_goes_as_a_no_from_the_day_it_was_withdrawn(desk, world):
    worker = desk("pops_liverpool")
    case_id = world.cases[SENDER_CASE]
    yes = _statistics(
        worker,
        case_id,
        ConsentDecision.GIVEN,
        SAID_NO_ON - timedelta(days=30),
        categories=frozenset({DataCategory.IDENTITY}),
    )
    worker.do(
        withdraw_consent,
        case_id,
        yes.id,
        method=ConsentMethod.VERBAL,
        verification=ConsentVerification.CALL_BACK,
        withdrawn_on=SAID_NO_ON,
    )
    landed = _accepted_case(desk, world)
    [carried] = _statistics_records(desk, landed)
    assert (carried.decision, carried.valid_from) == (ConsentDecision.REFUSED.value, SAID_NO_ON)
    assert carried.verification == "call_back"
    assert not _nepacs_objects(desk, landed, SAID_NO_ON - timedelta(days=1))
    assert _nepacs_objects(desk, landed, SAID_NO_ON)


def test_a_family_that_said_yes_or_nothing_carries_no_statistics_record(desk, world):
    """The negative control of the carrying: with no objection, nothing is written, and the
    family counts at NEPACS as any other."""
    worker = desk("pops_liverpool")
    _statistics(
        worker,
        world.cases[SENDER_CASE],
        ConsentDecision.GIVEN,
        SAID_NO_ON,
        categories=frozenset({DataCategory.IDENTITY}),
    )
    case_id = _accepted_case(desk, world)
    assert _statistics_records(desk, case_id) == []
    assert not _nepacs_objects(desk, case_id, TODAY)


def _sister_said_no(worker: Desk, case_id: uuid.UUID) -> uuid.UUID:
    sister = worker.do(
        add_member,
        case_id,
        MemberDetails(kind=MemberKind.ADULT, relationship=Relationship.SIBLING, name="Sam Sister"),
    ).id
    _statistics(
        worker,
        case_id,
        ConsentDecision.REFUSED,
        SAID_NO_ON,
        subject=ConsentSubject.FAMILY_MEMBER,
        family_member_id=sister,
    )
    return sister


def test_a_no_said_by_a_member_who_stayed_behind_is_recorded_as_the_familys(desk, world):
    worker = desk("pops_liverpool")
    _sister_said_no(worker, world.cases[SENDER_CASE])
    # Only the person in custody consented to the transfer: the sister's details stay at POPS.
    landed = _accepted_case(desk, world)
    [carried] = _statistics_records(desk, landed)
    assert carried.subject == ConsentSubject.PERSON_IN_CUSTODY.value
    assert carried.family_member_id is None
    assert _nepacs_objects(desk, landed, TODAY)


def test_a_no_said_by_a_member_who_crossed_stays_theirs(desk, world):
    worker = desk("pops_liverpool")
    sister = _sister_said_no(worker, world.cases[SENDER_CASE])
    transfer_consent(
        worker,
        world,
        world.cases[SENDER_CASE],
        subject=ConsentSubject.FAMILY_MEMBER,
        family_member_id=sister,
    )
    landed = _accepted_case(desk, world)
    [carried] = _statistics_records(desk, landed)
    assert carried.subject == ConsentSubject.FAMILY_MEMBER.value
    with desk("nepacs_manager").session() as session:
        member = session.get_one(FamilyMember, carried.family_member_id)
        assert member.relationship == Relationship.SIBLING.value
        assert member.id != sister
