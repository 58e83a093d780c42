"""How much of the demo's releases is published, against the plain rule.

Run:
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.demo_utility             # 600 families
    UV_PYTHON_DOWNLOADS=never uv run python -m bench.demo_utility --families 2000

Sets the demo up as ``continuum demo --no-serve`` does, in a temporary instance folder on the
embedded default (SQLite), on a fixed day; then, for every published release, counts the cells
published against the cells the plain rule alone (primary suppression: fewer families than the
threshold, or a count of children or contacts under it) would publish, from the same unsuppressed
figures the build counted (app.services.metrics). The ratio is the cost of secondary suppression
to a reader of the figures; the issue's target is 90% or more. Reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date
from pathlib import Path

from sqlalchemy import select

from app import create_app
from app.domain.metric_periods import Quarter, YearEnding
from app.models import Release
from app.services.metrics import quarter_figures, year_figures
from bench.release import plain_rule_cells
from config.settings import load_settings

TODAY = date(2026, 11, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", type=int, default=600)
    parser.add_argument("--today", type=date.fromisoformat, default=TODAY)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="continuum-utility-") as tmp:
        settings = load_settings({}, instance_path=Path(tmp) / "instance")
        app = create_app(settings)
        done = app.test_cli_runner().invoke(
            args=[
                "demo",
                "--no-serve",
                "--families",
                str(args.families),
                "--today",
                args.today.isoformat(),
            ]
        )
        if done.exit_code != 0:
            raise SystemExit(done.output)
        print(f"Demo utility, {args.families:,} families, today {args.today.isoformat()}")
        print(f"{'release':>10} {'cells':>6} {'suppr.':>6} {'plain':>6} {'utility':>8}")
        published = plain = 0
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
                values = [
                    value
                    for table in content["tables"]
                    for row in table["rows"]
                    for value in row["values"].values()
                ]
                shown = sum(value is not None for value in values)
                baseline = plain_rule_cells(content, totals, release.threshold)
                published, plain = published + shown, plain + baseline
                print(
                    f"{release.quarter}r{release.revision:<3} {len(values):>6} "
                    f"{len(values) - shown:>6} {baseline:>6} {shown / max(baseline, 1):>8.1%}"
                )
        print(f"{'all':>10} {'':>6} {'':>6} {plain:>6} {published / max(plain, 1):>8.1%}")
        app.extensions["continuum"].engine.dispose()


if __name__ == "__main__":
    main()
