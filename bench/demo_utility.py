"""How much of the demo's releases is published, against the plain rule.

Run:
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.demo_utility        # the demo's default
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.demo_utility --background 0    # histories only
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.demo_utility --families 2000 --background 20000

Sets the demo up as ``continuum demo --no-serve`` does (its detailed histories and, unless
``--background 0``, its bulk background; four quarters published), in a temporary instance folder
on the embedded default (SQLite), on a fixed day; then, for every published release, counts the
cells published against the cells the plain rule alone (primary suppression: fewer families than
the threshold, or a count of children or contacts under it) would publish, from the same
unsuppressed figures the build counted (app.services.figures.metrics).

Rows that are zero by the public service map ("no member service": regions where no member
charity serves a prison) carry nothing the map does not say: their counts are published as 0
(the plain rule would suppress them, zero being under the threshold) and their means are empty.
They are counted apart ("no svc") and left out of the other columns. Of the rest: "publ." is
published, "suppr." suppressed, "plain" what the plain rule would publish, utility = publ. /
plain (the cost of secondary suppression to a reader of the figures; the issue's target is 90%
or more), and "shown" = publ. / (cells - no svc). Reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app import create_app
from app.demo.national import BACKGROUND_FAMILIES
from app.demo.records import DEMO_FAMILIES
from app.domain.figures.periods import Quarter, YearEnding
from app.models import Release
from app.services.figures.metrics import quarter_figures, year_figures
from bench.release import plain_rule_cells
from config.settings import load_settings

TODAY = date(2026, 11, 20)
TARGET = 0.9


@dataclass
class Count:
    cells: int = 0
    no_service: int = 0  # cells of "no member service" rows
    published: int = 0  # the other cells, published
    plain: int = 0

    def add(self, other: Count) -> None:
        self.cells += other.cells
        self.no_service += other.no_service
        self.published += other.published
        self.plain += other.plain

    @property
    def served(self) -> int:
        return self.cells - self.no_service

    @property
    def utility(self) -> float:
        return self.published / max(self.plain, 1)

    @property
    def shown(self) -> float:
        return self.published / max(self.served, 1)

    def line(self, name: str) -> str:
        return (
            f"{name:>10} {self.cells:>6} {self.no_service:>6} {self.published:>6} "
            f"{self.served - self.published:>6} {self.plain:>6} {self.utility:>8.1%} "
            f"{self.shown:>7.1%}"
        )


def count_release(content: dict[str, Any], totals: dict[str, list[int]], threshold: int) -> Count:
    """One release's cells: all, those of "no member service" rows, the others published, and
    what the plain rule would publish (never a "no member service" cell: they count no one)."""
    found = Count(plain=plain_rule_cells(content, totals, threshold))
    for table in content["tables"]:
        for row in table["rows"]:
            for value in row["values"].values():
                found.cells += 1
                if row.get("no_member_service"):
                    found.no_service += 1
                else:
                    found.published += value is not None
    return found


def _demo_args(args: argparse.Namespace) -> list[str]:
    return [
        "demo",
        "--no-serve",
        "--families",
        str(args.families),
        "--background",
        str(args.background),
        "--today",
        args.today.isoformat(),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=DEMO_FAMILIES)
    parser.add_argument("--background", type=int, default=BACKGROUND_FAMILIES)
    parser.add_argument("--today", type=date.fromisoformat, default=TODAY)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="continuum-utility-") as tmp:
        settings = load_settings({}, instance_path=Path(tmp) / "instance")
        app = create_app(settings)
        started = time.perf_counter()
        done = app.test_cli_runner().invoke(args=_demo_args(args))
        if done.exit_code != 0:
            raise SystemExit(done.output)
        seconds = time.perf_counter() - started
        print(
            f"Demo utility: {args.families:,} histories and {args.background:,} background "
            f"families, today {args.today.isoformat()} (demo set up in {seconds:.0f} s)"
        )
        print(
            f"{'release':>10} {'cells':>6} {'no svc':>6} {'publ.':>6} {'suppr.':>6} "
            f"{'plain':>6} {'utility':>8} {'shown':>7}"
        )
        overall = Count()
        with app.extensions["continuum"].session_factory() as session:
            stored = session.scalars(
                select(Release)
                .where(Release.status == "published")
                .order_by(Release.quarter, Release.revision)
            ).all()
            for release in stored:
                content = json.loads(release.content)
                quarter = Quarter.parse(release.quarter)
                totals = {
                    "|".join(key): [tally.count, tally.families, tally.total]
                    for figures in (
                        quarter_figures(session, quarter),
                        year_figures(session, YearEnding(quarter)),
                    )
                    for key, tally in figures.total().items()
                }
                counted = count_release(content, totals, release.threshold)
                overall.add(counted)
                print(counted.line(f"{release.quarter}r{release.revision}"))
        print(overall.line("all"))
        verdict = "PASS" if overall.utility >= TARGET else "MISS"
        print(
            f"{verdict}: utility {overall.utility:.1%} (target {TARGET:.0%}); "
            f"{overall.published:,} of {overall.served:,} cells with a member service published "
            f"({overall.shown:.1%}), and {overall.no_service:,} cells of regions without one "
            f"({overall.cells:,} cells in all)"
        )
        app.extensions["continuum"].engine.dispose()


if __name__ == "__main__":
    main()
