"""A demo member of staff at work, through the real use cases (app.demo.transfers): each use
case with the session bound to their context and the clock at the moment a story gives; and a
family's casework (members, contacts, notes, assessments, the action plan) recorded in the order
it happened, each entry by its own use case.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo.histories import ActionPlan, AssessmentPlan, ContactPlan, NotePlan
from app.domain.people import MemberDetails
from app.models import Case, FamilyMember
from app.security.keyring import RootKeyProvider
from app.services import transfers
from app.services.cases import casework, family_file
from app.services.platform.audit import Origin
from app.services.platform.vault import vault_for
from app.services.transfers import movements
from tenants.context import TenantContext
from tenants.guard import bind_tenant

T = TypeVar("T")


class StoryIncomplete(ValueError):
    """Raised when a demo story reaches a step it holds no date or record for (a fault in the
    story's plan, never in the data)."""


def planned(value: T | None, what: str) -> T:
    """``value``, which the story's plan promises at this step."""
    if value is None:
        raise StoryIncomplete(f"the demo's story has no {what} at this step")
    return value


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


@dataclass(frozen=True)
class Desk:
    """One member of staff (or the platform: no user) at work: each use case with the session
    bound to their context, and the clock at the moment given. The stories share one session
    (one connection: on SQLite a connection closed after each of ~170 steps costs a checkpoint
    each); nothing loaded for one context is kept for the next (as tenants.system.acting_for)."""

    session: Session
    root: RootKeyProvider
    context: TenantContext

    def _bind(self) -> Session:
        self.session.expunge_all()
        bind_tenant(self.session, self.context)
        return self.session

    def do(self, when: datetime, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        session = self._bind()
        if "vault" in inspect.signature(service).parameters:
            args = (vault_for(session, self.root), *args)
        try:
            return service(session, self.context, Origin("demo", lambda: when), *args, **kwargs)
        finally:
            session.rollback()  # after the use case's own commit: nothing left open

    def main_contact(self, case_id: uuid.UUID) -> uuid.UUID:
        """The main contact of the case's family, read through the walls."""
        session = self._bind()
        try:
            case = session.scalars(select(Case).where(Case.id == case_id)).one()
            return session.scalars(
                select(FamilyMember.id).where(
                    FamilyMember.family_id == case.family_id, FamilyMember.is_main_contact
                )
            ).one()
        finally:
            session.rollback()

    def import_movements(self, when: datetime, lines: Sequence[str]) -> list[uuid.UUID]:
        """A movement feed file, imported by the platform for no charity (as ``continuum
        movements import``); the transfers it proposed."""
        self.session.expunge_all()
        bind_tenant(self.session, None)
        vault = vault_for(self.session, self.root)
        rows = movements.read_movement_file(lines)
        origin = Origin("demo movements import", lambda: when)
        return movements.import_movements(self.session, origin, vault, rows).proposed

    def lapse_offers(self, when: datetime) -> None:
        """The job that lapses the unanswered offers this desk's charity sent."""
        session = self._bind()
        transfers.expire_overdue(session, Origin("demo", lambda: when), self.context.charity_id)
        session.commit()


@dataclass(frozen=True)
class Member:
    """A family member added when the case opened, or a baby the day after they were born."""

    details: MemberDetails
    opened_on: date

    @property
    def added_on(self) -> date:
        born = self.details.date_of_birth
        return max(self.opened_on, born + timedelta(days=1)) if born else self.opened_on


@dataclass(frozen=True)
class Settled:
    """The action plan item at ``index`` settled (done or dropped) on its day."""

    index: int
    action: ActionPlan


Entry = Member | ContactPlan | NotePlan | AssessmentPlan | ActionPlan | Settled


def moment_of(entry: Entry) -> datetime:
    """When an entry was recorded: contacts in the morning, notes at the end of the day."""
    if isinstance(entry, Member):
        return at(entry.added_on, 9, 5)
    if isinstance(entry, ContactPlan):
        return at(entry.occurred_on, 11)
    if isinstance(entry, NotePlan):
        return at(entry.written_on, 16)
    if isinstance(entry, AssessmentPlan):
        return at(entry.assessed_on, 12)
    if isinstance(entry, ActionPlan):
        return at(entry.agreed_on, 12, 30)
    return at(planned(entry.action.settled_on, "settled date"), 13)


def record(desk: Desk, case_id: uuid.UUID, entries: Sequence[Entry]) -> None:
    """Each entry through its use case, in the order they happened (as the family's timeline
    and audit trail will show them)."""
    actions: list[uuid.UUID] = []
    for entry in sorted(entries, key=moment_of):
        moment = moment_of(entry)
        if isinstance(entry, Member):
            desk.do(moment, family_file.add_member, case_id, entry.details)
        elif isinstance(entry, ContactPlan):
            desk.do(
                moment,
                casework.add_contact,
                case_id,
                kind=entry.kind,
                occurred_on=entry.occurred_on,
                first_time_visitor=entry.first_time_visitor,
                children_present=entry.children_present,
                children_count=entry.children_count,
                duration_minutes=entry.duration_minutes,
                summary=entry.summary,
            )
        elif isinstance(entry, NotePlan):
            desk.do(moment, casework.add_note, case_id, body=entry.body)
        elif isinstance(entry, AssessmentPlan):
            desk.do(
                moment,
                casework.record_assessment,
                case_id,
                assessed_on=entry.assessed_on,
                scores=entry.scores,
            )
        elif isinstance(entry, ActionPlan):
            added = desk.do(
                moment,
                casework.add_action,
                case_id,
                description=entry.description,
                owner=entry.owner,
                due_on=entry.due_on,
            )
            actions.append(added.id)
        else:
            desk.do(
                moment,
                casework.settle_action,
                case_id,
                actions[entry.index],
                status=entry.action.status,
                settled_on=entry.action.settled_on,
            )
