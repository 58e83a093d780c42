"""A caseworker's home: my open cases, reviews that are due, recent contacts at my prisons, and
the newest open cases there (a new referral may have no key worker yet: it shows here first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, Contact
from app.models.cases import OPEN_STATUSES
from app.services.cases.cases import CaseSummary, summarise
from app.services.cases.scope import record_event, require
from app.services.platform.audit import Origin
from app.services.platform.vault import Vault
from tenants.context import TenantContext
from tenants.permissions import Permission

# A home page is a glance, not a report: each list is short and links to the full one.
LIST_LENGTH = 15
RECENT_DAYS = 14


@dataclass(frozen=True)
class RecentContact:
    summary: CaseSummary
    kind: str
    occurred_on: date


@dataclass(frozen=True)
class Caseload:
    mine: list[CaseSummary]
    reviews_due: list[CaseSummary]
    recent: list[RecentContact]
    today: date
    latest: list[CaseSummary]


def caseload(session: Session, context: TenantContext, origin: Origin, vault: Vault) -> Caseload:
    """One audit event names every case the page shows."""
    require(context, Permission.CASE_READ)
    today = origin.clock().date()
    open_values = [status.value for status in OPEN_STATUSES]
    mine = list(
        session.scalars(
            select(Case)
            .where(Case.key_worker_id == context.user_id, Case.status.in_(open_values))
            .order_by(Case.review_due_on.asc().nulls_last(), Case.opened_on.desc())
            .limit(LIST_LENGTH)
        )
    )
    due = list(
        session.scalars(
            select(Case)
            .where(Case.status.in_(open_values), Case.review_due_on <= today)
            .order_by(Case.review_due_on, Case.id)
            .limit(LIST_LENGTH)
        )
    )
    contacts = session.execute(
        select(Contact.case_id, Contact.kind, Contact.occurred_on)
        .where(Contact.occurred_on >= today - timedelta(days=RECENT_DAYS))
        .order_by(Contact.occurred_on.desc(), Contact.created_at.desc())
        .limit(LIST_LENGTH)
    ).all()
    contact_cases = {
        case.id: case
        for case in session.scalars(select(Case).where(Case.id.in_({c[0] for c in contacts})))
    }
    latest = list(
        session.scalars(
            select(Case)
            .where(Case.status.in_(open_values))
            .order_by(Case.opened_on.desc(), Case.id.desc())
            .limit(LIST_LENGTH)
        )
    )
    shown = {case.id: case for case in [*mine, *due, *contact_cases.values(), *latest]}
    summaries = {s.case.id: s for s in summarise(session, vault, list(shown.values()))}
    record_event(session, context, origin, "case.list", "case", list(shown))
    session.commit()
    return Caseload(
        mine=[summaries[c.id] for c in mine],
        reviews_due=[summaries[c.id] for c in due],
        recent=[
            RecentContact(summaries[case_id], kind, occurred_on)
            for case_id, kind, occurred_on in contacts
            if case_id in summaries
        ],
        today=today,
        latest=[summaries[c.id] for c in latest],
    )
