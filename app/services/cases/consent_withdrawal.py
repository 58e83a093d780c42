"""Withdrawing a consent (DESIGN.md sections 5 and 6): the withdrawal is recorded, and every
transfer of the case it leaves without the family's consent stops, in one transaction.

Composed here, above both, so that app.services.cases.consents (which the transfers' consent gate
reads) imports nothing of app.services.transfers.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.orm import Session

from app.domain.vocabulary import ConsentMethod, ConsentPurpose, ConsentVerification
from app.models import ConsentRecord
from app.services.cases.consents import record_withdrawal
from app.services.platform.audit import Origin
from app.services.transfers import halt_for_withdrawal
from tenants.context import TenantContext


def withdraw_consent(
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
    halt the transfers of its case that no longer have the family's consent."""
    record = record_withdrawal(
        session,
        context,
        origin,
        case_id,
        consent_id,
        method=method,
        verification=verification,
        withdrawn_on=withdrawn_on,
    )
    # A transfer whose consent gate no longer opens stops in this same transaction (section 6);
    # the withdrawal record carries the purpose and charity of the consent it withdraws.
    halt_for_withdrawal(
        session,
        context,
        origin,
        record.case_id,
        purpose=ConsentPurpose(record.purpose),
        recipient_charity_id=record.recipient_charity_id,
    )
    session.commit()
    return record
