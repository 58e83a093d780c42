"""The attacker's view (app.domain.figures.disclosure.audit): feasible ranges of suppressed cells
checked against an independent brute force on tiny tables, for the outsider and for each charity,
and the negative controls: an exact total, primary suppression alone, a release built blind to an
earlier one, and one built blind to what a charity knows, each make the audit flag a leak. No Flask,
no database."""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import CannotProtect, InconsistentHistory
from app.domain.figures.disclosure.audit import Auditor
from app.domain.figures.disclosure.control import (
    OUTSIDER,
    TOTAL,
    CellKey,
    DisclosureRules,
    Draft,
    PublishedRelease,
    Records,
    Sum,
    audit_release,
    grid,
    protect_release,
    publish,
)
from app.domain.figures.disclosure.rules import is_small

RULES = DisclosureRules()
ROWS, COLUMNS = ("A", "B"), ("x", "y")
POSITIONS = tuple(product((*ROWS, TOTAL), (*COLUMNS, TOTAL)))
INNER = tuple(product(ROWS, COLUMNS))
# Above any bound the published figures of these tiny tables can imply (values up to 12: a
# published column total stands for at most 27, so any bounded cell is at most 54): a cell
# reaching it has no upper bound.
CAP = 60


def key(row: str, column: str = "n", table: str = "t") -> CellKey:
    return CellKey(table, row, column)


def could_be(published: int, rules: DisclosureRules) -> list[int]:
    """Every whole number the rules would have published as ``published``, by trying them all."""

    def rounded(n: int) -> int:
        quotient, remainder = divmod(n, rules.base)
        return (quotient + (1 if 2 * remainder >= rules.base else 0)) * rules.base

    return [
        n for n in range(published + rules.base) if n >= rules.threshold and rounded(n) == published
    ]


def brute_force(
    release: PublishedRelease, records: Records
) -> dict[tuple[str, str], tuple[int, int | None]]:
    """Every assignment of whole numbers to the 2x2 grid that fits what this reader knows, tried
    one by one (vectorised), and each suppressed cell's least and greatest value over them."""
    shown = {(c.key.row, c.key.column): c.value for c in release.cells}
    # Kerckhoffs: the reader knows which suppressed cells are small, so under the threshold.
    small = {(k.row, k.column) for k in release.suppressed_as_small}
    own = {(k.row, k.column): n for k, n in records.own.items()}
    whole = {(k.row, k.column) for k in records.whole}

    def allowed(position: tuple[str, str]) -> list[int]:
        mine = own.get(position, 0)
        if position in whole:
            return [mine]
        value = shown[position]
        if value is None:
            values = range(RULES.threshold if position in small else CAP + 1)
        else:
            values = could_be(int(value), RULES)
        return [v for v in values if v >= mine]

    axes = np.ix_(*(np.array(allowed(p), dtype=np.int32) for p in INNER))
    grid_values = dict(zip(INNER, axes, strict=True))
    for row in ROWS:
        grid_values[row, TOTAL] = grid_values[row, "x"] + grid_values[row, "y"]
    for column in (*COLUMNS, TOTAL):
        grid_values[TOTAL, column] = grid_values["A", column] + grid_values["B", column]
    shape = np.broadcast_shapes(*(a.shape for a in axes))
    fits = np.ones(shape, dtype=bool)
    for position in POSITIONS:
        if position in INNER:
            continue
        values = np.broadcast_to(grid_values[position], shape)
        if shown[position] is None and position not in whole:
            fits &= values >= own.get(position, 0)
            if position in small:
                fits &= values < RULES.threshold
        else:
            fits &= np.isin(values, allowed(position))
    assert fits.any(), "the true table always fits"
    ranges = {}
    for position in POSITIONS:
        if shown[position] is None and position not in whole:
            seen = np.broadcast_to(grid_values[position], shape)[fits]
            low, high = int(seen.min()), int(seen.max())
            mine = own.get(position, 0)
            ranges[position] = (low - mine, None if high >= CAP else high - mine)
    return ranges


def tiny_case(values, owners):
    table = grid(
        "t",
        ROWS,
        COLUMNS,
        dict(zip(INNER, values, strict=True)),
        row_totals=True,
        column_totals=True,
    )
    truth = {c.key: int(c.value) for c in table.cells}
    knowledge = {}
    for charity in sorted(set(owners)):
        mine = {row for row, owner in zip(ROWS, owners, strict=True) if owner == charity}
        own = {k: (n if k.row in mine else 0) for k, n in truth.items() if k.row != TOTAL}
        for column in (*COLUMNS, TOTAL):
            own[key(TOTAL, column)] = sum(own[key(row, column)] for row in ROWS)
        # A charity serving every prison knows the totals are all its own too.
        whole = frozenset(k for k in truth if k.row in mine or mine == set(ROWS))
        knowledge[charity] = Records(own, whole)
    return Draft("q", (table,)), truth, knowledge


# The brute force takes a good fraction of a second on some tables.
@settings(max_examples=30, deadline=None)
@given(
    values=st.lists(st.integers(0, 12), min_size=4, max_size=4),
    extra=st.sets(st.sampled_from(POSITIONS)),
    owners=st.tuples(st.sampled_from(["pops", "nepacs"]), st.sampled_from(["pops", "nepacs"])),
)
def test_every_readers_range_is_the_one_a_brute_force_finds(values, extra, owners):
    draft, truth, knowledge = tiny_case(values, owners)
    small = {c.key for c in draft.cells() if is_small(c, RULES)}
    release = publish(draft, small | {key(r, c) for r, c in extra}, small, RULES)
    audit = audit_release(release, [], RULES, knowledge)
    found = {(r.attacker, r.key.row, r.key.column): (r.low, r.high) for r in audit.ranges}
    expected = {}
    for attacker, records in [(OUTSIDER, Records()), *knowledge.items()]:
        for position, bounds in brute_force(release, records).items():
            expected[(attacker, *position)] = bounds
    assert found == expected
    for r in audit.ranges:
        mine = knowledge[r.attacker].own.get(r.key, 0) if r.attacker != OUTSIDER else 0
        assert r.low <= truth[r.key] - mine and (r.high is None or truth[r.key] - mine <= r.high)


@settings(max_examples=20, deadline=None)
@given(
    values=st.lists(st.integers(0, 12), min_size=4, max_size=4),
    owners=st.tuples(st.sampled_from(["pops", "nepacs"]), st.sampled_from(["pops", "nepacs"])),
)
def test_a_protected_tiny_table_leaves_every_reader_a_wide_range_including_zero_by_brute_force(
    values, owners
):
    draft, _, knowledge = tiny_case(values, owners)
    release = protect_release(draft, [], RULES, knowledge).published
    for records in (Records(), *knowledge.values()):
        for position, (low, high) in brute_force(release, records).items():
            if key(*position, table="t") in release.suppressed_as_small:
                # Known to be under the threshold (Kerckhoffs): only proving it present leaks.
                assert low == 0, position
            else:
                assert high is None or high - low >= RULES.base, position


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_quick_search_for_pinned_cells_finds_exactly_the_audits_leaks(data):
    rows = [f"P{i}" for i in range(data.draw(st.integers(1, 4)))]
    columns = [f"c{j}" for j in range(data.draw(st.integers(1, 4)))]
    values = {
        (r, c): data.draw(st.one_of(st.integers(0, 9), st.integers(10, 60)))
        for r in rows
        for c in columns
    }
    table = grid(
        "t", rows, columns, values, row_totals=data.draw(st.booleans()), column_totals=True
    )
    draft = Draft("q", (table,))
    owners = {r: data.draw(st.sampled_from(["pops", "nepacs"])) for r in rows}
    knowledge = {
        charity: Records(
            {c.key: int(c.value) for c in table.cells if owners.get(c.key.row) == charity},
            frozenset(c.key for c in table.cells if owners.get(c.key.row) == charity),
        )
        for charity in set(owners.values())
    }
    small = {c.key for c in draft.cells() if is_small(c, RULES)}
    extra = data.draw(st.sets(st.sampled_from([c.key for c in table.cells])))
    release = publish(draft, small | extra, small, RULES)
    auditor = Auditor(RULES, knowledge)
    leaks = audit_release(release, [], RULES, knowledge).leaks
    for reader in auditor.readers:
        assert auditor.pinned(release, [], reader) == {r.key for r in leaks if r.attacker == reader}


# --- negative controls ------------------------------------------------------------------------


def _column(values: dict[str, int]) -> Draft:
    return Draft(
        "q",
        (
            grid(
                "t",
                list(values),
                ["n"],
                {(r, "n"): v for r, v in values.items()},
                column_totals=True,
            ),
        ),
    )


def test_publishing_an_exact_total_beside_a_suppressed_cell_is_flagged_as_a_leak():
    protected = protect_release(_column({"LPI": 7, "WDI": 31, "DMI": 44}), [], RULES, {})
    assert protected.published.cell(key("LPI")).suppressed
    assert protected.published.cell(key(TOTAL)).value == 80
    assert audit_release(protected.published, [], RULES, {}).leaks == ()

    exact = tuple(
        replace(c, value=82, exact=True) if c.key == key(TOTAL) else c
        for c in protected.published.cells
    )
    leaks = audit_release(replace(protected.published, cells=exact), [], RULES, {}).leaks
    # 82 - 31 - 44 = 7 give or take the two roundings; a small count is under 10 (Kerckhoffs).
    assert [(leak.key, leak.attacker, leak.low, leak.high) for leak in leaks] == [
        (key("LPI"), OUTSIDER, 3, 9)
    ]


def test_primary_suppression_alone_leaves_a_small_cell_pinned_by_its_row_total():
    draft = Draft(
        "q", (grid("t", ["LPI"], ["a", "b"], {("LPI", "a"): 3, ("LPI", "b"): 40}, row_totals=True),)
    )
    small = {c.key for c in draft.cells() if is_small(c, RULES)}
    primary_only = publish(draft, small, small, RULES)
    leaks = audit_release(primary_only, [], RULES, {}).leaks
    assert [(leak.key, leak.low, leak.high) for leak in leaks] == [(key("LPI", "a"), 1, 9)]

    protected = protect_release(draft, [], RULES, {})
    assert protected.audit.leaks == ()
    assert {c.key for c in protected.published.cells if c.suppressed} > small


def _quarters(q1: dict[str, int], q2: dict[str, int]) -> tuple[Draft, Draft]:
    first = Draft(
        "2026Q1", (grid("2026Q1", list(q1), ["n"], {(r, "n"): v for r, v in q1.items()}),)
    )
    year = grid("2026", list(q1), ["n"], {(r, "n"): q1[r] + q2[r] for r in q1})
    second = Draft(
        "2026Q2",
        (grid("2026Q2", list(q2), ["n"], {(r, "n"): v for r, v in q2.items()}), year),
        tuple(Sum(key(r, "n", "2026"), (key(r, "n", "2026Q1"), key(r, "n", "2026Q2"))) for r in q1),
    )
    return first, second


def test_a_release_built_blind_to_the_earlier_one_leaks_through_a_year_total():
    first, second = _quarters({"LPI": 6, "WDI": 30}, {"LPI": 40, "WDI": 35})
    q1 = protect_release(first, [], RULES, {}).published
    assert q1.cell(key("LPI", "n", "2026Q1")).suppressed

    blind = protect_release(replace(second, sums=()), [], RULES, {}).published
    blind = replace(blind, sums=second.all_sums())
    leaks = audit_release(blind, [q1], RULES, {}).leaks
    assert key("LPI", "n", "2026Q1") in {leak.key for leak in leaks}

    aware = protect_release(second, [q1], RULES, {})
    assert aware.audit.leaks == ()
    assert audit_release(aware.published, [q1], RULES, {}).leaks == ()
    assert aware.published != blind


def test_a_release_built_blind_to_what_a_charity_knows_leaks_to_that_charity():
    # Three small prisons and a total of 19, published as 20: an outsider knows each is under 10
    # and the total 18 to 22, which leaves each 0 to 9; POPS, knowing its own 1 at LPI, knows
    # the other two hold 17 to 21 between them, so each at least 8.
    draft = _column({"LPI": 1, "DMI": 9, "WDI": 9})
    knowledge = {
        "pops": Records({key("LPI"): 1, key(TOTAL): 1}, frozenset({key("LPI")})),
        "nepacs": Records(
            {key("DMI"): 9, key("WDI"): 9, key(TOTAL): 18}, frozenset({key("DMI"), key("WDI")})
        ),
    }
    blind = protect_release(draft, [], RULES, {}).published
    assert blind.cell(key(TOTAL)).value == 20
    assert audit_release(blind, [], RULES, {}).leaks == ()
    leaks = audit_release(blind, [], RULES, knowledge).leaks
    assert {(leak.key, leak.attacker) for leak in leaks} == {
        (key("DMI"), "pops"),
        (key("WDI"), "pops"),
    }

    aware = protect_release(draft, [], RULES, knowledge)
    assert aware.published.cell(key(TOTAL)).suppressed
    assert audit_release(aware.published, [], RULES, knowledge).leaks == ()


def test_the_audit_covers_every_suppressed_cell_for_every_reader_but_a_charitys_own_cells():
    draft = _column({"LPI": 7, "WDI": 8, "DMI": 30})
    knowledge = {"pops": Records({key("LPI"): 7, key(TOTAL): 7}, frozenset({key("LPI")}))}
    protected = protect_release(draft, [], RULES, knowledge)
    hidden = sorted(c.key for c in protected.published.cells if c.suppressed)
    expected = {(k, OUTSIDER) for k in hidden} | {(k, "pops") for k in hidden if k != key("LPI")}
    assert {(r.key, r.attacker) for r in protected.audit.ranges} == expected


# --- what cannot be audited or protected --------------------------------------------------------


def test_a_cell_pinned_by_earlier_releases_alone_cannot_be_protected_by_a_later_one():
    q1 = protect_release(_column({"LPI": 7, "WDI": 31, "DMI": 44}), [], RULES, {}).published
    exact = tuple(replace(c, value=82, exact=True) if c.key == key(TOTAL) else c for c in q1.cells)
    leaky = replace(q1, cells=exact)
    year = grid("year", ["LPI"], ["n"], {("LPI", "n"): 57})
    later = Draft(
        "later",
        (grid("q2", ["LPI"], ["n"], {("LPI", "n"): 50}), year),
        (Sum(key("LPI", "n", "year"), (key("LPI"), key("LPI", "n", "q2"))),),
    )
    with pytest.raises(CannotProtect) as refused:
        protect_release(later, [leaky], RULES, {})
    assert key("LPI") in refused.value.keys


def test_a_charitys_records_that_contradict_the_release_are_refused():
    release = protect_release(_column({"LPI": 7, "WDI": 31, "DMI": 44}), [], RULES, {}).published
    with pytest.raises(InconsistentHistory):
        audit_release(release, [], RULES, {"pops": Records({key("WDI"): 40})})


def test_releases_that_disagree_on_one_figure_are_refused():
    first = protect_release(_column({"LPI": 17, "WDI": 31}), [], RULES, {}).published
    revised = protect_release(_column({"LPI": 27, "WDI": 31}), [], RULES, {}).published
    with pytest.raises(InconsistentHistory):
        audit_release(revised, [first], RULES, {})


def test_the_outsider_is_not_a_charity_name_and_sums_name_known_cells():
    release = protect_release(_column({"LPI": 17, "WDI": 31}), [], RULES, {}).published
    with pytest.raises(ValueError):
        audit_release(release, [], RULES, {OUTSIDER: Records()})
    stray = replace(release, sums=(*release.sums, Sum(key("LPI"), (key("nowhere"),))))
    with pytest.raises(ValueError, match="no release"):
        audit_release(stray, [], RULES, {})
