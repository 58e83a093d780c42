"""National-scale synthetic case data, written in bulk: N families spread over every prison the
demo charities serve (app.demo.charities.CHARITIES), about twenty contacts each over the last five
quarters, for benchmarking the quarterly release (bench/release.py) and for a demo at the size of
the alliance's real caseload (``continuum demo --families N --national``).

The demo's histories (app.demo.records) open each case through the use case, which takes hours
for 100,000 families. Here the rows are drawn as dictionaries (app.demo.national_rows) and
written with SQLAlchemy Core ``executemany`` inserts, a batch of families at a time, one commit
per batch.

It writes through the app role, charity by charity, with that charity's tenant context bound
(every prison it ever served, as the metrics count under): on PostgreSQL every row passes the
row-level security policies (FORCE ROW LEVEL SECURITY refuses the schema owner, whom no policy
names), and the rows are exactly those the charity's own staff could have written. Core inserts
are not checked row by row by the ORM guard (it checks flushed objects); the policies and the
tenant foreign keys are.

The same rows are the demo's background (``seed_background``): by default ``continuum demo`` writes
them beside its detailed histories, over the quarters it publishes and half a year before, so
most of a release's cells are large enough to publish and the quarters make a trend.

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

from app.demo.charities import CHARITIES
from app.demo.histories import allocate
from app.demo.national_rows import (
    WINDOW_DAYS,
    Charity,
    Drawer,
    Episodes,
    Rows,
    Served,
    prison_number,
)
from app.domain.figures.periods import Quarter
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
from app.security.keyring import RootKeyProvider, blind_index
from app.services.figures.metrics import counting_context
from app.services.platform.keys import keyring as sql_keyring
from app.services.platform.vault import PRISON_NUMBER_INDEX
from tenants.system import acting_for

DEFAULT_SEED = "continuum-national"
BACKGROUND_SEED = "continuum-demo-background"
# The demo's background: enough families that most cells of each of the four published quarters
# reach the ONS 10-5 threshold (about 80% of those a member service could fill: bench.demo_utility),
# few enough that a first `continuum demo` starts within about a minute on two busy CPUs (about 30
# seconds on idle ones).
BACKGROUND_FAMILIES = 6_000
# The background leaves one region small: Pact's two South West prisons (Bristol, Exeter) get
# only the one family every prison gets (app.demo.histories.allocate), so the region is as its
# detailed histories make it: each prison's figures under the ONS 10-5 threshold while the
# region's may reach it. That is issue 12's first finding (a region's published needs proving its
# small prisons present) kept in the demo: the releases show what secondary suppression is for,
# and the outsider's reading of them (tests/outsider) has something it could get wrong (with a
# twentieth of a prison's share each, the region was large enough that it had not).
BACKGROUND_SMALL_PRISONS = frozenset({"BLI", "EXI"})
# Cases run six weeks to a year (app.demo.national_rows): a background starting half a year
# before the first published quarter has about 85% of a steady caseload in that quarter and all
# of it from the next, at three quarters of the rows a full year's lead-in would take.
BACKGROUND_LEAD_IN = timedelta(days=182)
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


def _services(today: date, since: date) -> list[tuple[str, str, Served]]:
    """Every (charity, prison) served on some day from ``since`` to ``today``, with the days its
    families' cases may run (a service's ``ends_on`` is its first day without it)."""
    return [
        (
            spec.slug,
            code,
            Served(
                max(since, starts_on),
                today if ends_on is None else min(today, ends_on - timedelta(days=1)),
            ),
        )
        for spec in CHARITIES
        for code, starts_on, ends_on in spec.services
        if starts_on <= today and (ends_on is None or ends_on > since)
    ]


def plan_allocation(
    families: int,
    today: date,
    seed: str,
    since: date | None = None,
    small: frozenset[str] = frozenset(),
) -> list[tuple[str, str, Served, int]]:
    """How many families each (charity, prison) gets, and the days their cases may run: prisons
    differ in size (a seeded weight each, so some prisons are small and their cells get
    suppressed; those named in ``small`` get one family each), and a service that covers part of
    the window gets its part of the families."""
    since = today - timedelta(days=WINDOW_DAYS) if since is None else since
    services = _services(today, since)
    rng = random.Random(f"{seed}/sizes")  # noqa: S311 - synthetic data, not secrets
    window = max(1, (today - since).days)
    weights = [
        rng.uniform(0.2, 2.0) * min(1.0, max(1, (served.last_day - served.first_day).days) / window)
        for _, _, served in services
    ]
    weights = [
        0.0 if code in small else weight
        for weight, (_, code, _) in zip(weights, services, strict=True)
    ]
    counts = allocate(weights, families)
    return [
        (slug, code, served, n) for (slug, code, served), n in zip(services, counts, strict=True)
    ]


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


def _batches(plan: list[tuple[str, Served, int]]) -> Iterator[list[tuple[str, Served]]]:
    """One charity's families (the prison and its service's days), BATCH_FAMILIES at a time."""
    pending: list[tuple[str, Served]] = []
    for prison, served, count in plan:
        for _ in range(count):
            pending.append((prison, served))
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
    # Whether a charity already holds what this run writes (then it is left alone).
    holds: Callable[[Session, Charity], bool]
    # A commit per batch (national scale), or one per charity (the demo's background, so an
    # interrupted first run leaves a charity with all of it or none).
    commit_every_batch: bool = True


def holds_any_case(session: Session, charity: Charity) -> bool:
    """The national data goes only into a charity with no cases at all."""
    return session.scalar(select(Case.id).where(Case.charity_id == charity.id).limit(1)) is not None


def holds_bulk_families(session: Session, charity: Charity) -> bool:
    """The charity holds bulk families already: its first one (prison number N0000AA, which no
    detailed history has) is on file, found by the prison number's blind index."""
    index = blind_index(charity.ring, charity.id, PRISON_NUMBER_INDEX, prison_number(0))
    found = select(PersonInCustody.id).where(PersonInCustody.prison_number_index == index)
    return session.scalar(found.limit(1)) is not None


def _seed_charity(
    run: _Run,
    slug: str,
    charity_id: uuid.UUID,
    users: list[uuid.UUID],
    plan: list[tuple[str, Served, int]],
) -> None:
    """One charity's families, a batch at a time, under the charity's context (it is set again
    at every transaction's start, so every commit keeps the walls)."""
    drawer, written, progress = run.drawer, run.written, run.progress
    with run.sessions() as session, acting_for(session, counting_context(session, charity_id)):
        charity = Charity(charity_id, sql_keyring(session, run.root), users)
        if run.holds(session, charity):
            # Running again adds nothing to a charity that already holds them.
            return
        for batch in _batches(plan):
            rows = empty_batch()
            for prison, served in batch:
                drawer.family(charity, prison, rows, served)
            _write(session, rows, written)
            if run.commit_every_batch:
                session.commit()
            if progress is not None:
                progress(slug, charity.number)
        session.commit()
    written.families[slug] = charity.number


def _seed(run: _Run, allocation: list[tuple[str, str, Served, int]]) -> Written:
    with run.sessions() as session:
        ids = {o.slug: o.id for o in session.scalars(select(Organisation))}
        users: dict[uuid.UUID, list[uuid.UUID]] = {}
        for user in session.scalars(select(User).order_by(User.username)):
            users.setdefault(user.organisation_id, []).append(user.id)
    for spec in CHARITIES:
        plan = [(code, served, n) for slug, code, served, n in allocation if slug == spec.slug]
        if plan:
            charity_id = ids[spec.slug]
            _seed_charity(run, spec.slug, charity_id, users.get(charity_id, []), plan)
    return run.written


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
    run = _Run(sessions, root, drawer, Written(), progress, holds_any_case)
    return _seed(run, plan_allocation(families, today, seed))


def background_since(first_quarter: Quarter) -> date:
    """The first day of the demo's background: half a year before the first quarter it
    publishes."""
    return first_quarter.start - BACKGROUND_LEAD_IN


def background_drawer(today: date, first_quarter: Quarter, seed: str = BACKGROUND_SEED) -> Drawer:
    """How the background's families are drawn: referred evenly from ``background_since`` to
    ``today``, each case closing when its time is up (a steady caseload, so every published
    quarter is about as full as the next)."""
    since = background_since(first_quarter)
    episodes = Episodes(window_days=(today - since).days, share_closed=1.0, skew=1.0)
    return Drawer(random.Random(seed), today, episodes)  # noqa: S311 - synthetic data


def background_allocation(
    families: int, today: date, first_quarter: Quarter, seed: str = BACKGROUND_SEED
) -> list[tuple[str, str, Served, int]]:
    """Where the background's families are: every (charity, prison) served on some day of its
    window, each service's families inside its own days; South West left small."""
    since = background_since(first_quarter)
    return plan_allocation(families, today, seed, since, BACKGROUND_SMALL_PRISONS)


def seed_background(
    sessions: sessionmaker[Session],
    root: RootKeyProvider,
    families: int,
    today: date,
    first_quarter: Quarter,
    seed: str = BACKGROUND_SEED,
) -> Written:
    """The demo's background: ``families`` bulk families beside the detailed histories, over
    every prison the demo charities serve, from half a year before ``first_quarter`` (the first
    quarter the demo publishes) to ``today``. A charity that already holds bulk families is left
    alone, whatever else it holds; each charity's are written in one transaction."""
    drawer = background_drawer(today, first_quarter, seed)
    run = _Run(
        sessions, root, drawer, Written(), None, holds_bulk_families, commit_every_batch=False
    )
    return _seed(run, background_allocation(families, today, first_quarter, seed))
