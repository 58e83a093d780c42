"""Releases under disclosure control (app.domain.figures.disclosure.control.protect_release), as
properties over generated quarters: prisons served by charities, family counts with their totals,
children on those families, a year table summing the quarters, and a release audited with the one
before it. No Flask, no database."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import CannotProtect
from app.domain.figures.disclosure.control import (
    OUTSIDER,
    TOTAL,
    Cell,
    CellKey,
    DisclosureRules,
    Draft,
    Kind,
    Knowledge,
    PublishedRelease,
    Records,
    Sum,
    Table,
    audit_release,
    grid,
    protect_release,
)
from app.domain.figures.disclosure.rules import is_small
from app.domain.figures.release.document import merge_knowledge
from app.domain.figures.release.draft import link_revision

CHARITIES = ("nepacs", "pact", "pops")
RULES = DisclosureRules()
# Mostly counts above the threshold, with enough small ones (zero included) to need suppression.
COUNT = st.one_of(st.integers(0, 9), st.integers(10, 80))


@dataclass(frozen=True)
class Scenario:
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    owners: tuple[str, ...]  # the charity serving each prison (row)
    q1: dict[tuple[str, str], int]
    q2: dict[tuple[str, str], int]
    children_per_family: dict[tuple[str, str], int]
    row_totals: bool
    column_totals: bool
    with_children: bool
    with_year: bool

    def tables(self, period: str, values: dict[tuple[str, str], int]) -> tuple[Table, ...]:
        families = grid(
            f"{period} families",
            self.rows,
            self.columns,
            values,
            row_totals=self.row_totals,
            column_totals=self.column_totals,
        )
        if not self.with_children:
            return (families,)
        return (families, children_of(families, self.children_per_family))

    def drafts(self) -> tuple[Draft, Draft]:
        first = Draft("2026Q1", self.tables("2026Q1", self.q1))
        second = self.tables("2026Q2", self.q2)
        if not self.with_year:
            return first, Draft("2026Q2", second)
        year_values = {cell: self.q1.get(cell, 0) + self.q2.get(cell, 0) for cell in self.q1}
        year = self.tables("2026", year_values)
        across = tuple(
            Sum(
                cell.key,
                (replace(cell.key, table=q1.key.table), replace(cell.key, table=q2.key.table)),
            )
            for table, t1, t2 in zip(year, first.tables, second, strict=True)
            for cell, q1, q2 in zip(table.cells, t1.cells, t2.cells, strict=True)
        )
        return first, Draft("2026Q2", (*second, *year), across)

    def knowledge(self, *drafts: Draft) -> Knowledge:
        cells = [c for draft in (drafts or self.drafts()) for c in draft.cells()]
        records = {}
        for charity in sorted(set(self.owners)):
            mine = {
                row for row, owner in zip(self.rows, self.owners, strict=True) if owner == charity
            }
            own = {}
            for cell in cells:
                if cell.key.row in mine:
                    own[cell.key] = int(cell.value)
            for cell in cells:
                if cell.key.row == TOTAL:
                    own[cell.key] = sum(own.get(replace(cell.key, row=row), 0) for row in mine)
            whole = frozenset(c.key for c in cells if c.key.row in mine)
            records[charity] = Records(own, whole)
        return records


def children_of(families: Table, per_family: dict[tuple[str, str], int]) -> Table:
    """Children in the families of each cell, suppressed with the families cell behind it."""
    name = families.name.replace("families", "children")
    inner = {
        (c.key.row, c.key.column): int(c.value) * per_family[c.key.row, c.key.column]
        for c in families.cells
        if TOTAL not in (c.key.row, c.key.column)
    }
    count = {
        c.key: sum(
            n
            for (row, column), n in inner.items()
            if c.key.row in (row, TOTAL) and c.key.column in (column, TOTAL)
        )
        for c in families.cells
    }
    cells = tuple(
        Cell.of_count(replace(c.key, table=name), count[c.key], int(c.value), basis=c.key)
        for c in families.cells
    )
    sums = tuple(
        Sum(replace(s.total, table=name), tuple(replace(p, table=name) for p in s.parts))
        for s in families.sums
    )
    return Table(name, cells, sums)


@st.composite
def scenarios(draw: st.DrawFn, max_rows: int = 4) -> Scenario:
    rows = tuple(f"P{i}" for i in range(draw(st.integers(2, max_rows))))
    columns = tuple(f"c{j}" for j in range(draw(st.integers(1, 3))))
    grid_cells = [(r, c) for r in rows for c in columns]
    return Scenario(
        rows=rows,
        columns=columns,
        owners=tuple(draw(st.sampled_from(CHARITIES)) for _ in rows),
        q1={cell: draw(COUNT) for cell in grid_cells},
        q2={cell: draw(COUNT) for cell in grid_cells},
        children_per_family={cell: draw(st.integers(0, 3)) for cell in grid_cells},
        row_totals=draw(st.booleans()),
        column_totals=draw(st.booleans()),
        with_children=draw(st.booleans()),
        with_year=draw(st.booleans()),
    )


def build(
    scenario: Scenario, rules: DisclosureRules = RULES
) -> tuple[PublishedRelease, PublishedRelease]:
    first, second = scenario.drafts()
    knowledge = scenario.knowledge()
    q1 = protect_release(first, [], rules, knowledge).published
    q2 = protect_release(second, [q1], rules, knowledge).published
    return q1, q2


def published_counts(release: PublishedRelease) -> dict[CellKey, int | float | None]:
    return {c.key: c.value for c in release.cells if c.kind is not Kind.AVERAGE}


# --- what is published ------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(scenario=scenarios(), rules=st.sampled_from([RULES, DisclosureRules(20, 10)]))
def test_no_published_count_is_below_the_threshold_every_one_is_a_multiple_of_the_base_and_every_key_is_there(
    scenario, rules
):
    drafts = scenario.drafts()
    for draft, release in zip(drafts, build(scenario, rules), strict=True):
        assert [c.key for c in release.cells] == [c.key for c in draft.cells()]
        for cell in release.cells:
            if cell.value is not None:
                assert cell.value >= rules.threshold
                assert cell.value % rules.base == 0
        small = {c.key for c in draft.cells() if is_small(c, rules)}
        assert release.suppressed_as_small == tuple(sorted(small))
        assert small <= {c.key for c in release.cells if c.suppressed}


@settings(max_examples=30, deadline=None)
@given(scenario=scenarios())
def test_no_reader_pins_a_suppressed_cell_from_this_release_and_the_one_before(scenario):
    q1, q2 = build(scenario)
    knowledge = scenario.knowledge()
    truth = {c.key: int(c.value) for draft in scenario.drafts() for c in draft.cells()}
    for release, history in ((q1, []), (q2, [q1])):
        audit = audit_release(release, history, RULES, knowledge)
        assert audit.leaks == ()
        hidden = {c.key for r in (*history, release) for c in r.cells if c.suppressed}
        readers = {OUTSIDER, *knowledge}
        assert {(r.key, r.attacker) for r in audit.ranges} == {
            (key, reader)
            for key in hidden
            for reader in readers
            if reader == OUTSIDER or key not in knowledge[reader].whole
        } - _wholly_known_totals(scenario, knowledge, hidden)
        for r in audit.ranges:
            mine = 0 if r.attacker == OUTSIDER else knowledge[r.attacker].own.get(r.key, 0)
            assert r.low <= truth[r.key] - mine
            assert r.high is None or truth[r.key] - mine <= r.high
            assert r.capped or r.high is None or r.high - r.low >= RULES.base
            if r.small:
                assert r.low == 0


def _wholly_known_totals(scenario, knowledge, hidden):
    """Totals a charity serving every prison knows are all its own (not audited for it)."""
    if len(set(scenario.owners)) > 1:
        return set()
    (charity,) = set(scenario.owners)
    return {(key, charity) for key in hidden if key.row == TOTAL}


# --- one family more or less ------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(scenario=scenarios(max_rows=3), data=st.data())
def test_adding_or_removing_one_family_never_moves_a_published_count_by_exactly_one(scenario, data):
    cell = data.draw(st.sampled_from(sorted(scenario.q2)))
    step = data.draw(st.sampled_from([1, -1] if scenario.q2[cell] else [1]))
    changed = replace(scenario, q2={**scenario.q2, cell: scenario.q2[cell] + step})
    before = published_counts(build(scenario)[1])
    after = published_counts(build(changed)[1])
    assert before.keys() == after.keys()
    for key, value in before.items():
        if value is not None and after[key] is not None:
            assert abs(after[key] - value) != 1
            assert (after[key] - value) % RULES.base == 0


# --- revisions --------------------------------------------------------------------------------


def revise(scenario: Scenario, q1: dict[tuple[str, str], int]) -> Draft:
    """The first quarter again, as revision 2, with these values."""
    return Draft("2026Q1r2", scenario.tables("2026Q1r2", q1))


@settings(max_examples=30, deadline=None)
@given(scenario=scenarios(max_rows=3), data=st.data())
def test_a_revision_adding_one_family_never_lets_a_reader_pin_either_revision(scenario, data):
    """The reader knows every change exactly (the reason is published): each count of revision
    2 is the same count of revision 1 plus its change. Only what the change itself proves (the
    cell holds the family added) is not the figures' to hide."""
    first = scenario.drafts()[0]
    knowledge = scenario.knowledge(first)
    r1 = protect_release(first, [], RULES, knowledge).published
    cell = data.draw(st.sampled_from(sorted(scenario.q1)))
    later = revise(scenario, {**scenario.q1, cell: scenario.q1[cell] + 1})
    linked = link_revision(later, r1, knowledge)
    before = {c.key: c.value for c in first.cells()}
    after = {c.key: c.value for c in later.cells()}
    changes = linked.relations.changes
    assert {c.after for c in changes} == set(after)
    assert all(after[c.after] - before[c.before] == c.by for c in changes)
    both = merge_knowledge(knowledge, scenario.knowledge(later))
    r2 = protect_release(linked, [r1], RULES, both).published
    audit = audit_release(r2, [r1], RULES, both)
    assert audit.leaks == ()
    assert not {k for k in r1.suppressed_as_small if r2.cell(_twin(k)).value is not None} & {
        r.key for r in audit.ranges if r.low > 0
    }


def _twin(key: CellKey) -> CellKey:
    return replace(key, table=key.table.replace("2026Q1", "2026Q1r2", 1))


def two_prisons(first: int, then: int) -> tuple[Scenario, PublishedRelease, Draft, Knowledge]:
    """POPS's prison at ``first`` families beside Pact's 40, published; then the same quarter
    again as revision 2 with ``then`` at POPS's prison (unlinked), and both charities' records."""
    counts = {("P0", "c0"): first, ("P1", "c0"): 40}
    scenario = Scenario(
        rows=("P0", "P1"),
        columns=("c0",),
        owners=("pops", "pact"),
        q1=counts,
        q2=counts,
        children_per_family=dict.fromkeys(counts, 1),
        row_totals=False,
        column_totals=False,
        with_children=False,
        with_year=False,
    )
    first_draft = scenario.drafts()[0]
    knowledge = scenario.knowledge(first_draft)
    r1 = protect_release(first_draft, [], RULES, knowledge).published
    later = revise(scenario, {**counts, ("P0", "c0"): then})
    return scenario, r1, later, merge_knowledge(knowledge, scenario.knowledge(later))


REVISED_P0 = CellKey("2026Q1r2 families", "P0", "c0")


def test_a_revision_that_publishes_a_small_cell_plus_one_is_suppressed_with_it():
    """Issue 12's story: 9 families, suppressed; a late family makes 10. Published, the reader
    who knows one was added proves revision 1 held exactly 9."""
    _scenario, r1, later, both = two_prisons(9, 10)
    unlinked = protect_release(later, [r1], RULES, both).published
    assert unlinked.cell(REVISED_P0).value == 10  # alone, 10 is published
    r2 = protect_release(link_revision(later, r1, both), [r1], RULES, both).published
    assert r2.cell(REVISED_P0).suppressed
    assert audit_release(r2, [r1], RULES, both).leaks == ()


def test_a_revision_taking_a_published_count_below_the_threshold_cannot_be_protected():
    """10 published, one family taken away: the reader knows revision 2 holds 9 whatever it
    shows, so the revision is refused, naming the cell."""
    _scenario, r1, later, both = two_prisons(10, 9)
    with pytest.raises(CannotProtect) as refused:
        protect_release(link_revision(later, r1, both), [r1], RULES, both)
    assert refused.value.keys == (REVISED_P0,)


def test_a_count_narrow_only_by_the_public_caps_of_small_quarters_does_not_stop_the_release():
    """NEPACS holds 9 families in the first quarter and 5 in the second, Pact none; each
    quarter's total is small, so NEPACS knows Pact had at most 4 in the year's 14 whatever the
    second release shows. That narrowness is public (the rules cap small counts), no suppression
    can widen it, and the year's 14 is not small: the release is built, and the audit says the
    range is public rather than a leak. (Found by Hypothesis: CannotProtect before.)"""
    counts = {(row, column): 0 for row in ("P0", "P1") for column in ("c0", "c1", "c2")}
    scenario = Scenario(
        rows=("P0", "P1"),
        columns=("c0", "c1", "c2"),
        owners=("nepacs", "pact"),
        q1={**counts, ("P0", "c2"): 9},
        q2={**counts, ("P0", "c2"): 5},
        children_per_family=counts,
        row_totals=False,
        column_totals=True,
        with_children=False,
        with_year=True,
    )
    q1, q2 = build(scenario)
    audit = audit_release(q2, [q1], RULES, scenario.knowledge())
    assert audit.leaks == ()
    year = CellKey("2026 families", TOTAL, "c2")
    (nepacs,) = [r for r in audit.ranges if (r.key, r.attacker) == (year, "nepacs")]
    assert not nepacs.small and nepacs.capped and nepacs.narrower_than(RULES.base)


# --- determinism ------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(scenario=scenarios())
def test_the_same_draft_always_gives_the_identical_release_and_audit(scenario):
    first, second = scenario.drafts()
    knowledge = scenario.knowledge()
    reordered = dict(reversed(list(knowledge.items())))
    q1 = protect_release(first, [], RULES, knowledge).published
    once = protect_release(second, [q1], RULES, knowledge)
    again = protect_release(second, [q1], RULES, reordered)
    assert once == again
    assert repr(once) == repr(again)


def fixed_scenario() -> Scenario:
    """A quarter pair with small cells everywhere, children and a year table."""
    rows, columns = ("P0", "P1", "P2"), ("c0", "c1")
    cells = [(r, c) for r in rows for c in columns]
    return Scenario(
        rows=rows,
        columns=columns,
        owners=("pops", "nepacs", "pops"),
        q1=dict(zip(cells, [3, 40, 12, 0, 25, 9], strict=True)),
        q2=dict(zip(cells, [14, 5, 60, 22, 8, 31], strict=True)),
        children_per_family=dict.fromkeys(cells, 2),
        row_totals=True,
        column_totals=True,
        with_children=True,
        with_year=True,
    )


def test_the_same_draft_gives_the_same_release_in_another_process():
    # Set iteration order follows the hash seed: a choice that leaked it would differ here.
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    script = f"from {__name__} import *; print(repr(build(fixed_scenario())))"
    elsewhere = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONHASHSEED": seed},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    here = build(fixed_scenario())
    assert elsewhere == repr(here) + "\n"
    assert any(cell.suppressed for release in here for cell in release.cells)


@pytest.mark.parametrize(("other", "partner"), [("b", "b"), ("z", TOTAL)])
def test_a_tie_between_equally_small_partners_goes_to_the_first_key(other, partner):
    # 0 beside 40 with a total of 40: the total and the other cell both cost 40. They are counts
    # of contacts: a small one may be small for its families, so no reader knows it is under the
    # threshold, and a range of 0 to 4 pins it.
    def count(column: str, value: int) -> Cell:
        return Cell.of_count(CellKey("t", "LPI", column), value, value)

    cells = (count("a", 0), count(other, 40), count(TOTAL, 40))
    sums = (Sum(cells[2].key, (cells[0].key, cells[1].key)),)
    table = Table("t", cells, sums)
    published = protect_release(Draft("q", (table,)), [], RULES, {}).published
    assert {c.key.column for c in published.cells if c.suppressed} == {"a", partner}
