"""What encryption and audit cost a caseworker: the family page and finding a family.

Run:
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.casework            # SQLite and PostgreSQL
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.casework --quick    # smaller, SQLite only

Two measurements, each against a baseline measured in the same run:

1. The family page: ``read_family`` (walls, every field decrypted, one audit event, commit) on a
   family with a year of work, against the same walled SELECTs that fetch the ciphertext without
   decrypting or auditing. The ratio is what decryption and the audit event add.
2. Finding a family among N in the searcher's prisons: by name (decrypts every name in scope and
   matches words, ``search.find_cases``) against by prison number (blind-index lookup, the same
   function). The ratio shows what the decision not to keep a name index costs as a caseload grows.

Timings are reported, never asserted (the issue's rule for benchmarks).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_session_factory
from app.domain.outcomes import framework
from app.domain.people import MemberDetails, PersonDetails
from app.domain.vocabulary import (
    ActionOwner,
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    ContactKind,
    DataCategory,
    MemberKind,
    ReferralSource,
    Relationship,
)
from app.migrate import upgrade
from app.models import (
    ActionItem,
    Case,
    CaseNote,
    ConsentRecord,
    Contact,
    Family,
    FamilyMember,
    Organisation,
    OutcomeAssessment,
    OutcomeScore,
    PersonInCustody,
)
from app.security.keyring import LocalRootKey
from app.services.accounts import accounts
from app.services.cases import casework, consents, family_file, search
from app.services.cases.referrals import open_case
from app.services.platform.audit import Origin
from app.services.platform.keys import ensure_charity_keys
from app.services.platform.reference import ensure_organisation, load_prisons, start_service
from app.services.platform.vault import vault_for
from bench.isolation import APP_ROLE, OWNER_ROLE, _settings
from bench.roles import throwaway_server
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import OrganisationKind, Role

TODAY = datetime(2026, 11, 20, 10, tzinfo=UTC)
PRISONS = ("LPI", "WDI")
FIRST = ("Aaron", "Bea", "Chloe", "Dev", "Ellis", "Farah", "Gus", "Hana", "Ivo", "Jade")
LAST = ("Adams", "Begum", "Clarke", "Doyle", "Evans", "Fox", "Grant", "Hughes", "Iqbal", "Jones")


def _clock() -> datetime:
    return TODAY


def _origin() -> Origin:
    return Origin("bench", _clock)


_WORKER: dict[uuid.UUID, uuid.UUID] = {}


def _context(charity_id: uuid.UUID) -> TenantContext:
    return TenantContext(charity_id, frozenset(PRISONS), Role.SITE_MANAGER, _WORKER[charity_id])


def _prepare(
    owner: sessionmaker[Session], app: sessionmaker[Session], root: LocalRootKey
) -> uuid.UUID:
    with owner() as session:
        load_prisons(session)
        charity = ensure_organisation(session, "bench", "Bench charity", OrganisationKind.CHARITY)
        for code in PRISONS:
            start_service(session, charity, code, date(2020, 1, 1))
        session.commit()
        ensure_charity_keys(session, root)
        charity_id = charity.id
    with app() as session:
        organisation = session.get_one(Organisation, charity_id)
        user = accounts.create_user(
            session,
            organisation,
            username="bench.manager",
            display_name="Bench manager",
            role=Role.SITE_MANAGER,
            password=uuid.uuid4().hex,
            prison_codes=PRISONS,
        )
        session.commit()
        _WORKER[charity_id] = user.id
    return charity_id


def _seed(app: sessionmaker[Session], root: LocalRootKey, charity_id: uuid.UUID, n: int) -> None:
    """``n`` families through ``open_case``; the first one gets a year of work."""
    context = _context(charity_id)
    with app() as session:
        bind_tenant(session, context)
        vault = vault_for(session, root)
        for i in range(n):
            name = f"{FIRST[i % 10]} {LAST[(i // 10) % 10]}{i}"
            open_case(
                session,
                context,
                _origin(),
                vault,
                prison_code=PRISONS[i % 2],
                person=PersonDetails(name=name, prison_number=f"A{i:04d}BC"),
                main_contact=MemberDetails(MemberKind.ADULT, Relationship.PARTNER, f"Kim {i}"),
                referral_source=ReferralSource.SELF,
                opened_on=date(2025, 11, 1),
            )
        case_id = session.scalars(select(Case.id).order_by(Case.created_at).limit(1)).one()
        _a_year_of_work(session, context, vault, case_id)


def _a_year_of_work(session: Session, context: TenantContext, vault: Any, case_id: Any) -> None:
    origin = _origin()
    start = date(2025, 11, 3)
    for week in range(52):
        casework.add_contact(
            session,
            context,
            origin,
            vault,
            case_id,
            kind=ContactKind.VISIT,
            occurred_on=start + timedelta(weeks=week),
            children_present=True,
            summary=f"Visit {week}: talked about school, contact with dad and the next steps.",
        )
        if week % 2 == 0:
            casework.add_note(
                session, context, origin, vault, case_id, body=f"Note {week}: " + "detail " * 40
            )
    areas = framework().area_codes()
    for quarter in range(5):
        casework.record_assessment(
            session,
            context,
            origin,
            case_id,
            assessed_on=start + timedelta(weeks=12 * quarter),
            scores={area: min(10, 3 + quarter + i % 3) for i, area in enumerate(areas)},
        )
    for i in range(10):
        casework.add_action(
            session,
            context,
            origin,
            vault,
            case_id,
            description=f"Action {i}",
            owner=ActionOwner.WORKER,
        )
    consents.record_consent(
        session,
        context,
        origin,
        case_id,
        subject=ConsentSubject.PERSON_IN_CUSTODY,
        purpose=ConsentPurpose.CONTACT,
        decision=ConsentDecision.GIVEN,
        method=ConsentMethod.WRITTEN,
        verification=ConsentVerification.SIGNED_FORM,
        categories=frozenset(DataCategory),
    )


def _ciphertext_only(session: Session, case_id: Any) -> int:
    """The family page's SELECTs with the walls on, returning ciphertext: the baseline."""
    case = session.scalars(select(Case).where(Case.id == case_id)).one()
    family = session.scalars(select(Family).where(Family.id == case.family_id)).one()
    rows = [case, family]
    rows += session.scalars(
        select(PersonInCustody).where(PersonInCustody.id == family.person_in_custody_id)
    ).all()
    rows += session.scalars(select(FamilyMember).where(FamilyMember.family_id == family.id)).all()
    for model in (Contact, OutcomeAssessment, ActionItem, CaseNote, ConsentRecord):
        rows += session.scalars(select(model).where(model.case_id == case.id)).all()
    ids = [r.id for r in rows if isinstance(r, OutcomeAssessment)]
    rows += session.scalars(select(OutcomeScore).where(OutcomeScore.assessment_id.in_(ids))).all()
    session.rollback()
    return len(rows)


def _median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm caches and statement compilation
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(
    backend: str, app: sessionmaker[Session], root: LocalRootKey, charity_id: uuid.UUID, repeat: int
) -> dict[str, float]:
    context = _context(charity_id)
    with app() as session:
        bind_tenant(session, context)
        case_id = session.scalars(select(Contact.case_id).group_by(Contact.case_id).limit(1)).one()

    def with_session(work: Callable[[Session, Any], object]) -> Callable[[], object]:
        def call() -> object:
            with app() as session:
                bind_tenant(session, context)
                return work(session, vault_for(session, root))

        return call

    page = _median_ms(
        with_session(lambda s, v: family_file.read_family(s, context, _origin(), v, case_id)),
        repeat,
    )
    baseline = _median_ms(with_session(lambda s, v: _ciphertext_only(s, case_id)), repeat)
    by_name = _median_ms(
        with_session(lambda s, v: search.find_cases(s, context, _origin(), v, "bea begum")), repeat
    )
    by_number = _median_ms(
        with_session(lambda s, v: search.find_cases(s, context, _origin(), v, "A0011BC")), repeat
    )
    return {"page": page, "baseline": baseline, "by_name": by_name, "by_number": by_number}


def run(backend: str, app_url: str, owner_url: str, tmp: Path, n: int, repeat: int) -> dict:
    upgrade(_settings(tmp, app_url, owner_url))
    root = LocalRootKey.from_file(tmp / "root.key")
    owner_engine, app_engine = make_engine(owner_url), make_engine(app_url)
    try:
        app = make_session_factory(app_engine)
        charity_id = _prepare(make_session_factory(owner_engine, walls=False), app, root)
        started = time.perf_counter()
        _seed(app, root, charity_id, n)
        print(
            f"  {backend}: seeded {n:,} families in {time.perf_counter() - started:.1f}s",
            file=sys.stderr,
        )
        return measure(backend, app, root, charity_id, repeat)
    finally:
        owner_engine.dispose()
        app_engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--families", type=lambda s: [int(x) for x in s.split(",")], default=[500, 2000]
    )
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    sizes = [200] if args.quick else args.families
    rows = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="continuum-bench-")))
        server = None if args.quick else throwaway_server(stack)
        for n in sizes:
            path = tmp / f"casework_{n}.sqlite3"
            url = f"sqlite:///{path}"
            sub = tmp / f"sqlite_{n}"
            sub.mkdir()
            rows.append(("sqlite", n, run("sqlite", url, url, sub, n, args.repeat)))
            if server is not None:
                name = f"continuum_casework_{n}"
                with server.admin_connect() as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                    conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
                sub = tmp / f"pg_{n}"
                sub.mkdir()
                rows.append(
                    (
                        "postgresql",
                        n,
                        run(
                            "postgresql",
                            server.url(name, user=APP_ROLE),
                            server.url(name, user=OWNER_ROLE),
                            sub,
                            n,
                            args.repeat,
                        ),
                    )
                )
    print()
    print("Casework benchmark (median ms; ratios against the baseline measured in the same run)")
    print(
        f"{'backend':>10} {'families':>8} {'page':>7} {'ciphertext':>10} {'x':>5} "
        f"{'by name':>8} {'by number':>9} {'x':>6}"
    )
    for backend, n, m in rows:
        print(
            f"{backend:>10} {n:>8,} {m['page']:>7.2f} {m['baseline']:>10.2f} "
            f"{m['page'] / m['baseline']:>5.2f} {m['by_name']:>8.2f} {m['by_number']:>9.2f} "
            f"{m['by_name'] / m['by_number']:>6.1f}"
        )
    print("\n(timings are reported, never asserted)")


if __name__ == "__main__":
    main()
