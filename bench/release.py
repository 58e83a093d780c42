"""What building a quarter's release costs at national scale, against the raw SQL it stands on.

Run:
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.release                   # 100,000, both
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.release --families 20000 --backend sqlite

N families over every demo prison (app.demo.national: about twenty contacts each over five
quarters), every charity signs off 2026Q3, then, each against the baseline measured in the run:

(a) raw SQL (bench/release_sql.py): hand-written aggregates as the schema owner with no walls,
    the same unsuppressed counts as app.services.figures.metrics for the quarter and the year
    ending with it; checked cell by cell against the figures the build counted (a mismatch is
    printed loudly);
(b) ``build_release`` (counting through the walls charity by charity, disclosure control, storing
    the draft), split with its ``progress`` callback into counting, audit (disclosure control) and
    storing;
(c) peak memory of the build: it runs in a child process, which reports its own
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (the whole process: interpreter and imports
    included, so an upper bound on what the build needs).

The issue's targets (printed, never asserted): build within 3x of raw SQL plus the audit, the
audit under 30 s, peak memory under 500 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.db import make_engine, make_session_factory
from app.demo import charities as demo
from app.demo.national import seed_national
from app.domain.figures.periods import Quarter, YearEnding
from app.migrate import upgrade
from app.models import Organisation
from app.security.keyring import LocalRootKey
from app.services.accounts import accounts
from app.services.figures import releases
from app.services.figures.sign_offs import charities_serving, sign_off_quarter
from app.services.platform.audit import Origin
from app.services.platform.keys import ensure_charity_keys
from bench.isolation import APP_ROLE, OWNER_ROLE, _settings
from bench.release_sql import quarter_cells, year_cells
from bench.roles import throwaway_server
from tenants.permissions import Role

TODAY = date(2026, 11, 20)
QUARTER = Quarter(2026, 3)
WHEN = datetime(2026, 11, 20, 10, tzinfo=UTC)


def _origin() -> Origin:
    return Origin("bench", lambda: WHEN)


def prepare(app_url: str, owner_url: str, tmp: Path, families: int, history: int) -> dict[str, Any]:
    """Migrate, seed the reference data, users and keys, the families; publish the ``history``
    quarters before the timed one (so its audit protects against them, as a real build's does);
    sign the quarter off."""
    settings = _settings(tmp, app_url, owner_url)
    upgrade(settings)
    root = LocalRootKey.from_file(tmp / "root.key")
    owner_engine, app_engine = make_engine(owner_url), make_engine(app_url)
    try:
        with Session(owner_engine, expire_on_commit=False) as owner:
            ids = {slug: org.id for slug, org in demo.seed_reference(owner).items()}
        app = make_session_factory(app_engine)
        admins: dict[uuid.UUID, uuid.UUID] = {}
        with app() as session:
            ensure_charity_keys(session, root)
            for slug in (spec.slug for spec in demo.CHARITIES):
                user = accounts.create_user(
                    session,
                    session.get_one(Organisation, ids[slug]),
                    username="bench.admin",
                    display_name="Bench admin",
                    role=Role.CHARITY_ADMIN,
                    password=uuid.uuid4().hex,
                )
                admins[ids[slug]] = user.id
            coordinator = accounts.create_user(
                session,
                session.get_one(Organisation, ids["alliance"]),
                username="bench.coordinator",
                display_name="Bench coordinator",
                role=Role.ALLIANCE_COORDINATOR,
                password=uuid.uuid4().hex,
            ).id
            session.commit()
        started = time.perf_counter()
        written = seed_national(app, root, families, TODAY)
        if owner_engine.dialect.name == "postgresql":
            # As `continuum demo --national` does, and autovacuum would within minutes: planned
            # on empty-table statistics, the build's semi-joins run as nested loops.
            with owner_engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        seeded = time.perf_counter() - started
        earlier = [QUARTER]
        while len(earlier) <= history:
            earlier.insert(0, earlier[0].previous())
        builder = releases.Builder(coordinator, ids["alliance"], _origin())
        rules = releases.rules_from(settings.disclosure_threshold, settings.disclosure_base)
        for quarter in earlier:
            with app() as session:
                for charity in charities_serving(session, quarter):
                    sign_off_quarter(
                        session,
                        charity_id=charity.id,
                        quarter=quarter,
                        user_id=admins[charity.id],
                        origin=_origin(),
                    )
                session.commit()
            if quarter == QUARTER:
                break
            with app() as session:
                draft = releases.build_release(session, quarter, builder=builder, rules=rules)
                releases.publish_release(session, draft.id, builder=builder)
                session.commit()
        return {
            "seconds": seeded,
            "rows": written.rows,
            "coordinator": str(coordinator),
            "alliance": str(ids["alliance"]),
        }
    finally:
        owner_engine.dispose()
        app_engine.dispose()


def raw_sql(owner_url: str) -> tuple[float, dict[str, list[int]]]:
    """The baseline, timed (the better of two runs, so both sides see a warm cache)."""
    engine = make_engine(owner_url)
    year = YearEnding(QUARTER)
    best, cells = float("inf"), {}
    try:
        for _ in range(2):
            with engine.connect() as conn:
                started = time.perf_counter()
                found = quarter_cells(conn, QUARTER.start, QUARTER.end)
                found.update(year_cells(conn, year.start, year.end))
                best = min(best, time.perf_counter() - started)
            cells = {"|".join(k): list(v) for k, v in found.items()}
    finally:
        engine.dispose()
    return best, cells


def build(app_url: str, tmp: Path, coordinator: str, alliance: str) -> dict[str, Any]:
    """One build, in this (child) process: times from the progress callback, the figures the
    build counted (kept by wrapping the two counting functions), cells, memory."""
    settings = _settings(tmp, app_url, app_url)
    counted: dict[str, Any] = {}

    def keep(name: str, count: Any) -> Any:
        def wrapper(session: Session, period: Any) -> Any:
            counted[name] = figures = count(session, period)
            return figures

        return wrapper

    releases.quarter_figures = keep("quarter", releases.quarter_figures)  # type: ignore[assignment]
    releases.year_figures = keep("year", releases.year_figures)  # type: ignore[assignment]
    marks: dict[str, float] = {}

    def mark(step: str) -> None:
        marks.setdefault(step, time.perf_counter())

    engine = make_engine(app_url)
    try:
        with make_session_factory(engine)() as session:
            started = time.perf_counter()
            release = releases.build_release(
                session,
                QUARTER,
                builder=releases.Builder(uuid.UUID(coordinator), uuid.UUID(alliance), _origin()),
                rules=releases.rules_from(settings.disclosure_threshold, settings.disclosure_base),
                progress=mark,
            )
            session.commit()
            finished = time.perf_counter()
            content = json.loads(release.content)
    finally:
        engine.dispose()
    served = [
        value
        for table in content["tables"]
        for row in table["rows"]
        if not row.get("no_member_service")
        for value in row["values"].values()
    ]
    # Counts of a region no member serves: zero by the public service map, published as 0 and
    # counted apart, since the plain rule would suppress them and flatter the utility.
    known_zeros = sum(
        len(row["values"])
        for table in content["tables"]
        for row in table["rows"]
        if row.get("no_member_service")
    )
    totals = {
        "|".join(key): [tally.count, tally.families, tally.total]
        for figures in counted.values()
        for key, tally in figures.total().items()
    }
    return {
        "plain": plain_rule_cells(content, totals, settings.disclosure_threshold),
        "counting": marks["applying disclosure control"] - marks["counting the quarter's tables"],
        "audit": marks["storing the draft"] - marks["applying disclosure control"],
        "storing": finished - marks["storing the draft"],
        "total": finished - started,
        "cells": len(served) + known_zeros,
        "known_zeros": known_zeros,
        "suppressed": sum(value is None for value in served),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "totals": totals,
    }


def plain_rule_cells(content: dict[str, Any], totals: dict[str, list[int]], threshold: int) -> int:
    """How many cells of the document the plain rule alone (primary suppression: fewer families
    than the threshold, or a count of children or contacts under it) would publish, rows of a
    region no member serves left out: the baseline of the utility ratio, published / this."""
    published = 0
    for table in content["tables"]:
        measures = {column["key"]: column["measure"] for column in table["columns"]}
        for row in table["rows"]:
            if row.get("no_member_service"):
                continue
            for column in row["values"]:
                count, families, _ = totals.get(f"{table['id']}|{row['key']}|{column}", [0, 0, 0])
                small = families < threshold or (measures[column] == "count" and count < threshold)
                published += not small
    return published


def compare(raw: dict[str, list[int]], counted: dict[str, list[int]]) -> list[str]:
    """Cells where the raw SQL and the build's figures differ (transfers are not in the SQL)."""
    keys = (set(raw) | set(counted)) - {k for k in counted if k.startswith("region_transfers")}
    zero = [0, 0, 0]
    return sorted(k for k in keys if raw.get(k, zero) != counted.get(k, zero))


def run(
    backend: str,
    app_url: str,
    owner_url: str,
    raw_url: str,
    tmp: Path,
    families: int,
    history: int,
) -> dict[str, Any]:
    """``raw_url`` reads without walls: on PostgreSQL the superuser, since FORCE ROW LEVEL
    SECURITY shows even the tables' owner nothing."""
    prepared = prepare(app_url, owner_url, tmp, families, history)
    print(
        f"  {backend}: seeded {families:,} families in {prepared['seconds']:.1f}s "
        f"({prepared['rows'].get('contacts', 0):,} contacts), "
        f"{history} earlier quarter(s) published",
        file=sys.stderr,
        flush=True,
    )
    raw_seconds, raw = raw_sql(raw_url)
    # This very script, with ids it made itself: nothing untrusted reaches the command.
    child = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-m",
            "bench.release",
            "--build-only",
            app_url,
            str(tmp),
            prepared["coordinator"],
            prepared["alliance"],
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    built = json.loads(child.stdout.strip().splitlines()[-1])
    counted = built.pop("totals")
    mismatched = compare(raw, counted)
    if mismatched:
        print(f"\n!!! {backend}: RAW SQL AND THE BUILD DIFFER in {len(mismatched)} cells:")
        for key in mismatched[:20]:
            print(f"!!!   {key}: raw {raw.get(key)} build {counted.get(key)}")
    return {"raw": raw_seconds, "mismatched": len(mismatched), **built}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--build-only"]:
        app_url, folder, coordinator, alliance = argv[1:5]
        print(json.dumps(build(app_url, Path(folder), coordinator, alliance)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--history",
        type=int,
        choices=range(4),
        default=2,
        help="quarters before the timed one published first (the audit protects against them)",
    )
    args = parser.parse_args(argv)
    rows = []
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="continuum-bench-")))
        if args.backend in ("sqlite", "both"):
            sub = tmp / "sqlite"
            sub.mkdir()
            url = f"sqlite:///{sub / 'release.sqlite3'}"
            rows.append(("sqlite", run("sqlite", url, url, url, sub, args.families, args.history)))
        server = None
        if args.backend in ("postgresql", "both"):
            server = throwaway_server(stack, "continuum_release")
        if server is not None:
            sub = tmp / "pg"
            sub.mkdir()
            app_url = server.url("continuum_release", user=APP_ROLE)
            owner_url = server.url("continuum_release", user=OWNER_ROLE)
            raw_url = server.url("continuum_release")  # the superuser
            rows.append(
                (
                    "postgresql",
                    run(
                        "postgresql", app_url, owner_url, raw_url, sub, args.families, args.history
                    ),
                )
            )
    print(
        f"\nRelease benchmark, {QUARTER.label}, {args.families:,} families, audited against "
        f"{args.history} earlier release(s) (seconds; ratios"
    )
    print("against the raw SQL measured in the same run; timings reported, never asserted)")
    print(
        f"{'backend':>10} {'raw SQL':>8} {'counting':>9} {'x':>5} {'audit':>6} {'storing':>8} "
        f"{'build':>7} {'/(raw+audit)':>12} {'peak MB':>8} {'cells':>6} {'zeros':>6} {'suppr.':>6}"
        f" {'diff':>5}"
        f" {'utility':>8}"
    )
    for backend, m in rows:
        print(
            f"{backend:>10} {m['raw']:>8.2f} {m['counting']:>9.2f} "
            f"{m['counting'] / m['raw']:>5.2f} {m['audit']:>6.2f} {m['storing']:>8.2f} "
            f"{m['total']:>7.2f} {m['total'] / (m['raw'] + m['audit']):>12.2f} "
            f"{m['peak_mb']:>8.0f} {m['cells']:>6} {m['known_zeros']:>6} {m['suppressed']:>6}"
            f" {m['mismatched']:>5}"
            f" {(m['cells'] - m['known_zeros'] - m['suppressed']) / max(m['plain'], 1):>8.1%}"
        )
    print("\nutility: cells published / cells the plain rule (primary suppression alone) would")
    print("publish, both without the known zeros (a region no member serves); targets:")
    print(" build/(raw+audit) <= 3, audit < 30 s, peak < 500 MB, utility >= 90%")


if __name__ == "__main__":
    main()
