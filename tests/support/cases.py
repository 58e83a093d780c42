"""Case rows for tests that write them directly, below the use cases.

A case needs a family and the family a person in custody. Case tables have no relationship(), so
the unit of work does not order their inserts: each parent is flushed before its child, as
tests/support/world.py and app.services.cases.referrals.open_case do.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from app.domain.vocabulary import (
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    DataCategory,
    ReferralSource,
)
from app.models import Case, CaseStatus, ConsentRecord, Family, PersonInCustody
from app.security.keyring import RootKeyProvider
from app.services.cases.consents import record_consent
from app.services.platform.audit import Origin
from app.services.platform.vault import vault_for
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.support.clock import DEFAULT_NOW
from tests.support.world import World

T = TypeVar("T")
# The day of the test clock's default instant (tests/support/clock.py): desks made by ``desks``
# read the app's clock, so this is the day they and the app work on unless a test moves it.
TODAY = DEFAULT_NOW.date()


def add_family(session: Session, charity_id: uuid.UUID, prison_code: str) -> uuid.UUID:
    """A person in custody (no personal fields) and their family, flushed in ``session``, whose
    bound context must allow the charity and prison; returns the family's id."""
    person = PersonInCustody(id=uuid.uuid4(), charity_id=charity_id, prison_code=prison_code)
    session.add(person)
    session.flush()
    family = Family(
        id=uuid.uuid4(),
        charity_id=charity_id,
        prison_code=prison_code,
        person_in_custody_id=person.id,
    )
    session.add(family)
    session.flush()
    return family.id


def make_family(
    sessions: sessionmaker[Session], charity_id: uuid.UUID, prison_code: str
) -> uuid.UUID:
    """A family committed in a session of its own, bound to exactly that charity and prison, so a
    test can then try to write a case for it from any other context."""
    with sessions() as session:
        bind_tenant(session, TenantContext(charity_id, frozenset({prison_code}), Role.CASEWORKER))
        family_id = add_family(session, charity_id, prison_code)
        session.commit()
    return family_id


def case_row(
    charity_id: uuid.UUID,
    prison_code: str,
    family_id: uuid.UUID,
    *,
    reference: str,
    status: CaseStatus = CaseStatus.REFERRED,
    opened_on: date = date(2026, 1, 5),
    referral_source: ReferralSource = ReferralSource.OTHER_AGENCY,
) -> Case:
    """A case (not yet added to any session) for an existing family."""
    return Case(
        charity_id=charity_id,
        prison_code=prison_code,
        family_id=family_id,
        reference=reference,
        status=status.value,
        opened_on=opened_on,
        referral_source=referral_source.value,
    )


@dataclass
class Desk:
    """One actor at work: calls use cases as the web would, each in a fresh session bound to the
    actor's context, with a fixed clock and a vault over that session.

    Services take ``(session, context, origin[, vault], ...)``; ``do`` passes the vault only to
    those that name one, so a test reads as the use case it calls.
    """

    context: TenantContext
    sessions: sessionmaker[Session]
    root: RootKeyProvider
    origin: Origin

    def at(self, day: date) -> Desk:
        """The same actor with a clock of its own, stopped on ``day`` at 09:30 UTC: an actor
        dated apart from the app (an import for a past day, say)."""
        return replace(self, origin=origin_on(day))

    def do(self, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self.sessions() as session:
            bind_tenant(session, self.context)
            if "vault" in inspect.signature(service).parameters:
                args = (vault_for(session, self.root), *args)
            return service(session, self.context, self.origin, *args, **kwargs)

    def session(self) -> Session:
        """A session bound to the actor's context, for looking at rows directly; close it."""
        session = self.sessions()
        bind_tenant(session, self.context)
        return session


def origin_on(day: date) -> Origin:
    return Origin(source="test", clock=lambda: datetime.combine(day, time(9, 30), tzinfo=UTC))


def context_of(world: World, key: str) -> TenantContext:
    actor = world.actors[key]
    return TenantContext(
        charity_id=world.organisations[actor.org_slug],
        prison_codes=frozenset(actor.prisons),
        role=actor.role,
        user_id=actor.user_id,
    )


def desks(app: Flask, world: World) -> Callable[..., Desk]:
    """Desks for the world's actors, by actor key: what the ``desk`` fixture (tests/conftest.py)
    returns. A desk reads the app's clock (the test's), unless given a ``day`` of its own."""
    state = app.extensions["continuum"]

    def factory(key: str, day: date | None = None) -> Desk:
        origin = Origin("test", state.clock) if day is None else origin_on(day)
        return Desk(context_of(world, key), state.session_factory, state.root_key, origin)

    return factory


def desks_on(
    sessions: sessionmaker[Session], root: RootKeyProvider, world: World, day: date = TODAY
) -> Callable[[str], Desk]:
    """Desks for the world's actors straight on ``sessions``, with no app (for tests of the
    database's own walls), each on a clock stopped on ``day``."""

    def factory(key: str) -> Desk:
        return Desk(context_of(world, key), sessions, root, origin_on(day))

    return factory


def give_consent(desk: Desk, case_id: uuid.UUID, **overrides: Any) -> ConsentRecord:
    """The person in custody's verbal consent to contact, for their identity, unless overridden."""
    fields: dict[str, Any] = {
        "subject": ConsentSubject.PERSON_IN_CUSTODY,
        "purpose": ConsentPurpose.CONTACT,
        "decision": ConsentDecision.GIVEN,
        "method": ConsentMethod.VERBAL,
        "verification": ConsentVerification.NONE,
        "categories": frozenset({DataCategory.IDENTITY}),
        **overrides,
    }
    return desk.do(record_consent, case_id, **fields)


def person_of(session: Session, case_id: uuid.UUID) -> PersonInCustody:
    """The person in custody behind a case, through the session's walls."""
    case = session.get_one(Case, case_id)
    family = session.get_one(Family, case.family_id)
    return session.get_one(PersonInCustody, family.person_in_custody_id)
