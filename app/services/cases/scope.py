"""What every case use case starts with: the permission, the case in scope, and its audit event.

Nothing here filters by charity or prison: the walls do (tenants/). A case outside the context is
as missing as one never made.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.errors import Conflict, Forbidden, NotFound
from app.models import Case, CaseStatus
from app.services.platform import audit
from app.services.platform.audit import Origin
from tenants.context import TenantContext
from tenants.permissions import Permission

# A case in these states is kept as it was: read-only.
READ_ONLY_STATUSES = frozenset({CaseStatus.CLOSED.value, CaseStatus.TRANSFERRED_OUT.value})


def require(context: TenantContext, permission: Permission) -> None:
    if not context.may(permission):
        raise Forbidden(permission.value)


def case_in_scope(session: Session, case_id: uuid.UUID) -> Case:
    case = session.scalar(select(Case).where(Case.id == case_id))
    if case is None:
        raise NotFound("case")
    return case


def case_for_work(session: Session, context: TenantContext, case_id: uuid.UUID) -> Case:
    """A case the context may add work to: in scope, writable by the role, and still open."""
    require(context, Permission.CASE_WRITE)
    case = case_in_scope(session, case_id)
    if case.status in READ_ONLY_STATUSES:
        raise Conflict("this case is closed: reopen it or open a new case")
    return case


def record_event(
    session: Session,
    context: TenantContext,
    origin: Origin,
    action: str,
    record_type: str,
    record_ids: Iterable[uuid.UUID],
) -> None:
    """One audit event in the charity's chain, in the caller's transaction. Case events name the
    case first, so "who viewed this family" finds them by the case's id."""
    audit.record(
        session,
        audit.draft_event(
            origin,
            chain=audit.chain_for(context.charity_id, is_charity=True),
            actor=context.user_id or audit.UNKNOWN_ACTOR,
            organisation=context.charity_id,
            action=action,
            record_type=record_type,
            record_ids=list(record_ids),
        ),
    )
