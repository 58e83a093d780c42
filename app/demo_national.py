"""National-scale synthetic case data, written in bulk: N families spread over every prison the
demo charities serve (app.demo.CHARITIES), about twenty contacts each over the last five quarters,
for benchmarking the quarterly release (bench/release.py) and for a demo at the size of the
alliance's real caseload (``continuum demo --families N --national``).

The demo's histories (app.demo_records) open each case through the use case, which takes hours
for 100,000 families. Here the rows are drawn as dictionaries (app.demo_national_rows) and
written with SQLAlchemy Core ``executemany`` inserts, a batch of families at a time, one commit
per batch.

It writes through the app role, charity by charity, with that charity's tenant context bound
(every prison it ever served, as the metrics count under): on PostgreSQL every row passes the
row-level security policies (FORCE ROW LEVEL SECURITY refuses the schema owner, whom no policy
names), and the rows are exactly those the charity's own staff could have written. Core inserts
are not checked row by row by the ORM guard (it checks flushed objects); the policies and the
tenant foreign keys are.

Deterministic for a seed: the same seed, day and size give the same families, cases, contacts,
consents and ids. Transfers between charities, action items and case notes are not generated: the
release's figures do not read them, and the transfer table stays empty (its figures are zero).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.demo import CHARITIES
from app.demo_histories import allocate
from app.demo_national_rows import WINDOW_DAYS, Charity, Drawer, Rows
from app.models import (
    Case,
    CaseNeed,
    ConsentRecord,
    Contact,
    EqualityMonitoring,
    Family,
    FamilyMember,
    Organisation,
    OutcomeAssessment,
    OutcomeScore,
    PersonInCustody,
    User,
)
from app.security.keyring import RootKeyProvider
from app.services.keys import keyring as sql_keyring
from app.services.metrics import counting_context
from tenants.system import acting_for

DEFAULT_SEED = "continuum-national"
BATCH_FAMILIES = 1_000
# Rows written per table, in an order that satisfies every foreign key.
TABLES = (
    PersonInCustody,
    Family,
    FamilyMember,
    Case,
    CaseNeed,
    Contact,
    OutcomeAssessment,
    OutcomeScore,
    ConsentRecord,
    EqualityMonitoring,
)


@dataclass
class Written:
    """How many rows of each table the run wrote, and families per charity slug."""

    families: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, count: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + count


def empty_batch() -> Rows:
    return {**{model.__tablename__: [] for model in TABLES}, "withdrawals": []}


def _services(today: date) -> list[tuple[str, str]]:
    """Every (charity, prison) served at some point of the window."""
    start = today - timedelta(days=WINDOW_DAYS)
    return [
        (spec.slug, code)
        for spec in CHARITIES
        for code, starts_on, ends_on in spec.services
        if starts_on <= today and (ends_on is None or ends_on > start)
    ]


def plan_allocation(families: int, today: date, seed: str) -> list[tuple[str, str, int]]:
    """How many families each (charity, prison) gets: prisons differ in size (a seeded weight
    each, so some prisons are small and their cells get suppressed)."""
    services = _services(today)
    rng = random.Random(f"{seed}/sizes")  # noqa: S311 - synthetic data, not secrets
    weights = [rng.uniform(0.2, 2.0) for _ in services]
    counts = allocate(weights, families)
    return [(slug, code, n) for (slug, code), n in zip(services, counts, strict=True)]


def _write(session: Session, rows: Rows, written: Written) -> None:
    for model in TABLES:
        batch = rows[model.__tablename__]
        if batch:
            session.execute(insert(cast(Table, model.__table__)), batch)
            written.add(model.__tablename__, len(batch))
    # A withdrawal names the record it withdraws, so it goes in after it.
    if rows["withdrawals"]:
        session.execute(insert(cast(Table, ConsentRecord.__table__)), rows["withdrawals"])
        written.add(ConsentRecord.__tablename__, len(rows["withdrawals"]))


def _batches(plan: list[tuple[str, int]]) -> Iterator[list[str]]:
    """The prisons of one charity's families, BATCH_FAMILIES at a time."""
    pending: list[str] = []
    for prison, count in plan:
        for _ in range(count):
            pending.append(prison)
            if len(pending) == BATCH_FAMILIES:
                yield pending
                pending = []
    if pending:
        yield pending


@dataclass(frozen=True)
class _Run:
    sessions: sessionmaker[Session]
    root: RootKeyProvider
    drawer: Drawer
    written: Written
    progress: Callable[[str, int], object] | None


def _seed_charity(
    run: _Run, slug: str, charity_id: uuid.UUID, users: list[uuid.UUID], plan: list[tuple[str, int]]
) -> None:
    """One charity's families, a batch per transaction, each under the charity's context (it is
    set again at every transaction's start, so every commit keeps the walls)."""
    drawer, written, progress = run.drawer, run.written, run.progress
    with run.sessions() as session, acting_for(session, counting_context(session, charity_id)):
        held = session.scalar(select(Case.id).where(Case.charity_id == charity_id).limit(1))
        if held is not None:
            # Running again adds nothing to a charity that already holds cases.
            return
        charity = Charity(charity_id, sql_keyring(session, run.root), users)
        for prisons in _batches(plan):
            rows = empty_batch()
            for prison in prisons:
                drawer.family(charity, prison, rows)
            _write(session, rows, written)
            session.commit()
            if progress is not None:
                progress(slug, charity.number)
    written.families[slug] = charity.number


def seed_national(
    sessions: sessionmaker[Session],
    root: RootKeyProvider,
    families: int,
    today: date,
    seed: str = DEFAULT_SEED,
    progress: Callable[[str, int], object] | None = None,
) -> Written:
    """Write ``families`` families over every demo prison through ``sessions`` (the app's walled
    session factory), one commit per batch. The charities, services, users and data keys must
    exist (``continuum demo`` makes them). A charity that already holds cases is left alone."""
    drawer = Drawer(random.Random(seed), today)  # noqa: S311 - synthetic data, not secrets
    run = _Run(sessions, root, drawer, Written(), progress)
    allocation = plan_allocation(families, today, seed)
    with sessions() as session:
        ids = {o.slug: o.id for o in session.scalars(select(Organisation))}
        users: dict[uuid.UUID, list[uuid.UUID]] = {}
        for user in session.scalars(select(User).order_by(User.username)):
            users.setdefault(user.organisation_id, []).append(user.id)
    for spec in CHARITIES:
        plan = [(code, n) for slug, code, n in allocation if slug == spec.slug]
        if plan:
            charity_id = ids[spec.slug]
            _seed_charity(run, spec.slug, charity_id, users.get(charity_id, []), plan)
    return run.written
