"""Equality monitoring, kept apart from the case file (DESIGN.md section 2).

The family page never shows it; it is read and written on its own page, each time audited as its
own action, and leaves the charity only as suppressed national totals (section 7).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import InvalidInput
from app.domain.vocabulary import Disability, Ethnicity, Sex
from app.models import EqualityMonitoring, FamilyMember
from app.models.base import new_id
from app.services.cases.scope import case_for_work, case_in_scope, record_event, require
from app.services.platform.audit import Origin
from tenants.context import TenantContext
from tenants.permissions import Permission


@dataclass(frozen=True)
class EqualityAnswers:
    ethnicity: Ethnicity
    sex: Sex
    disability: Disability
    first_language: str | None = None


def read_equality(
    session: Session, context: TenantContext, origin: Origin, case_id: uuid.UUID
) -> dict[uuid.UUID, EqualityAnswers]:
    """Each family member's answers, by member id (members who gave none are absent)."""
    require(context, Permission.CASE_READ)
    case = case_in_scope(session, case_id)
    member_ids = list(
        session.scalars(select(FamilyMember.id).where(FamilyMember.family_id == case.family_id))
    )
    rows = session.scalars(
        select(EqualityMonitoring).where(EqualityMonitoring.family_member_id.in_(member_ids))
    ).all()
    record_event(session, context, origin, "equality.read", "equality", [case.id, *member_ids])
    session.commit()
    return {
        row.family_member_id: EqualityAnswers(
            Ethnicity(row.ethnicity), Sex(row.sex), Disability(row.disability), row.first_language
        )
        for row in rows
    }


def record_equality(
    session: Session,
    context: TenantContext,
    origin: Origin,
    case_id: uuid.UUID,
    member_id: uuid.UUID,
    answers: EqualityAnswers,
) -> EqualityMonitoring:
    """Record or replace one member's answers (the audit log keeps that it changed)."""
    case = case_for_work(session, context, case_id)
    member = session.scalar(
        select(FamilyMember).where(
            FamilyMember.id == member_id, FamilyMember.family_id == case.family_id
        )
    )
    if member is None:
        raise InvalidInput({"family_member_id": ["choose a member of this family"]})
    row = session.scalar(
        select(EqualityMonitoring).where(EqualityMonitoring.family_member_id == member.id)
    )
    if row is None:
        row = EqualityMonitoring(
            id=new_id(),
            charity_id=case.charity_id,
            prison_code=case.prison_code,
            family_member_id=member.id,
        )
        session.add(row)
    row.ethnicity = Ethnicity(answers.ethnicity).value
    row.sex = Sex(answers.sex).value
    row.disability = Disability(answers.disability).value
    row.first_language = (answers.first_language or "").strip() or None
    session.flush()
    record_event(session, context, origin, "equality.write", "equality", [case.id, member.id])
    session.commit()
    return row
