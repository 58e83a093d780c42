"""A family's objection to statistical use goes with its case when the case moves.

The figures leave out a family whose latest word on statistical use is no (DESIGN.md section 7,
app.domain.consent.objects_to_statistics). A transfer makes the family a new family of the
receiving charity, whose consents start from what the package carries; without this, a family
that said no at the sender would be counted again by the receiver from the day it arrives.

The objection is read as the sender at acceptance (the family may have said no after the offer),
over every statistics record of every case of the family there, and landed as a refusal in the
receiver's case dated the day the family said no. Only the word travels: who recorded it, how,
when; never the categories or anything else of the sender's records. A yes is the default and
never needs carrying.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.consent import objects_to_statistics
from app.domain.vocabulary import ConsentDecision, ConsentPurpose, ConsentSubject
from app.models import Case, ConsentRecord
from app.models.base import new_id
from app.services.cases.consents import consent_facts


@dataclass(frozen=True)
class StatisticsObjection:
    """The family's no, as the sender recorded it (plain values: it crosses between contexts)."""

    member_ref: str | None  # the sender's family member id, when a member said it
    given_by_ref: str | None  # the adult who said it for a child
    method: str
    verification: str
    said_on: date
    recorded_by: uuid.UUID
    recorded_at: datetime


def objection_of(session: Session, case: Case, on: date) -> StatisticsObjection | None:
    """The family's objection to statistical use as of ``on``, or None when it has none. Runs
    as the sender; ``case`` is the case being transferred."""
    records = list(
        session.scalars(
            select(ConsentRecord)
            .join(
                Case,
                (Case.charity_id == ConsentRecord.charity_id) & (Case.id == ConsentRecord.case_id),
            )
            .where(
                Case.family_id == case.family_id,
                ConsentRecord.purpose == ConsentPurpose.STATISTICS.value,
            )
        )
    )
    if not objects_to_statistics([consent_facts(r) for r in records], on):
        return None
    # The latest refusal or withdrawal on or before ``on`` is the word the rule found.
    word = max(
        (r for r in records if r.valid_from <= on and r.decision != ConsentDecision.GIVEN.value),
        key=lambda r: (r.valid_from, r.recorded_at, str(r.id)),
    )
    return StatisticsObjection(
        member_ref=str(word.family_member_id) if word.family_member_id else None,
        given_by_ref=str(word.given_by_member_id) if word.given_by_member_id else None,
        method=word.method,
        verification=word.verification,
        said_on=word.valid_from,
        recorded_by=word.recorded_by,
        recorded_at=word.recorded_at,
    )


def carry_objection(
    objection: StatisticsObjection, case: Case, member_ids: dict[str, uuid.UUID]
) -> ConsentRecord:
    """The refusal of statistical use for the receiver's new ``case`` (to add as its own row).
    Said by a member who crossed (with the adult who said it for a child, when there was one),
    it stays theirs; otherwise (who said it stayed behind) it is recorded on the case, under the
    person in custody, as the family's word: the rule is the family's either way."""
    member = member_ids.get(objection.member_ref) if objection.member_ref else None
    given_by = member_ids.get(objection.given_by_ref) if objection.given_by_ref else None
    if objection.given_by_ref and given_by is None:
        member = None
    return ConsentRecord(
        id=new_id(),
        charity_id=case.charity_id,
        prison_code=case.prison_code,
        case_id=case.id,
        subject=(
            ConsentSubject.FAMILY_MEMBER if member else ConsentSubject.PERSON_IN_CUSTODY
        ).value,
        family_member_id=member,
        given_by_member_id=given_by if member else None,
        purpose=ConsentPurpose.STATISTICS.value,
        categories="",
        decision=ConsentDecision.REFUSED.value,
        method=objection.method,
        verification=objection.verification,
        valid_from=objection.said_on,
        recorded_by=objection.recorded_by,
        recorded_at=objection.recorded_at,
    )
