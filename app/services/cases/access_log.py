""" "Who looked at this family?" (DESIGN.md section 8), from the charity's own audit chain.

Every event about a case names the case first, so the events that touched a family's cases are
the chain's events whose record ids include one of them. The chain belongs to the asking charity
only, so nothing here can reach another charity's events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain.errors import Forbidden
from app.models import AuditEntry, Case, User
from app.services.cases.scope import case_in_scope, record_event
from app.services.platform import audit
from app.services.platform.audit import Origin
from tenants.context import TenantContext
from tenants.permissions import Permission

MOST_EVENTS = 500


@dataclass(frozen=True)
class Access:
    occurred_at: datetime
    actor: str
    actor_role: str | None
    action: str
    outcome: str
    source: str


def who_viewed(
    session: Session, context: TenantContext, origin: Origin, case_id: uuid.UUID
) -> list[Access]:
    """Every recorded access to the family's cases, newest first (at most MOST_EVENTS).

    For site managers; asking is itself recorded."""
    if not context.may(Permission.CASE_APPROVE):
        raise Forbidden("case:approve")
    case = case_in_scope(session, case_id)
    case_ids = list(session.scalars(select(Case.id).where(Case.family_id == case.family_id)))
    accesses = events_naming(session, context.charity_id, case_ids)
    record_event(session, context, origin, "case.access_log", "case", [case.id])
    session.commit()
    return accesses


def events_naming(
    session: Session, charity_id: uuid.UUID, case_ids: Iterable[uuid.UUID]
) -> list[Access]:
    """The charity's own chain's events naming any of ``case_ids``, newest first (at most
    MOST_EVENTS), with the names of the charity's own staff. Reads no case table, so a charity
    admin (who has no case access) can ask it too (app.services.cases.oversight)."""
    ids = list(case_ids)
    if not ids:
        return []
    chain = audit.chain_for(charity_id, is_charity=True)
    # record_ids is a JSON list of ids: an id matches as a quoted string inside it.
    rows = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.chain == chain,
            or_(*(AuditEntry.record_ids.contains(f'"{case_id}"') for case_id in ids)),
        )
        .order_by(AuditEntry.sequence.desc())
        .limit(MOST_EVENTS)
    ).all()
    actors = {row.actor for row in rows}
    people = {
        str(user.id): user
        for user in session.scalars(
            select(User).where(
                User.id.in_([uuid.UUID(a) for a in actors if _is_uuid(a)]),
                User.organisation_id == charity_id,
            )
        )
    }
    return [
        Access(
            occurred_at=row.occurred_at,
            actor=people[row.actor].display_name if row.actor in people else "unknown",
            actor_role=people[row.actor].role if row.actor in people else None,
            action=row.action,
            outcome=row.outcome,
            source=row.source,
        )
        for row in rows
    ]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
