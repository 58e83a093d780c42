"""What the tenant walls cost: the case list with every wall on, against the same query without.

Run from the repository root::

    UV_PYTHON_DOWNLOADS=never uv run python -m bench.isolation
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.isolation --quick
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.isolation --sizes 1000,100000 \
        --backends sqlite,postgresql --repeat 5

The measured unit is one caseworker's first page of ``app.services.cases.cases.page_of_cases`` (the
query of ``list_cases``, without its audit event): one charity, two of its prisons, newest first,
25 rows, plus the total count.

- **walls on**: a session from ``make_session_factory(make_engine(app_url))`` (ORM guard, and on
  PostgreSQL the row-level security context set per transaction), connected as the application
  role ``continuum_app`` on PostgreSQL, with the context bound by ``bind_tenant``, calling
  ``page_of_cases`` exactly as ``list_cases`` does;
- **walls off** (the bench-only baseline): ``make_session_factory(engine, walls=False)`` on an
  engine connected as a role that bypasses row-level security (the superuser on PostgreSQL),
  running the same two statements with the filter written out in the WHERE clause.

Both must return the same total and the same 25 ids (asserted before anything is timed), so the
comparison is between two ways of getting one result. Timing is reported, never asserted: the run
exits 0 whatever the figures (see bench/README.md).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import sqlalchemy
from sqlalchemy import Engine, Table, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_session_factory
from app.domain.errors import Forbidden
from app.migrate import upgrade
from app.models import Case, CaseStatus, Family, PersonInCustody, Prison
from app.services.cases.cases import (
    COUNT_CAP,
    CaseFilter,
    Page,
    case_list_statements,
    page_of_cases,
    run_case_list,
)
from app.services.platform.reference import ensure_organisation, load_prisons, start_service
from config import load_settings
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import OrganisationKind, Permission, Role
from tenants.postgres import apply_context

OWNER_ROLE = "continuum_owner"
APP_ROLE = "continuum_app"
BACKENDS = ("sqlite", "postgresql")
DEFAULT_SIZES = (1_000, 100_000)
QUICK_SIZES = (500, 5_000)

CHARITIES = 4
PRISONS_PER_CHARITY = 10
CASEWORKER_PRISONS = 2
PER_PAGE = 25
# Cases opened over three years up to a fixed day, so every run builds the same data.
LAST_OPENED = date(2026, 11, 1)
SPAN_DAYS = 3 * 365
SEED = 20261123

# Targets from the issue: what isolation may cost, and how the case list may grow with the data.
MAX_OVERHEAD = 1.15
MAX_GROWTH = 1.5

COLUMNS = (
    "id",
    "reference",
    "status",
    "opened_on",
    "closed_on",
    "created_at",
    "updated_at",
    "charity_id",
    "prison_code",
    "family_id",
    "referral_source",
    "safeguarding",
)
# The list reads cases only; every case points at one placeholder family per prison, whose person
# in custody has no fields recorded (the benchmark measures the walls, not decryption).
FAMILY_COLUMNS = ("id", "created_at", "updated_at", "charity_id", "prison_code")


# --- timing budgets ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """How long one configuration is timed, in total over all interleaved rounds."""

    warmup_calls: int
    min_calls: int
    min_seconds: float
    max_seconds: float


# The whole request (session, context, list_cases, close): what the targets are about.
REQUEST_BUDGET = Budget(warmup_calls=30, min_calls=200, min_seconds=5.0, max_seconds=15.0)
# One statement at a time in an open transaction: where the time goes.
STATEMENT_BUDGET = Budget(warmup_calls=20, min_calls=100, min_seconds=2.0, max_seconds=5.0)
QUICK_REQUEST_BUDGET = Budget(warmup_calls=5, min_calls=30, min_seconds=0.3, max_seconds=1.0)
QUICK_STATEMENT_BUDGET = Budget(warmup_calls=5, min_calls=20, min_seconds=0.2, max_seconds=0.5)


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)] * 1000

    @property
    def calls(self) -> int:
        return len(self.samples)


def _time_calls(
    fn: Callable[[], object], calls: int, seconds: float, max_seconds: float
) -> list[float]:
    samples: list[float] = []
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        if elapsed >= max_seconds or (len(samples) >= calls and elapsed >= seconds):
            return samples


def measure_one(fn: Callable[[], object], budget: Budget, repeat: int) -> Timing:
    for _ in range(budget.warmup_calls):
        fn()
    timing = Timing()
    rounds = max(1, repeat)
    for _ in range(rounds):
        gc.collect()
        timing.samples.extend(
            _time_calls(
                fn,
                math.ceil(budget.min_calls / rounds),
                budget.min_seconds / rounds,
                budget.max_seconds / rounds,
            )
        )
    return timing


def measure_pair(
    off: Callable[[], object], on: Callable[[], object], budget: Budget, repeat: int
) -> tuple[Timing, Timing]:
    """Time both sides in ``repeat`` interleaved rounds (alternating which goes first), so drift
    on a shared machine (other processes, CPU frequency, autovacuum) lands on both equally."""
    for fn in (off, on):
        for _ in range(budget.warmup_calls):
            fn()
    timings = {"off": Timing(), "on": Timing()}
    rounds = max(1, repeat)
    calls = math.ceil(budget.min_calls / rounds)
    seconds = budget.min_seconds / rounds
    cap = budget.max_seconds / rounds
    for round_no in range(rounds):
        order = (("off", off), ("on", on)) if round_no % 2 == 0 else (("on", on), ("off", off))
        for name, fn in order:
            gc.collect()
            timings[name].samples.extend(_time_calls(fn, calls, seconds, cap))
    return timings["off"], timings["on"]


# --- the data ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    charity_ids: tuple[uuid.UUID, ...]
    prisons: tuple[tuple[str, ...], ...]  # per charity

    def caseworker(self) -> TenantContext:
        """The measured actor: a caseworker at two of the first charity's prisons."""
        return TenantContext(
            charity_id=self.charity_ids[0],
            prison_codes=frozenset(self.prisons[0][:CASEWORKER_PRISONS]),
            role=Role.CASEWORKER,
        )

    def charity_context(self, index: int) -> TenantContext:
        return TenantContext(
            charity_id=self.charity_ids[index],
            prison_codes=frozenset(self.prisons[index]),
            role=Role.CASEWORKER,
        )


def build_reference(owner: sessionmaker[Session]) -> Layout:
    """Real prisons from the register, four charities, ten prisons served by each."""
    rng = random.Random(SEED)
    with owner() as session:
        load_prisons(session)
        codes = sorted(session.scalars(select(Prison.code).where(Prison.active)))
        needed = CHARITIES * PRISONS_PER_CHARITY
        if len(codes) < needed:
            raise SystemExit(
                f"the prison register has {len(codes)} active prisons, {needed} needed"
            )
        chosen = rng.sample(codes, needed)
        charity_ids = []
        prisons = []
        for index in range(CHARITIES):
            charity = ensure_organisation(
                session,
                f"bench-{index + 1}",
                f"Bench charity {index + 1}",
                OrganisationKind.CHARITY,
            )
            served = tuple(
                sorted(chosen[index * PRISONS_PER_CHARITY : (index + 1) * PRISONS_PER_CHARITY])
            )
            for code in served:
                start_service(session, charity, code, date(2020, 1, 1))
            charity_ids.append(charity.id)
            prisons.append(served)
        session.commit()
    return Layout(tuple(charity_ids), tuple(prisons))


def generate_cases(layout: Layout, count: int) -> Iterator[tuple[Any, ...]]:
    """Cases spread evenly over charities and their prisons, opened on random days over 3 years.

    Rows come in ``COLUMNS`` order. Charity varies fastest, then prison, so any prefix of the
    stream is as even as the whole."""
    rng = random.Random(SEED + count)
    statuses = list(CaseStatus)
    for i in range(count):
        charity = i % CHARITIES
        prison = layout.prisons[charity][(i // CHARITIES) % PRISONS_PER_CHARITY]
        opened = LAST_OPENED - timedelta(days=rng.randrange(SPAN_DAYS))
        status = rng.choice(statuses)
        closed = None
        if status in (CaseStatus.CLOSED, CaseStatus.TRANSFERRED_OUT):
            closed = opened + timedelta(days=rng.randrange(1, 240))
        stamp = datetime(opened.year, opened.month, opened.day, 9, tzinfo=UTC)
        charity_id = layout.charity_ids[charity]
        yield (
            uuid.UUID(int=rng.getrandbits(128), version=4),
            f"{prison}-{opened:%y}-{i:07d}",
            status.value,
            opened,
            closed,
            stamp,
            stamp,
            charity_id,
            prison,
            placeholder_family(charity_id, prison),
            "prison_staff",
            False,
        )


def placeholder_family(charity_id: uuid.UUID, prison: str) -> uuid.UUID:
    return uuid.uuid5(charity_id, f"bench-family-{prison}")


def generate_families(layout: Layout) -> Iterator[tuple[Any, ...]]:
    """One placeholder person in custody and family per (charity, prison), with the same id."""
    stamp = datetime(2020, 1, 1, tzinfo=UTC)
    for charity_id, prisons in zip(layout.charity_ids, layout.prisons, strict=True):
        for prison in prisons:
            yield (placeholder_family(charity_id, prison), stamp, stamp, charity_id, prison)


def load_cases_sqlite(app_sessions: sessionmaker[Session], layout: Layout, count: int) -> None:
    """Core executemany through a walls-on session, one charity's rows under its own context."""
    per_charity: list[list[dict[str, Any]]] = [[] for _ in range(CHARITIES)]
    for row in generate_cases(layout, count):
        per_charity[layout.charity_ids.index(row[7])].append(dict(zip(COLUMNS, row, strict=True)))
    cases_table = cast(Table, Case.__table__)
    families = [dict(zip(FAMILY_COLUMNS, row, strict=True)) for row in generate_families(layout)]
    with app_sessions() as session:
        for index, rows in enumerate(per_charity):
            bind_tenant(session, layout.charity_context(index))
            mine = [f for f in families if f["charity_id"] == layout.charity_ids[index]]
            session.execute(insert(cast(Table, PersonInCustody.__table__)), mine)
            session.execute(
                insert(cast(Table, Family.__table__)),
                [{**f, "person_in_custody_id": f["id"]} for f in mine],
            )
            for start in range(0, len(rows), 10_000):
                session.execute(insert(cases_table), rows[start : start + 10_000])
        session.commit()


def load_cases_postgres(server: Any, dbname: str, layout: Layout, count: int) -> None:
    """COPY as the superuser, which bypasses row-level security: for loading only."""
    with server.admin_connect(dbname) as conn:
        families = list(generate_families(layout))
        with conn.cursor() as cursor:
            columns = ", ".join(FAMILY_COLUMNS)
            with cursor.copy(f"COPY people_in_custody ({columns}) FROM STDIN") as copy:
                for row in families:
                    copy.write_row(row)
            with cursor.copy(f"COPY families ({columns}, person_in_custody_id) FROM STDIN") as copy:
                for row in families:
                    copy.write_row((*row, row[0]))
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY cases ({', '.join(COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in generate_cases(layout, count):
                copy.write_row(row)
        # VACUUM sets the visibility map (index-only scans), ANALYZE the statistics, and a
        # table that is already vacuumed keeps autovacuum out of the timed loops.
        conn.execute("VACUUM (ANALYZE) cases")


# --- the two ways of asking ----------------------------------------------------------------------


def walls_on_call(
    factory: sessionmaker[Session], context: TenantContext
) -> Callable[[], Page[Case]]:
    def call() -> Page[Case]:
        with factory() as session:
            bind_tenant(session, context)
            # The query without its audit event: the comparison is of the walls alone.
            return page_of_cases(session, context, CaseFilter(), page=1, per_page=PER_PAGE)

    return call


def _scope(context: TenantContext) -> Any:
    """The filter the walls add, written out by hand for the baseline."""
    prisons = tuple(sorted(context.prison_codes))
    return (Case.charity_id == context.charity_id) & Case.prison_code.in_(prisons)


def baseline_statements(context: TenantContext) -> tuple[Any, Any]:
    """``list_cases``'s two statements with the walls' filter written out by hand."""
    return case_list_statements(CaseFilter(), 1, PER_PAGE, scope=_scope(context))


def walled_statements() -> tuple[Any, Any]:
    """``list_cases``'s two statements as written there; the ORM guard adds the scope."""
    return case_list_statements(CaseFilter(), 1, PER_PAGE)


def baseline_list_cases(
    session: Session, context: TenantContext, filters: CaseFilter, page: int = 1, per_page: int = 25
) -> Page[Case]:
    """``list_cases`` with the scope the walls add written into the WHERE clause.

    Built afresh on every call, as ``list_cases`` builds its statements, so statement
    construction and compilation-cache lookups are on both sides of the comparison."""
    if not context.may(Permission.CASE_READ):
        raise Forbidden(Permission.CASE_READ.value)
    count, rows = case_list_statements(filters, page, per_page, scope=_scope(context))
    return run_case_list(session, count, rows, page, per_page)


def walls_off_call(
    factory: sessionmaker[Session], context: TenantContext
) -> Callable[[], Page[Case]]:
    def call() -> Page[Case]:
        with factory() as session:
            return baseline_list_cases(session, context, CaseFilter(), page=1, per_page=PER_PAGE)

    return call


# --- one backend at one size ---------------------------------------------------------------------


@dataclass
class Result:
    backend: str
    cases: int
    visible: int
    request_off: Timing
    request_on: Timing
    count_off: Timing
    count_on: Timing
    page_off: Timing
    page_on: Timing
    set_context: Timing | None = None  # PostgreSQL: the set_config round trip per transaction
    plans: list[tuple[str, str]] = field(default_factory=list)

    @property
    def overhead(self) -> float:
        return self.request_on.median_ms / self.request_off.median_ms


@dataclass
class Target:
    """Where one backend at one size lives: the two URLs and, for EXPLAIN, how to reach it."""

    backend: str
    app_url: str
    bypass_url: str  # a role that bypasses row-level security: the superuser on PostgreSQL


@contextmanager
def _capturing(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The SQL and parameters as sent to the driver, for statements on the cases table."""
    seen: list[tuple[str, Any]] = []

    def before(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if "cases" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _statement_call(
    session: Session, build: Callable[[], Any], scalar: bool
) -> Callable[[], object]:
    """One of list_cases's statements, built afresh and executed, as list_cases does."""

    def call() -> object:
        if scalar:
            return session.scalar(build())
        rows = session.scalars(build()).all()
        # Each request starts with an empty identity map; keep the repeated loads honest.
        session.expunge_all()
        return rows

    return call


def _execution_ms(plan: list[str]) -> float:
    for line in plan:
        if line.startswith("Execution Time:"):
            return float(line.split()[2])
    return math.inf


def explain(
    target: Target,
    on_engine: Engine,
    off_engine: Engine,
    context: TenantContext,
    on_sql: list[tuple[str, Any]],
    off_sql: list[tuple[str, Any]],
) -> list[tuple[str, str]]:
    plans: list[tuple[str, str]] = []
    labels = ("count", "page")
    if target.backend == "postgresql":
        prefix = "EXPLAIN (ANALYZE, BUFFERS) "
        for side, engine, statements in (
            ("walls on, as continuum_app", on_engine, on_sql),
            ("walls off, as the superuser", off_engine, off_sql),
        ):
            with engine.connect() as conn:
                if side.startswith("walls on"):
                    apply_context(conn, context)  # set_config(..., true), as the session does
                for label, (sql, params) in zip(labels, statements, strict=True):
                    # Warm, and the fastest of three: one EXPLAIN ANALYZE is a single noisy
                    # sample, and the point here is the plan's shape, not its timing.
                    conn.exec_driver_sql(sql, params).fetchall()
                    runs = [
                        [row[0] for row in conn.exec_driver_sql(prefix + sql, params)]
                        for _ in range(3)
                    ]
                    lines = min(runs, key=_execution_ms)
                    plans.append((f"{label} query, {side}", "\n".join(lines)))
                conn.rollback()
    else:
        prefix = "EXPLAIN QUERY PLAN "
        for side, engine, statements in (
            ("walls on", on_engine, on_sql),
            ("walls off", off_engine, off_sql),
        ):
            with engine.connect() as conn:
                for label, (sql, params) in zip(labels, statements, strict=True):
                    rows = conn.exec_driver_sql(prefix + sql, params).fetchall()
                    depth: dict[int, int] = {0: 0}
                    lines = []
                    for node, parent, _unused, detail in rows:
                        depth[node] = depth.get(parent, 0) + 1
                        lines.append("  " * (depth[node] - 1) + detail)
                    plans.append((f"{label} query, {side}", "\n".join(lines)))
    return plans


def _check(ok: bool, message: str) -> None:
    """Correctness, not timing: a baseline that returns other rows would make the ratio a lie."""
    if not ok:
        raise RuntimeError(f"isolation bench: {message}")


def run_target(target: Target, layout: Layout, count: int, args: argparse.Namespace) -> Result:
    request_budget = QUICK_REQUEST_BUDGET if args.quick else REQUEST_BUDGET
    statement_budget = QUICK_STATEMENT_BUDGET if args.quick else STATEMENT_BUDGET
    context = layout.caseworker()
    on_engine = make_engine(target.app_url)
    off_engine = make_engine(target.bypass_url)
    try:
        on_factory = make_session_factory(on_engine)
        off_factory = make_session_factory(off_engine, walls=False)
        on_call = walls_on_call(on_factory, context)
        off_call = walls_off_call(off_factory, context)

        # Honesty first: the same rows, in the same order, and the same total.
        with _capturing(on_engine) as on_sql:
            walled = on_call()
        with _capturing(off_engine) as off_sql:
            plain = off_call()
        expected = sum(
            1
            for i in range(count)
            if i % CHARITIES == 0 and (i // CHARITIES) % PRISONS_PER_CHARITY < CASEWORKER_PRISONS
        )
        # list_cases counts up to COUNT_CAP and says when it stopped there.
        _check(
            walled.total == plain.total == min(expected, COUNT_CAP)
            and walled.total_capped == plain.total_capped == (expected > COUNT_CAP),
            f"totals differ: {walled.total}, {plain.total}, expected {expected}",
        )
        _check(
            [c.id for c in walled.items] == [c.id for c in plain.items],
            "walls on and walls off returned different rows",
        )
        _check(len(walled.items) == min(PER_PAGE, expected), "short page")
        _check(
            all(
                c.charity_id == context.charity_id and c.prison_code in context.prison_codes
                for c in walled.items
            ),
            "a row outside the context",
        )
        _check(len(on_sql) == 2 and len(off_sql) == 2, f"expected two statements each: {on_sql}")

        print(
            f"  timing {target.backend} at {count:,} cases ({walled.total:,} visible) ...",
            file=sys.stderr,
            flush=True,
        )
        request_off, request_on = measure_pair(off_call, on_call, request_budget, args.repeat)

        # Statement by statement, inside one open transaction each: no session set-up, no
        # set_config, no pool checkout; just what the database and the ORM do per statement.
        def on_count() -> Any:
            return walled_statements()[0]

        def on_page() -> Any:
            return walled_statements()[1]

        def off_count() -> Any:
            return baseline_statements(context)[0]

        def off_page() -> Any:
            return baseline_statements(context)[1]

        with on_factory() as on_session, off_factory() as off_session:
            bind_tenant(on_session, context)
            count_off, count_on = measure_pair(
                _statement_call(off_session, off_count, True),
                _statement_call(on_session, on_count, True),
                statement_budget,
                args.repeat,
            )
            page_off, page_on = measure_pair(
                _statement_call(off_session, off_page, False),
                _statement_call(on_session, on_page, False),
                statement_budget,
                args.repeat,
            )
            set_context = None
            if target.backend == "postgresql":
                connection = on_session.connection()
                set_context = measure_one(
                    lambda: apply_context(connection, context), statement_budget, args.repeat
                )
        result = Result(
            target.backend,
            count,
            walled.total,
            request_off,
            request_on,
            count_off,
            count_on,
            page_off,
            page_on,
            set_context,
        )
        if count == max(args.sizes):
            result.plans = explain(target, on_engine, off_engine, context, on_sql, off_sql)
        return result
    finally:
        on_engine.dispose()
        off_engine.dispose()


# --- the backends --------------------------------------------------------------------------------


def _settings(tmp: Path, app_url: str, owner_url: str) -> Any:
    return load_settings(
        environ={},
        instance_path=tmp,
        database_url=app_url,
        migration_database_url=owner_url,
        secret_key="bench",  # noqa: S106 - not a secret: a throwaway bench database
    )


def _timed(label: str) -> Callable[[float], None]:
    def done(started: float) -> None:
        print(f"  {label} in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)

    return done


def run_sqlite(tmp: Path, args: argparse.Namespace) -> list[Result]:
    results = []
    for count in args.sizes:
        path = tmp / f"bench_{count}.sqlite3"
        url = f"sqlite:///{path}"
        started = time.perf_counter()
        upgrade(_settings(tmp, url, url))
        engine = make_engine(url)
        try:
            layout = build_reference(make_session_factory(engine, walls=False))
            load_cases_sqlite(make_session_factory(engine), layout, count)
            with engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        finally:
            engine.dispose()
        _timed(f"sqlite: migrated and loaded {count:,} cases")(started)
        results.append(run_target(Target("sqlite", url, url), layout, count, args))
    return results


def run_postgres(tmp: Path, args: argparse.Namespace, stack: ExitStack) -> tuple[list[Result], str]:
    from tests.support.postgres import PostgresUnavailable, start_postgres

    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        print(f"PostgreSQL skipped: {exc.reason}", file=sys.stderr)
        return [], "unavailable"
    stack.callback(server.stop)
    created: list[str] = []

    def drop_databases() -> None:
        with server.admin_connect() as conn:
            for name in created:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    stack.callback(drop_databases)  # for an external server; a managed one is simply deleted
    with server.admin_connect() as conn:
        version = str((conn.execute("SHOW server_version").fetchone() or ("?",))[0])
        from bench.roles import create_roles  # it imports the role names from here

        create_roles(conn)
    results = []
    for count in args.sizes:
        name = f"continuum_bench_{count}"
        started = time.perf_counter()
        with server.admin_connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} OWNER {OWNER_ROLE}")
        created.append(name)
        app_url = server.url(name, user=APP_ROLE)
        owner_url = server.url(name, user=OWNER_ROLE)
        upgrade(_settings(tmp, app_url, owner_url))
        owner_engine = make_engine(owner_url)
        try:
            layout = build_reference(make_session_factory(owner_engine, walls=False))
        finally:
            owner_engine.dispose()
        load_cases_postgres(server, name, layout, count)
        _timed(f"postgresql: migrated and loaded {count:,} cases")(started)
        results.append(
            run_target(Target("postgresql", app_url, server.url(name)), layout, count, args)
        )
    return results, version


# --- the report ----------------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, rule, *body])


def report(results: list[Result], args: argparse.Namespace, versions: dict[str, str]) -> None:
    smallest, largest = min(args.sizes), max(args.sizes)
    print()
    print(
        "Isolation benchmark: a caseworker's first page of list_cases "
        f"({CHARITIES} charities x {PRISONS_PER_CHARITY} prisons, {CASEWORKER_PRISONS} prisons "
        f"visible, {PER_PAGE} rows + total)"
    )
    print(
        f"python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}, "
        f"SQLite {sqlite3.sqlite_version}"
        + (f", PostgreSQL {versions['postgresql']}" if "postgresql" in versions else "")
        + f", repeat {args.repeat}{', QUICK' if args.quick else ''}"
    )
    print(
        f"{os.cpu_count()} CPUs; load average {args.load_before[0]:.2f} before the run, "
        f"{os.getloadavg()[0]:.2f} after (well above the CPU count means the figures are noisy)"
    )
    print()
    print("Per request (new session, bind context, list_cases, close); milliseconds")
    rows = []
    for r in results:
        rows.append(
            [
                r.backend,
                f"{r.cases:,}",
                f"{r.visible:,}",
                f"{r.request_off.median_ms:.3f}",
                f"{r.request_off.p95_ms:.3f}",
                f"{r.request_on.median_ms:.3f}",
                f"{r.request_on.p95_ms:.3f}",
                f"{r.overhead:.3f}",
                _verdict(r.overhead <= MAX_OVERHEAD),
                f"{r.request_off.calls}/{r.request_on.calls}",
            ]
        )
    print(
        _table(
            [
                "backend",
                "cases",
                "visible",
                "off med",
                "off p95",
                "on med",
                "on p95",
                f"on/off (<= {MAX_OVERHEAD})",
                "target",
                "calls off/on",
            ],
            rows,
        )
    )

    print()
    print(
        f"Growth: median at {largest:,} / median at {smallest:,} cases "
        f"(target <= {MAX_GROWTH}, walls on)"
    )
    rows = []
    for backend in dict.fromkeys(r.backend for r in results):
        by_size = {r.cases: r for r in results if r.backend == backend}
        if smallest == largest or smallest not in by_size or largest not in by_size:
            continue
        small, big = by_size[smallest], by_size[largest]
        growth_on = big.request_on.median_ms / small.request_on.median_ms
        growth_off = big.request_off.median_ms / small.request_off.median_ms
        rows.append(
            [
                backend,
                f"{growth_on:.2f}",
                _verdict(growth_on <= MAX_GROWTH),
                f"{growth_off:.2f}",
                f"{big.count_on.median_ms / small.count_on.median_ms:.2f}",
                f"{big.page_on.median_ms / small.page_on.median_ms:.2f}",
            ]
        )
    if rows:
        print(
            _table(
                ["backend", "walls on", "target", "walls off", "count stmt (on)", "page stmt (on)"],
                rows,
            )
        )

    print()
    print("Per statement, inside one open transaction (median ms; where the time goes)")
    rows = []
    for r in results:
        statements_on = r.count_on.median_ms + r.page_on.median_ms
        statements_off = r.count_off.median_ms + r.page_off.median_ms
        for label, off, on in (("count", r.count_off, r.count_on), ("page", r.page_off, r.page_on)):
            rows.append(
                [
                    r.backend,
                    f"{r.cases:,}",
                    label,
                    f"{off.median_ms:.3f}",
                    f"{on.median_ms:.3f}",
                    f"{on.median_ms / off.median_ms:.3f}",
                    f"{on.median_ms / statements_on:.0%}",
                ]
            )
        if r.set_context is not None:
            rows.append(
                [
                    r.backend,
                    f"{r.cases:,}",
                    "set_config",
                    "-",
                    f"{r.set_context.median_ms:.3f}",
                    "",
                    "",
                ]
            )
        rows.append(
            [
                r.backend,
                f"{r.cases:,}",
                "rest of request",
                f"{r.request_off.median_ms - statements_off:.3f}",
                f"{r.request_on.median_ms - statements_on:.3f}",
                "",
                "",
            ]
        )
    print(
        _table(
            ["backend", "cases", "statement", "off med", "on med", "on/off", "share of stmts (on)"],
            rows,
        )
    )
    print(
        "(rest of request = per-request median minus the two statements: session, pool "
        "checkout and ping or SQLite connect, commit/close; on PostgreSQL with walls on it "
        "includes the set_config round trip shown above)"
    )

    for r in results:
        if not r.plans:
            continue
        print()
        title = "EXPLAIN (ANALYZE, BUFFERS)" if r.backend == "postgresql" else "EXPLAIN QUERY PLAN"
        print(f"=== {r.backend}, {r.cases:,} cases: {title} ===")
        for label, plan in r.plans:
            print(f"--- {label}")
            print(plan)


# --- entry point ---------------------------------------------------------------------------------


def _sizes(raw: str) -> tuple[int, ...]:
    sizes = tuple(sorted({int(part.replace("_", "")) for part in raw.split(",") if part.strip()}))
    if not sizes or sizes[0] < CHARITIES * PRISONS_PER_CHARITY:
        raise argparse.ArgumentTypeError(
            f"sizes must be at least {CHARITIES * PRISONS_PER_CHARITY}"
        )
    return sizes


def _backends(raw: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    unknown = set(chosen) - set(BACKENDS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"backends are {', '.join(BACKENDS)}")
    return chosen


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.isolation", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=None,
        help="comma-separated case counts (default 1000,100000; --quick 500,5000)",
    )
    parser.add_argument(
        "--backends",
        type=_backends,
        default=BACKENDS,
        help="comma-separated: sqlite,postgresql (default both)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="interleaved walls-off/walls-on rounds per configuration (default 5)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small smoke run (seconds, not minutes)"
    )
    args = parser.parse_args(argv)
    if args.sizes is None:
        args.sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    args.repeat = max(1, args.repeat)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.load_before = os.getloadavg()
    started = time.perf_counter()
    results: list[Result] = []
    versions: dict[str, str] = {}
    tmp = Path(tempfile.mkdtemp(prefix="continuum-bench-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, tmp, True)
        if "sqlite" in args.backends:
            results += run_sqlite(tmp, args)
        if "postgresql" in args.backends:
            pg_results, version = run_postgres(tmp, args, stack)
            results += pg_results
            if pg_results:
                versions["postgresql"] = version
    report(results, args, versions)
    print(
        f"\n(total run {time.perf_counter() - started:.0f}s; timings are reported, never asserted)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
