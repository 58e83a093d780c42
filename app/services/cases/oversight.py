"""Oversight: a site manager's caseload by prison, and a charity admin's "who looked at this case?".

The caseload is counted in SQL through the walls (the tenant context decides which charity and
prisons are counted), so nothing is decrypted and no case is named. The admin's access log reads
the charity's own audit chain only: a charity admin has no case access (decisions.md), and a case
of another charity simply has no events in this chain.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Case, CaseStatus, Prison
from app.models.cases import OPEN_STATUSES
from app.services.accounts.staff import StaffAdmin, require_admin
from app.services.cases.access_log import Access, events_naming
from app.services.cases.scope import require
from app.services.platform import audit
from app.services.platform.audit import Origin
from tenants.context import TenantContext
from tenants.permissions import Permission

# The order a manager reads a case's life in: from referral to transfer.
OPEN_ORDER = tuple(status for status in CaseStatus if status in OPEN_STATUSES)


@dataclass(frozen=True)
class PrisonCaseload:
    code: str
    name: str
    # Open cases by status; every open status is present, zero included.
    by_status: dict[CaseStatus, int]
    reviews_overdue: int

    @property
    def open_cases(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class CaseloadByPrison:
    prisons: list[PrisonCaseload]
    statuses: tuple[CaseStatus, ...]
    today: date


def caseload_by_prison(
    session: Session, context: TenantContext, origin: Origin
) -> CaseloadByPrison:
    """Open cases per prison and status, and reviews overdue (due before today), for every prison
    the manager works at. Counts only: no record is shown, so no audit event is written."""
    require(context, Permission.CASE_APPROVE)
    today = origin.clock().date()
    open_values = [status.value for status in OPEN_STATUSES]
    counts = session.execute(
        select(Case.prison_code, Case.status, func.count())
        .where(Case.status.in_(open_values))
        .group_by(Case.prison_code, Case.status)
    ).all()
    overdue: dict[str, int] = {
        code: count
        for code, count in session.execute(
            select(Case.prison_code, func.count())
            .where(Case.status.in_(open_values), Case.review_due_on < today)
            .group_by(Case.prison_code)
        )
    }
    by_prison: dict[str, dict[CaseStatus, int]] = {
        code: dict.fromkeys(OPEN_ORDER, 0) for code in context.prison_codes
    }
    for code, status, count in counts:
        # The walls only return the context's prisons; a row elsewhere would be a wall's bug.
        by_prison[code][CaseStatus(status)] = count
    names: dict[str, str] = {
        code: name
        for code, name in session.execute(
            select(Prison.code, Prison.name).where(Prison.code.in_(context.prison_codes))
        )
    }
    prisons = [
        PrisonCaseload(code, names.get(code, code), by_prison[code], overdue.get(code, 0))
        for code in sorted(by_prison, key=lambda code: names.get(code, code))
    ]
    return CaseloadByPrison(prisons=prisons, statuses=OPEN_ORDER, today=today)


def charity_access_log(
    session: Session, admin: StaffAdmin, origin: Origin, case_id: uuid.UUID | None
) -> list[Access] | None:
    """Who looked at a case, from the admin's own charity's audit chain; None when no case was
    asked about. Reads no case table, so it is by case id, not family. Asking is recorded."""
    require_admin(admin)
    if case_id is None:
        return None
    accesses = events_naming(session, admin.organisation_id, [case_id])
    audit.record(
        session,
        audit.draft_event(
            origin,
            chain=audit.chain_for(admin.organisation_id, is_charity=True),
            actor=admin.user_id,
            organisation=admin.organisation_id,
            action="case.access_log",
            record_type="case",
            record_ids=[case_id],
        ),
    )
    session.commit()
    return accesses
