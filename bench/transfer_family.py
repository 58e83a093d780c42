"""The family a transfer benchmark moves: a year of history seeded through the sender's use cases,
and the same records written plainly by the receiver (the accept baseline).

Charity "sender" serves Liverpool (LPI), charity "receiver" Durham (DMI); one site manager each.
The person in custody and the partner consent to the transfer of everything to the receiver, so
the whole family crosses and the landed case can be compared row for row with the plain one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.outcomes import framework
from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import (
    ActionOwner,
    ActionStatus,
    AgeBand,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    ContactKind,
    DataCategory,
    MemberKind,
    ReferralSource,
    Relationship,
)
from app.models import (
    ActionItem,
    Case,
    CaseNote,
    ConsentRecord,
    Contact,
    Family,
    FamilyMember,
    Organisation,
    OutcomeAssessment,
    OutcomeScore,
)
from app.models.base import new_id
from app.services.accounts import accounts
from app.services.cases import casework, consents, family_file
from app.services.cases.referrals import new_member, open_case
from app.services.platform.audit import Origin
from app.services.platform.keys import ensure_charity_keys
from app.services.platform.reference import ensure_organisation, load_prisons, start_service
from app.services.platform.vault import Vault, vault_for
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import OrganisationKind, Role

TODAY = datetime(2026, 11, 20, 10, tzinfo=UTC)
OPENED_ON = date(2025, 11, 3)
SENDER_PRISON, RECEIVER_PRISON = "LPI", "DMI"


@dataclass(frozen=True)
class History:
    """What one family's year holds; the first member is the partner, the rest are children."""

    contacts: int
    assessments: int
    actions: int
    notes: int
    members: int


@dataclass(frozen=True)
class Parties:
    sender: TenantContext
    receiver: TenantContext


def bench_origin() -> Origin:
    return Origin("bench", lambda: TODAY)


def prepare(owner: sessionmaker[Session], app: sessionmaker[Session], root: Any) -> Parties:
    """Two charities serving one prison each, a manager at each, a data key each."""
    ids = {}
    with owner() as session:
        load_prisons(session)
        for slug, prison in (("sender", SENDER_PRISON), ("receiver", RECEIVER_PRISON)):
            charity = ensure_organisation(session, slug, f"Bench {slug}", OrganisationKind.CHARITY)
            start_service(session, charity, prison, date(2020, 1, 1))
            ids[slug] = charity.id
        session.commit()
        ensure_charity_keys(session, root)
    contexts = {}
    with app() as session:
        for slug, prison in (("sender", SENDER_PRISON), ("receiver", RECEIVER_PRISON)):
            user = accounts.create_user(
                session,
                session.get_one(Organisation, ids[slug]),
                username=f"bench.{slug}",
                display_name=f"Bench {slug} manager",
                role=Role.SITE_MANAGER,
                password=uuid.uuid4().hex,
                prison_codes=(prison,),
            )
            session.commit()
            contexts[slug] = TenantContext(
                ids[slug], frozenset({prison}), Role.SITE_MANAGER, user.id
            )
    return Parties(contexts["sender"], contexts["receiver"])


def _members(history: History, i: int) -> list[MemberDetails]:
    partner = MemberDetails(
        MemberKind.ADULT,
        Relationship.PARTNER,
        f"Kim Partner{i}",
        date_of_birth=date(1990, 5, 1),
        phone="07700 900123",
        email=f"kim{i}@example.org",
        address="1 Example Street, Liverpool L1 1AA",
        is_main_contact=True,
    )
    children = [
        MemberDetails(
            MemberKind.CHILD,
            Relationship.CHILD,
            f"Child{c} Partner{i}",
            age_band=AgeBand.FROM_5_TO_10,
        )
        for c in range(1, history.members)
    ]
    return [partner, *children]


# The year's records, the same text on both sides of the accept comparison.
def _visit(n: int) -> str:
    return f"Visit {n}: talked about school, contact with dad and the next steps."


def _note(n: int) -> str:
    return f"Note {n}: " + "detail " * 40


def _day(n: int, every: int) -> date:
    return OPENED_ON + timedelta(days=(n * every) % 365)


def _scores(n: int) -> dict[str, int]:
    return {area: min(10, 3 + n % 6 + k % 3) for k, area in enumerate(framework().area_codes())}


def seed_family(
    app: sessionmaker[Session], root: Any, parties: Parties, history: History, i: int
) -> uuid.UUID:
    """One family through the sender's use cases, with consent to transfer everything."""
    sender, origin = parties.sender, bench_origin()
    every = max(1, 365 // max(1, history.contacts))
    with app() as session:
        bind_tenant(session, sender)
        vault = vault_for(session, root)
        members = _members(history, i)
        case = open_case(
            session,
            sender,
            origin,
            vault,
            prison_code=SENDER_PRISON,
            person=PersonDetails(f"Sam Person{i}", f"A{i:04d}BC", date(1988, 3, 4)),
            main_contact=members[0],
            referral_source=ReferralSource.PRISON_STAFF,
            opened_on=OPENED_ON,
        )
        case_id = case.id
        partner_id = session.scalars(
            select(FamilyMember.id).where(FamilyMember.family_id == case.family_id)
        ).one()
        for details in members[1:]:
            family_file.add_member(session, sender, origin, vault, case_id, details)
        for n in range(history.contacts):
            casework.add_contact(
                session,
                sender,
                origin,
                vault,
                case_id,
                kind=ContactKind.VISIT,
                occurred_on=_day(n, every),
                children_present=True,
                summary=_visit(n),
            )
        for n in range(history.notes):
            casework.add_note(session, sender, origin, vault, case_id, body=_note(n))
        for n in range(history.assessments):
            casework.record_assessment(
                session, sender, origin, case_id, assessed_on=_day(n, 60), scores=_scores(n)
            )
        for n in range(history.actions):
            casework.add_action(
                session,
                sender,
                origin,
                vault,
                case_id,
                description=f"Action {n}",
                owner=ActionOwner.WORKER,
            )
        receiver = parties.receiver.charity_id
        for purpose, member, recipient in (
            (ConsentPurpose.CONTACT, None, None),
            (ConsentPurpose.TRANSFER, None, receiver),
            (ConsentPurpose.TRANSFER, partner_id, receiver),
        ):
            consents.record_consent(
                session,
                sender,
                origin,
                case_id,
                subject=ConsentSubject.FAMILY_MEMBER
                if member
                else ConsentSubject.PERSON_IN_CUSTODY,
                purpose=purpose,
                decision=ConsentDecision.GIVEN,
                method=ConsentMethod.WRITTEN,
                verification=ConsentVerification.SIGNED_FORM,
                categories=frozenset(DataCategory),
                family_member_id=member,
                recipient_charity_id=recipient,
            )
    return case_id


def land_plainly(
    session: Session, context: TenantContext, vault: Vault, history: History, i: int
) -> uuid.UUID:
    """The baseline: the records an accepted offer lands, written by the receiver with a plain use
    case and direct inserts through the vault (every field sealed under its key), one commit."""
    origin, every = bench_origin(), max(1, 365 // max(1, history.contacts))
    members = _members(history, i)
    case = open_case(
        session,
        context,
        origin,
        vault,
        prison_code=RECEIVER_PRISON,
        person=PersonDetails(f"Sam Person{i}", f"A{i:04d}BC", date(1988, 3, 4)),
        main_contact=members[0],
        referral_source=ReferralSource.PRISON_STAFF,
        opened_on=TODAY.date(),
        commit=False,
    )
    family = session.scalars(select(Family).where(Family.id == case.family_id)).one()
    partner_id = session.scalars(
        select(FamilyMember.id).where(FamilyMember.family_id == family.id)
    ).one()
    session.add_all(new_member(vault, context, family, details) for details in members[1:])
    own = {"charity_id": context.charity_id, "prison_code": RECEIVER_PRISON, "case_id": case.id}
    by = context.user_id
    for n in range(history.contacts):
        contact = Contact(
            id=new_id(),
            kind=ContactKind.VISIT.value,
            occurred_on=_day(n, every),
            first_time_visitor=False,
            children_present=True,
            recorded_by=by,
            **own,
        )
        vault.seal(contact, "summary", _visit(n))
        session.add(contact)
    for n in range(history.assessments):
        assessment = OutcomeAssessment(
            id=new_id(), framework=framework().code, assessed_on=_day(n, 60), recorded_by=by, **own
        )
        session.add(assessment)
        session.flush()
        session.add_all(
            OutcomeScore(
                charity_id=context.charity_id,
                prison_code=RECEIVER_PRISON,
                assessment_id=assessment.id,
                area=area,
                score=score,
            )
            for area, score in sorted(_scores(n).items())
        )
    for n in range(history.actions):
        action = ActionItem(
            id=new_id(),
            owner=ActionOwner.WORKER.value,
            status=ActionStatus.OPEN.value,
            recorded_by=by,
            **own,
        )
        vault.seal(action, "description", f"Action {n}")
        session.add(action)
    for n in range(history.notes):
        note = CaseNote(id=new_id(), written_at=TODAY, written_by=by, **own)
        vault.seal(note, "body", _note(n))
        session.add(note)
    for member in (None, partner_id):
        subject = ConsentSubject.FAMILY_MEMBER if member else ConsentSubject.PERSON_IN_CUSTODY
        session.add(
            ConsentRecord(
                id=new_id(),
                subject=subject.value,
                family_member_id=member,
                purpose=ConsentPurpose.TRANSFER.value,
                recipient_charity_id=context.charity_id,
                categories=",".join(sorted(c.value for c in DataCategory)),
                decision=ConsentDecision.GIVEN.value,
                method=ConsentMethod.WRITTEN.value,
                verification=ConsentVerification.SIGNED_FORM.value,
                valid_from=TODAY.date(),
                expires_on=TODAY.date() + timedelta(days=365),
                recorded_by=by,
                recorded_at=TODAY,
                **own,
            )
        )
    session.commit()
    return case.id


def case_rows(session: Session, case_id: uuid.UUID) -> dict[str, int]:
    """The rows a case holds, by table (the bound context's walls apply)."""
    case = session.scalars(select(Case).where(Case.id == case_id)).one()
    assessments = select(OutcomeAssessment.id).where(OutcomeAssessment.case_id == case_id)
    criteria: list[tuple[Any, Any]] = [
        (FamilyMember, FamilyMember.family_id == case.family_id),
        (OutcomeScore, OutcomeScore.assessment_id.in_(assessments)),
    ]
    criteria += [(m, m.case_id == case_id) for m in (Contact, OutcomeAssessment, ActionItem)]
    criteria += [(m, m.case_id == case_id) for m in (CaseNote, ConsentRecord)]
    return {
        model.__tablename__: session.scalars(
            select(func.count()).select_from(model).where(where)
        ).one()
        for model, where in criteria
    }


def expected_rows(history: History) -> dict[str, int]:
    """What ``case_rows`` finds in a landed case when the whole family crossed: every record, and
    the two transfer consents the offer rests on (the person in custody's and the partner's)."""
    return {
        FamilyMember.__tablename__: history.members,
        OutcomeScore.__tablename__: history.assessments * len(framework().area_codes()),
        Contact.__tablename__: history.contacts,
        OutcomeAssessment.__tablename__: history.assessments,
        ActionItem.__tablename__: history.actions,
        CaseNote.__tablename__: history.notes,
        ConsentRecord.__tablename__: 2,
    }
