"""Recording consent, withdrawing it, and the family's receipt (DESIGN.md section 5).

A consent record is never edited: a change is a new record and a withdrawal is a record naming
the one it withdraws, working forward from its date. Declining never blocks the family's support.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.consent import (
    LONGEST_VALIDITY,
    ConsentFacts,
    ConsentState,
    default_expiry,
    state_of,
    withdrawals,
)
from app.domain.errors import Conflict, InvalidInput, NotFound
from app.domain.vocabulary import (
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    DataCategory,
    MemberKind,
)
from app.models import CaseStatus, ConsentRecord, FamilyMember, Organisation, PersonInCustody
from app.models import Family as FamilyRow
from app.models.base import new_id
from app.services.cases.scope import case_for_work, case_in_scope, record_event, require
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import OrganisationKind, Permission


def consent_facts(record: ConsentRecord) -> ConsentFacts:
    return ConsentFacts(
        id=record.id,
        subject_key=str(record.family_member_id)
        if record.family_member_id
        else "person_in_custody",
        purpose=ConsentPurpose(record.purpose),
        decision=ConsentDecision(record.decision),
        categories=frozenset(DataCategory(c) for c in record.categories.split(",") if c),
        valid_from=record.valid_from,
        expires_on=record.expires_on,
        recipient_charity_id=record.recipient_charity_id,
        withdraws_id=record.withdraws_id,
    )


def record_consent(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    *,
    subject: ConsentSubject,
    purpose: ConsentPurpose,
    decision: ConsentDecision,
    method: ConsentMethod,
    verification: ConsentVerification,
    categories: frozenset[DataCategory],
    family_member_id: uuid.UUID | None = None,
    given_by_member_id: uuid.UUID | None = None,
    recipient_charity_id: uuid.UUID | None = None,
    valid_from: date | None = None,
    expires_on: date | None = None,
) -> ConsentRecord:
    """Record what a person agreed to (or refused). A given consent to contact the family
    makes a new referral an active case."""
    case = case_for_work(session, context, case_id)
    today = origin.clock().date()
    valid_from = valid_from or today
    errors: dict[str, list[str]] = {}
    if decision is ConsentDecision.WITHDRAWN:
        errors["decision"] = ["withdraw a consent from its own record"]
    if valid_from > today:
        errors["valid_from"] = ["consent is recorded when it is given: the date cannot be ahead"]
    if decision is ConsentDecision.GIVEN:
        # A start in the future is refused above; its default end could lie past the calendar.
        if expires_on is None and valid_from <= today:
            expires_on = default_expiry(valid_from)
        if expires_on is not None:
            if expires_on < valid_from:
                errors["expires_on"] = ["the consent cannot end before it starts"]
            elif expires_on - valid_from > LONGEST_VALIDITY:
                errors["expires_on"] = ["record consent for five years at most"]
        if not categories:
            errors["categories"] = ["choose at least one kind of information"]
    else:
        expires_on = None
    members = {
        m.id: m
        for m in session.scalars(
            select(FamilyMember).where(FamilyMember.family_id == case.family_id)
        )
    }
    if subject is ConsentSubject.FAMILY_MEMBER:
        member = members.get(family_member_id) if family_member_id else None
        if member is None:
            errors["family_member_id"] = ["choose a member of this family"]
        elif member.kind == MemberKind.CHILD and given_by_member_id is None:
            errors["given_by_member_id"] = ["a parent or carer gives consent for a child"]
    elif family_member_id is not None:
        errors["family_member_id"] = ["leave this empty when the person in custody consents"]
    if given_by_member_id is not None:
        adult = members.get(given_by_member_id)
        if adult is None or adult.kind != MemberKind.ADULT:
            errors["given_by_member_id"] = ["choose an adult of this family"]
    if purpose is ConsentPurpose.TRANSFER:
        receiver = session.get(Organisation, recipient_charity_id) if recipient_charity_id else None
        if (
            receiver is None
            or receiver.kind != OrganisationKind.CHARITY
            or receiver.id == context.charity_id
        ):
            errors["recipient_charity_id"] = ["name the charity the case would go to"]
    elif recipient_charity_id is not None:
        errors["recipient_charity_id"] = ["only a transfer consent names a charity"]
    if errors:
        raise InvalidInput(errors)
    record = ConsentRecord(
        id=new_id(),
        charity_id=case.charity_id,
        prison_code=case.prison_code,
        case_id=case.id,
        subject=ConsentSubject(subject).value,
        family_member_id=family_member_id,
        given_by_member_id=given_by_member_id,
        purpose=ConsentPurpose(purpose).value,
        recipient_charity_id=recipient_charity_id,
        categories=",".join(sorted(DataCategory(c).value for c in categories)),
        decision=ConsentDecision(decision).value,
        method=ConsentMethod(method).value,
        verification=ConsentVerification(verification).value,
        valid_from=valid_from,
        expires_on=expires_on,
        recorded_by=context.user_id,
        recorded_at=origin.clock(),
    )
    session.add(record)
    if (
        purpose is ConsentPurpose.CONTACT
        and decision is ConsentDecision.GIVEN
        and case.status in (CaseStatus.REFERRED.value, CaseStatus.AWAITING_CONSENT.value)
    ):
        case.status = CaseStatus.ACTIVE.value
    session.flush()
    record_event(session, context, origin, "consent.create", "consent", [case.id, record.id])
    session.commit()
    return record


def record_withdrawal(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    consent_id: uuid.UUID,
    *,
    method: ConsentMethod,
    verification: ConsentVerification,
    withdrawn_on: date | None = None,
) -> ConsentRecord:
    """Record that a given consent is withdrawn from ``withdrawn_on`` (today by default), and
    audit it; the caller halts what the withdrawal stops and commits
    (app.services.cases.consent_withdrawal.withdraw_consent)."""
    case = case_for_work(session, context, case_id)
    original = session.scalar(
        select(ConsentRecord).where(
            ConsentRecord.id == consent_id, ConsentRecord.case_id == case.id
        )
    )
    if original is None:
        raise NotFound("consent")
    today = origin.clock().date()
    withdrawn_on = withdrawn_on or today
    siblings = session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id)).all()
    facts = [consent_facts(r) for r in siblings]
    state = state_of(consent_facts(original), today, withdrawals(facts))
    if original.decision != ConsentDecision.GIVEN.value or state in (
        ConsentState.WITHDRAWN,
        ConsentState.EXPIRED,
    ):
        raise Conflict("only a consent that is still in force can be withdrawn")
    if withdrawn_on > today or withdrawn_on < original.valid_from:
        raise InvalidInput({"withdrawn_on": ["the date must be between the consent and today"]})
    record = ConsentRecord(
        id=new_id(),
        charity_id=case.charity_id,
        prison_code=case.prison_code,
        case_id=case.id,
        subject=original.subject,
        family_member_id=original.family_member_id,
        given_by_member_id=original.given_by_member_id,
        purpose=original.purpose,
        recipient_charity_id=original.recipient_charity_id,
        categories=original.categories,
        decision=ConsentDecision.WITHDRAWN.value,
        method=ConsentMethod(method).value,
        verification=ConsentVerification(verification).value,
        valid_from=withdrawn_on,
        withdraws_id=original.id,
        recorded_by=context.user_id,
        recorded_at=origin.clock(),
    )
    session.add(record)
    session.flush()
    record_event(
        session, context, origin, "consent.withdraw", "consent", [case.id, record.id, original.id]
    )
    return record


@dataclass(frozen=True)
class ConsentReceipt:
    """What a family member takes away: what they agreed to, with whom, and until when."""

    consent_id: uuid.UUID
    case_reference: str
    charity_name: str
    prison_code: str
    subject: str
    subject_name: str | None
    given_by_name: str | None
    purpose: str
    recipient_charity: str | None
    categories: tuple[str, ...]
    decision: str
    method: str
    verification: str
    valid_from: date
    expires_on: date | None
    state: str
    withdrawn_on: date | None
    recorded_at: datetime


def consent_receipt(
    session: Session,
    context: TenantContext,
    origin: Origin,
    vault: Vault,
    case_id: uuid.UUID,
    consent_id: uuid.UUID,
) -> ConsentReceipt:
    """The receipt of one consent record; reading it is audited like any personal data."""
    require(context, Permission.CASE_READ)
    case = case_in_scope(session, case_id)
    record = session.scalar(
        select(ConsentRecord).where(
            ConsentRecord.id == consent_id, ConsentRecord.case_id == case.id
        )
    )
    if record is None:
        raise NotFound("consent")
    siblings = session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id)).all()
    facts = [consent_facts(r) for r in siblings]
    withdrawn = withdrawals(facts)
    today = origin.clock().date()

    def member_name(member_id: uuid.UUID | None) -> str | None:
        if member_id is None:
            return None
        member = session.scalar(select(FamilyMember).where(FamilyMember.id == member_id))
        return vault.open(member, "name") if member else None

    if record.family_member_id is None:
        family = session.scalars(select(FamilyRow).where(FamilyRow.id == case.family_id)).one()
        person = session.scalars(
            select(PersonInCustody).where(PersonInCustody.id == family.person_in_custody_id)
        ).one()
        subject_name = vault.open(person, "name")
    else:
        subject_name = member_name(record.family_member_id)
    charity = session.get(Organisation, case.charity_id)
    recipient = (
        session.get(Organisation, record.recipient_charity_id)
        if record.recipient_charity_id
        else None
    )
    state = state_of(consent_facts(record), today, withdrawn).value
    receipt = ConsentReceipt(
        consent_id=record.id,
        case_reference=case.reference,
        charity_name=charity.name if charity else "",
        prison_code=case.prison_code,
        subject=record.subject,
        subject_name=subject_name,
        given_by_name=member_name(record.given_by_member_id),
        purpose=record.purpose,
        recipient_charity=recipient.name if recipient else None,
        categories=tuple(c for c in record.categories.split(",") if c),
        decision=record.decision,
        method=record.method,
        verification=record.verification,
        valid_from=record.valid_from,
        expires_on=record.expires_on,
        state=state,
        withdrawn_on=withdrawn.get(record.id),
        recorded_at=record.recorded_at,
    )
    record_event(session, context, origin, "consent.receipt", "consent", [case.id, record.id])
    session.commit()
    return receipt
