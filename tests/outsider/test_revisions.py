"""A revision never pins a figure of the release it replaces (issue 12, "Revisions"), checked
from outside on SQLite and PostgreSQL.

The story of the issue: a quarter is published with a prison's families supported suppressed as
small (9); a family is then recorded late at that prison, the quarter is reopened, signed off
again and republished as revision 2 with the reason saying so. A reader who links the two
revisions knows exactly what changed (the reason is published), so each figure of revision 2 is
the same figure of revision 1 plus a known change. Had revision 2 published the prison's 10, the
reader would prove revision 1's cell was exactly 9.

The reader (tests/outsider/reader.py, no code shared with the protector) is given every change
exactly: the most a reader could know. The changes are counted by the product's own counting
(app.services.figures.metrics), before and after the late family, the figures each build starts from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest

from app.domain.figures.catalogue import Figures, TableId
from app.domain.figures.periods import YearEnding
from app.services.figures.metrics import quarter_figures, year_figures
from tests.outsider.reader import Cell, Charity, Contradiction, pinned, read_releases
from tests.outsider.records import cells_of, release_name, share, totals
from tests.support.cases import Desk
from tests.support.release_steps import CHARITIES, Q3, Releases, more_families

PRISON = TableId.PRISON_ACTIVITY.value

# Wakefield: one charity (POPS) serves it, so a late family there moves its row alone.
LATE_AT = ("WDI", "pops_wakefield", "pops")
SUPPORTED = "families_supported"


def _figures(steps: Releases) -> tuple[Figures, Figures]:
    with steps.sessions() as session:
        return quarter_figures(session, Q3), year_figures(session, YearEnding(Q3))


Revised = tuple[list[dict[str, Any]], dict[Cell, int], list[Charity]]


@pytest.fixture
def revised(
    releases: Releases,
    desk: Callable[[str], Desk],
) -> Revised:
    """Revision 1 with the prison one family under the threshold, then revision 2 with one
    family more: the documents, the exact change of every count, each charity's own records."""
    prison, worker, charity = LATE_AT
    now = _figures(releases)[0].total()[PRISON, prison, SUPPORTED].families
    more_families(desk(worker), prison, 9 - now)
    releases.sign_off(*CHARITIES)
    first = releases.build()
    releases.publish(first.id)
    at_first = _figures(releases)

    releases.reopen(charity)
    more_families(desk(worker), prison, 1)
    releases.sign_off(charity)
    second = releases.build(reason=f"a family supported at {prison} in the quarter, recorded late")
    releases.publish(second.id, hour=12)
    at_second = _figures(releases)

    documents = [first.document, second.document]
    old = cells_of(documents[0], totals(at_first))
    new = cells_of(documents[1], totals(at_second))
    changes = {
        cell: value - old[Cell(release_name(documents[0]), cell.table, cell.row, cell.column)]
        for cell, value in new.items()
    }
    charities = [
        Charity(
            slug,
            cells_of(documents[0], share(at_first, releases.charity(slug)))
            | cells_of(documents[1], share(at_second, releases.charity(slug))),
        )
        for slug in CHARITIES
    ]
    return documents, changes, charities


def _findings(
    documents: Sequence[Mapping[str, Any]], changes: Mapping[Cell, int], charity: Charity | None
) -> list[str]:
    try:
        readings = pinned(read_releases(documents, changes=changes, charity=charity))
    except Contradiction as exc:
        return [str(exc)]
    return [f"{r.cell}: {r.pinned}" for r in readings]


def test_the_late_family_moves_the_prison_across_the_threshold(revised: Revised) -> None:
    (first, second), changes, _charities = revised
    assert changes[Cell(release_name(second), PRISON, LATE_AT[0], SUPPORTED)] == 1
    assert second["supersedes"] and second["revision_reason"]
    rows = [r for t in first["tables"] if t["id"] == PRISON for r in t["rows"]]
    (row,) = [r for r in rows if r["key"] == LATE_AT[0]]
    assert row["values"][SUPPORTED] is None  # 9: suppressed as small in revision 1


def test_no_reader_told_exactly_what_changed_can_pin_a_figure_of_either_revision(
    revised: Revised,
) -> None:
    documents, changes, charities = revised
    readers: list[tuple[str, Charity | None]] = [("an outsider", None)]
    readers += [(c.slug, c) for c in charities]
    found = {
        name: lines
        for name, charity in readers
        if (lines := _findings(documents, changes, charity))
    }
    assert not found, "worked out across the revisions:\n" + "\n".join(
        f"  {name}: {line}" for name, lines in found.items() for line in lines
    )
