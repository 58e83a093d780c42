"""Adding or removing one family never shows as a change of exactly one in any published cell
(issue 5), on SQLite and PostgreSQL.

Each case builds the quarter's release from the families of tests/integration/test_releases.py,
then a charity's quarter is reopened, one family is added through the real use cases (or one
objects to statistical use from the start of the quarter, which removes it), the charity signs
off again and the release is rebuilt. Rounding to 5 and suppression make a difference of one
impossible in what is published; the negative control shows the unsuppressed totals the build
read did move by exactly one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from app.domain.vocabulary import ConsentDecision, ContactKind, ReferralSource
from tests.support.cases import Desk
from tests.support.figures import contact, open_family, statistics
from tests.support.release_steps import CHARITIES, Releases, values

REOPENED = date(2026, 10, 22)
Change = Callable[[Releases, Callable[[str], Desk]], None]


def new_family(actor: str, prison: str) -> Change:
    def change(_flow: Releases, desks: Callable[[str], Desk]) -> None:
        worker = desks(actor)
        family = open_family(worker, prison, date(2026, 8, 3), ReferralSource.SELF, children=1)
        contact(worker, family, ContactKind.VISIT, date(2026, 8, 3), first=True)

    return change


def objection(index: int) -> Change:
    def change(flow: Releases, desks: Callable[[str], Desk]) -> None:
        case_id = flow.more[index].case_id
        statistics(desks("pops_liverpool"), case_id, ConsentDecision.REFUSED, date(2026, 7, 1))

    return change


CHANGES = {
    "one more family at Liverpool": ("pops", new_family("pops_liverpool", "LPI")),
    "one more family at Wakefield": ("pops", new_family("pops_wakefield", "WDI")),
    "one more family at Durham": ("nepacs", new_family("nepacs_durham", "DMI")),
    "one more family at Birmingham": ("pact", new_family("pact_manager", "BMI")),
    "a Liverpool family objects to statistics": ("pops", objection(0)),
    "another Liverpool family objects to statistics": ("pops", objection(7)),
}


def published_cells(document: dict) -> dict[tuple[str, str, str], object]:
    cells = {(t["id"], r["key"], k): v for t, r, k, v in values(document)}
    for table in document["tables"]:
        cells[(table["id"], "", "excluded_families")] = table["excluded_families"]
    return cells


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_one_family_more_or_less_never_shows_as_a_change_of_one(
    releases,
    desk,
    change,
):
    slug, make_change = CHANGES[change]
    releases.sign_off(*CHARITIES)
    before = releases.build()
    totals_before = releases.totals()

    releases.reopen(slug, day=REOPENED)
    make_change(releases, desk)
    releases.sign_off(slug, day=REOPENED)
    after = releases.build(day=REOPENED, hour=11)
    totals_after = releases.totals()

    old, new = published_cells(before.document), published_cells(after.document)
    assert old.keys() == new.keys()
    shown = {key for key in old if old[key] is not None and new[key] is not None}
    assert shown, "nothing is published in both builds: the comparison would be vacuous"
    for key in shown:
        assert abs(new[key] - old[key]) != 1, key  # type: ignore[operator]
    # The negative control: unrounded, unsuppressed, the one family shows as exactly one.
    moved = {
        key
        for key, tally in totals_after.items()
        if abs(tally.families - totals_before[key].families) == 1
        or abs(tally.count - totals_before[key].count) == 1
    }
    assert moved
