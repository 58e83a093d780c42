"""The families the figures' tests count (tests/integration/test_metrics.py and the release,
dashboard and API tests): written through the product's own use cases, never as rows."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from app.domain.outcomes import framework
from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import (
    ClosureReason,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentVerification,
    ContactKind,
    DataCategory,
    Disability,
    Ethnicity,
    MemberKind,
    Need,
    ReferralSource,
    Relationship,
    Sex,
)
from app.models import Case, ConsentRecord, FamilyMember
from app.services import transfers
from app.services.cases.cases import close_case
from app.services.cases.casework import add_contact, record_assessment
from app.services.cases.consent_withdrawal import withdraw_consent
from app.services.cases.equality import EqualityAnswers, record_equality
from app.services.cases.family_file import add_member
from app.services.cases.referrals import open_case
from tests.support.cases import Desk, give_consent
from tests.support.world import World

# The day the families are written down: after everything seeded, so no date is in the future.
SEED_DAY = date(2026, 10, 20)
AREAS = framework().area_codes()


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@dataclass(frozen=True)
class Family:
    case_id: uuid.UUID
    members: tuple[uuid.UUID, ...]  # the main contact first (when there is one), then children


def open_family(
    worker: Desk,
    prison: str,
    opened_on: date,
    source: ReferralSource,
    *,
    needs: frozenset[Need] = frozenset(),
    children: int = 0,
    main_contact: bool = True,
) -> Family:
    """A referral through open_case, with its members added through add_member."""
    desk = worker.at(SEED_DAY)
    case = desk.do(
        open_case,
        prison_code=prison,
        person=PersonDetails(name="Someone In Custody", prison_number="A1234BC"),
        referral_source=source,
        opened_on=opened_on,
        main_contact=MemberDetails(MemberKind.ADULT, Relationship.PARTNER, "Main Contact")
        if main_contact
        else None,
        needs=needs,
    )
    with desk.session() as session:
        members = list(
            session.scalars(select(FamilyMember.id).where(FamilyMember.family_id == case.family_id))
        )
    for number in range(children):
        child = MemberDetails(
            MemberKind.CHILD, Relationship.CHILD, f"Child {number}", age_band="5-10"
        )
        members.append(desk.do(add_member, case.id, child).id)
    return Family(case.id, tuple(members))


def contact(
    worker: Desk, family: Family | uuid.UUID, kind: ContactKind, day: date, first: bool = False
) -> None:
    case_id = family.case_id if isinstance(family, Family) else family
    worker.at(SEED_DAY).do(
        add_contact, case_id, kind=kind, occurred_on=day, first_time_visitor=first
    )


def assess(worker: Desk, family: Family, day: date, score: int, **other: int) -> None:
    scores = {area: other.get(area, score) for area in AREAS}
    worker.at(SEED_DAY).do(record_assessment, family.case_id, assessed_on=day, scores=scores)


def statistics(
    worker: Desk, case_id: uuid.UUID, decision: ConsentDecision, day: date
) -> ConsentRecord:
    return give_consent(
        worker.at(SEED_DAY),
        case_id,
        purpose=ConsentPurpose.STATISTICS,
        decision=decision,
        valid_from=day,
        categories=frozenset({DataCategory.IDENTITY}),
    )


def withdraw(worker: Desk, case_id: uuid.UUID, consent_id: uuid.UUID, day: date) -> None:
    worker.at(SEED_DAY).do(
        withdraw_consent,
        case_id,
        consent_id,
        method=ConsentMethod.VERBAL,
        verification=ConsentVerification.NONE,
        withdrawn_on=day,
    )


def answers(worker: Desk, family: Family, member: int, *given: object) -> None:
    ethnicity, sex, disability = given
    worker.at(SEED_DAY).do(
        record_equality,
        family.case_id,
        family.members[member],
        EqualityAnswers(Ethnicity(ethnicity), Sex(sex), Disability(disability)),
    )


def transfer(
    worker: Desk, manager: Desk, world, case_id: uuid.UUID, offered: date, accepted: date
) -> None:
    """The family's consent and the transfer to NEPACS at Durham, offered and accepted on the
    given days (the clock of each step is that day, 09:30 UTC)."""
    sender = worker.at(offered)
    give_consent(
        sender,
        case_id,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations["nepacs"],
        categories=frozenset({DataCategory.IDENTITY, DataCategory.CONTACTS, DataCategory.NEEDS}),
    )
    proposed = sender.do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    sender.do(transfers.offer_transfer, proposed.id)
    manager.at(accepted).do(transfers.accept_transfer, proposed.id)


@dataclass(frozen=True)
class Seeded:
    pops: uuid.UUID
    nepacs: uuid.UUID
    pact: uuid.UUID


def seed(desk: Callable[[str], Desk], world: World) -> Seeded:
    """Ten families of three charities over 2026's third quarter, written down on SEED_DAY
    through the use cases: the figures' tests read what these make. Built once per backend into
    a template database (tests/conftest.py, ``seeded``) and copied for each test."""
    liverpool, wakefield = desk("pops_liverpool"), desk("pops_wakefield")
    pops_manager, durham = desk("pops_manager"), desk("nepacs_durham")
    nepacs_manager, pact = desk("nepacs_manager"), desk("pact_manager")
    visit, call, day_out = ContactKind.VISIT, ContactKind.PHONE, ContactKind.FAMILY_DAY
    one_to_one = ContactKind.ONE_TO_ONE

    a = open_family(
        liverpool,
        "LPI",
        d(7, 3),
        ReferralSource.SELF,
        needs=frozenset({Need.HOUSING, Need.VISITS}),
        children=2,
    )
    contact(liverpool, a, visit, d(7, 3), first=True)
    contact(liverpool, a, visit, d(8, 10))
    contact(liverpool, a, day_out, d(9, 1))
    assess(liverpool, a, d(7, 3), 3)
    assess(liverpool, a, d(9, 20), 6, well_being=2)
    assess(liverpool, a, d(10, 10), 10)
    answers(liverpool, a, 0, "white_british", "female", "no")
    answers(liverpool, a, 1, "black_caribbean", "male", "not_stated")

    b = open_family(
        liverpool,
        "LPI",
        d(4, 10),
        ReferralSource.OFFENDER_MANAGER,
        needs=frozenset({Need.FINANCE}),
        children=1,
    )
    contact(liverpool, b, call, d(5, 1))
    contact(liverpool, b, call, d(7, 15))
    assess(liverpool, b, d(5, 1), 4)
    assess(liverpool, b, d(7, 15), 6)
    yes = statistics(liverpool, b.case_id, ConsentDecision.GIVEN, d(4, 10))
    withdraw(liverpool, b.case_id, yes.id, d(10, 2))

    c = open_family(
        liverpool,
        "LPI",
        d(7, 20),
        ReferralSource.SCHOOL,
        needs=frozenset({Need.HOUSING}),
        children=1,
    )
    contact(liverpool, c, visit, d(7, 21), first=True)
    assess(liverpool, c, d(7, 21), 5)
    assess(liverpool, c, d(9, 1), 9)
    answers(liverpool, c, 0, "white_irish", "male", "yes")
    statistics(liverpool, c.case_id, ConsentDecision.REFUSED, d(7, 21))

    dee = open_family(
        liverpool,
        "LPI",
        d(4, 2),
        ReferralSource.PRISON_STAFF,
        needs=frozenset({Need.VISITS}),
        children=1,
    )
    contact(liverpool, dee, visit, d(5, 10), first=True)
    pops_manager.at(SEED_DAY).do(
        close_case, dee.case_id, reason=ClosureReason.OUTCOMES_MET, closed_on=d(6, 15)
    )

    e = open_family(
        liverpool,
        "LPI",
        d(7, 1),
        ReferralSource.SELF,
        needs=frozenset({Need.EMOTIONAL_WELLBEING}),
    )
    contact(liverpool, e, one_to_one, d(7, 2))
    yes = statistics(liverpool, e.case_id, ConsentDecision.GIVEN, d(7, 1))
    withdraw(liverpool, e.case_id, yes.id, d(8, 1))

    w = world.cases[("pops", "LPI")]
    contact(liverpool, w, visit, d(7, 5))

    f = open_family(
        wakefield,
        "WDI",
        d(8, 1),
        ReferralSource.PRISON_STAFF,
        needs=frozenset({Need.EMOTIONAL_WELLBEING, Need.FAMILY_CONTACT}),
        children=1,
    )
    contact(wakefield, f, one_to_one, d(8, 2))
    contact(wakefield, f, visit, d(8, 5), first=True)
    answers(wakefield, f, 0, "asian_indian", "female", "yes")

    g = open_family(wakefield, "WDI", d(7, 7), ReferralSource.OTHER_AGENCY, main_contact=False)

    h = open_family(
        durham,
        "DMI",
        d(7, 10),
        ReferralSource.CHILDRENS_SERVICES,
        needs=frozenset({Need.CHILD_CONCERN, Need.HOUSING}),
        children=2,
    )
    contact(durham, h, visit, d(7, 11), first=True)
    contact(durham, h, day_out, d(8, 20))
    assess(durham, h, d(7, 11), 2)
    assess(durham, h, d(9, 15), 7)
    answers(durham, h, 0, "black_african", "male", "no")
    statistics(durham, h.case_id, ConsentDecision.GIVEN, d(7, 10))

    i = open_family(durham, "DMI", d(7, 12), ReferralSource.SELF)
    contact(durham, i, call, d(7, 13))
    statistics(durham, i.case_id, ConsentDecision.REFUSED, d(7, 12))
    statistics(durham, i.case_id, ConsentDecision.GIVEN, d(8, 1))

    j = open_family(pact, "BMI", d(9, 10), ReferralSource.SELF, needs=frozenset({Need.VISITS}))
    contact(pact, j, visit, d(9, 10))

    transfer(liverpool, nepacs_manager, world, w, offered=d(8, 10), accepted=d(8, 14))
    transfer(wakefield, nepacs_manager, world, g.case_id, offered=d(9, 1), accepted=d(9, 8))
    with durham.session() as session:
        received = session.scalar(select(Case.id).where(Case.transferred_from_prison_code == "LPI"))
    assert received is not None
    contact(durham, received, call, d(9, 2))
    return seeded_charities(world)


def seeded_charities(world: World) -> Seeded:
    return Seeded(*(world.organisations[slug] for slug in ("pops", "nepacs", "pact")))
