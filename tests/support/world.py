"""The world every integration test starts from: three charities, their prisons, one actor of
each kind the isolation matrix needs, and one case at each prison. Pact is the third charity of
the transfer tests: a party to no transfer, it must see nothing of any. Built once per database backend
into a template and copied for every test, so each test starts clean.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from app.domain.vocabulary import ReferralSource
from app.models import Case, CaseStatus, Family, PersonInCustody
from app.security import totp
from app.security.keyring import RootKeyProvider
from app.security.sealing import Sealer
from app.services.accounts import accounts
from app.services.platform.keys import ensure_charity_keys
from app.services.platform.reference import ensure_organisation, load_prisons, start_service
from app.services.platform.vault import vault_for
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import OrganisationKind, Role

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Actor:
    key: str
    org_slug: str
    username: str
    user_id: uuid.UUID
    totp_secret: bytes
    role: Role
    prisons: tuple[str, ...]


@dataclass
class World:
    organisations: dict[str, uuid.UUID] = field(default_factory=dict)
    actors: dict[str, Actor] = field(default_factory=dict)
    # (charity slug, prison code) -> case id
    cases: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)
    # (charity slug, prison code) -> the person in custody's prison number and name
    people: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)


ACTORS = (
    # key, organisation, role, prisons
    ("pops_liverpool", "pops", Role.CASEWORKER, ("LPI",)),
    ("pops_wakefield", "pops", Role.CASEWORKER, ("WDI",)),
    ("pops_manager", "pops", Role.SITE_MANAGER, ("LPI", "WDI")),
    ("pops_admin", "pops", Role.CHARITY_ADMIN, ()),
    ("nepacs_durham", "nepacs", Role.CASEWORKER, ("DMI",)),
    ("nepacs_manager", "nepacs", Role.SITE_MANAGER, ("DMI",)),
    ("pact_manager", "pact", Role.SITE_MANAGER, ("BMI",)),
    ("coordinator", "alliance", Role.ALLIANCE_COORDINATOR, ()),
    ("ministry", "ministry", Role.MINISTRY_ANALYST, ()),
)
SERVICES = (("pops", "LPI"), ("pops", "WDI"), ("nepacs", "DMI"), ("pact", "BMI"))
# Synthetic people in custody, one per world case; the same prison number at two charities, so a
# blind-index lookup that crossed charities would show.
PEOPLE = {
    ("pops", "LPI"): ("A1234BC", "Daniel Worldcase"),
    ("pops", "WDI"): ("B2345CD", "Marcus Wakefieldcase"),
    ("nepacs", "DMI"): ("A1234BC", "Peter Durhamcase"),
    ("pact", "BMI"): ("C3456DE", "Owen Birminghamcase"),
}


def build_world(
    owner: sessionmaker[Session],
    app: sessionmaker[Session],
    sealer: Sealer,
    root: RootKeyProvider,
) -> World:
    world = World()
    with owner() as session:
        load_prisons(session)
        orgs = {
            "pops": ensure_organisation(session, "pops", "POPS", OrganisationKind.CHARITY),
            "nepacs": ensure_organisation(session, "nepacs", "NEPACS", OrganisationKind.CHARITY),
            "pact": ensure_organisation(session, "pact", "Pact", OrganisationKind.CHARITY),
            "alliance": ensure_organisation(
                session, "alliance", "Alliance", OrganisationKind.ALLIANCE
            ),
            "ministry": ensure_organisation(
                session, "ministry", "Ministry", OrganisationKind.MINISTRY
            ),
        }
        for slug, code in SERVICES:
            start_service(session, orgs[slug], code, date(2020, 1, 1))
        session.commit()
        world.organisations = {slug: org.id for slug, org in orgs.items()}
        ensure_charity_keys(session, root)
    with app() as session:
        from app.models import Organisation

        for key, slug, role, prisons in ACTORS:
            organisation = session.get(Organisation, world.organisations[slug])
            user = accounts.create_user(
                session,
                organisation,
                username=key.replace("_", "."),
                display_name=key,
                role=role,
                password=PASSWORD,
                prison_codes=prisons,
            )
            secret = totp.new_secret()
            user.totp_secret_sealed = sealer.seal(secret, f"users.totp_secret|{user.id}")
            user.totp_confirmed = True
            session.commit()
            world.actors[key] = Actor(key, slug, user.username, user.id, secret, role, prisons)
    for slug in ("pops", "nepacs", "pact"):
        codes = frozenset(code for s, code in SERVICES if s == slug)
        with app() as session:
            charity_id = world.organisations[slug]
            bind_tenant(session, TenantContext(charity_id, codes, Role.SITE_MANAGER))
            vault = vault_for(session, root)
            for code in sorted(codes):
                number, name = PEOPLE[(slug, code)]
                person = PersonInCustody(
                    id=uuid.uuid4(),
                    charity_id=charity_id,
                    prison_code=code,
                    prison_number_index=vault.prison_number_index(charity_id, number),
                )
                vault.seal(person, "name", name)
                vault.seal(person, "prison_number", number)
                family = Family(
                    id=uuid.uuid4(),
                    charity_id=charity_id,
                    prison_code=code,
                    person_in_custody_id=person.id,
                )
                # No relationship() between case tables: parents are flushed before children.
                session.add(person)
                session.flush()
                session.add(family)
                session.flush()
                case = Case(
                    charity_id=charity_id,
                    prison_code=code,
                    family_id=family.id,
                    reference=f"{code}-20-WORLD",
                    status=CaseStatus.ACTIVE.value,
                    referral_source=ReferralSource.PRISON_STAFF.value,
                    opened_on=date(2025, 6, 1),
                )
                session.add(case)
                session.flush()
                world.cases[(slug, code)] = case.id
                world.people[(slug, code)] = (number, name)
            session.commit()
    return world
