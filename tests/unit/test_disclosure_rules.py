"""Primary disclosure control (app.domain.figures.disclosure.rules and the model): the settings,
rounding, what a published figure tells a reader, which cells are small, and complete grids. No
Flask, no database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.figures.disclosure.control import (
    TOTAL,
    Cell,
    CellKey,
    DisclosureRules,
    Draft,
    Kind,
    PublishedCell,
    Sum,
    grid,
    known_interval,
    protect_release,
    publish,
    round_to_base,
)
from app.domain.figures.disclosure.rules import is_small

RULES = DisclosureRules()


def key(row: str, column: str = "n", table: str = "t") -> CellKey:
    return CellKey(table, row, column)


def half_up(value: int, base: int) -> int:
    """Round half up the long way, as a reader of the published rules would."""
    quotient, remainder = divmod(value, base)
    return (quotient + (1 if 2 * remainder >= base else 0)) * base


# --- settings ---------------------------------------------------------------------------------


def test_the_default_rules_are_the_ons_ten_five_rule():
    assert (RULES.threshold, RULES.base) == (10, 5)


@pytest.mark.parametrize(
    ("threshold", "base"), [(0, 5), (10, 0), (-10, 5), (11, 5), (True, 1), (10.0, 5)]
)
def test_rules_that_make_no_sense_are_refused(threshold, base):
    with pytest.raises(ValueError):
        DisclosureRules(threshold=threshold, base=base)


def test_other_settings_are_accepted():
    assert DisclosureRules(threshold=20, base=10).threshold == 20
    assert DisclosureRules(threshold=3, base=1).base == 1


# --- rounding and what a published figure tells ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "rounded"), [(0, 0), (2, 0), (3, 5), (10, 10), (12, 10), (13, 15), (17, 15), (18, 20)]
)
def test_counts_round_half_up_to_the_nearest_five(value, rounded):
    assert round_to_base(value, 5) == rounded


@settings(max_examples=60)
@given(value=st.integers(0, 10_000), base=st.integers(1, 12))
def test_rounding_matches_long_hand_half_up(value, base):
    assert round_to_base(value, base) == half_up(value, base)


@settings(max_examples=40)
@given(
    rules=st.sampled_from(
        [RULES, DisclosureRules(20, 10), DisclosureRules(4, 4), DisclosureRules(3, 1)]
    ),
    published=st.integers(0, 60),
)
def test_a_published_counts_interval_is_exactly_the_counts_the_rules_could_have_published_so(
    rules, published
):
    value = published * rules.base
    could_be = [
        n
        for n in range(0, value + 2 * rules.base)
        if n >= rules.threshold and half_up(n, rules.base) == value
    ]
    cell = PublishedCell(key("a"), Kind.FAMILIES, value)
    if could_be:
        assert known_interval(cell, rules) == (could_be[0], could_be[-1])
    else:
        low, high = known_interval(cell, rules)
        assert low > high


def test_an_exact_figure_tells_its_value():
    assert known_interval(PublishedCell(key("a"), Kind.FAMILIES, 37, exact=True), RULES) == (37, 37)


def test_a_suppressed_cell_or_an_average_has_no_interval():
    with pytest.raises(ValueError):
        known_interval(PublishedCell(key("a"), Kind.FAMILIES, None), RULES)
    with pytest.raises(ValueError):
        known_interval(PublishedCell(key("a"), Kind.AVERAGE, 2.5), RULES)


# --- primary suppression ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("families", "small"), [(0, True), (1, True), (9, True), (10, False), (250, False)]
)
def test_a_count_of_fewer_than_ten_families_zero_included_is_small(families, small):
    assert is_small(Cell.of_families(key("a"), families), RULES) is small


def test_children_are_suppressed_on_the_families_behind_them():
    assert is_small(Cell.of_count(key("a"), 40, families=9), RULES)
    assert not is_small(Cell.of_count(key("a"), 40, families=10), RULES)


def test_a_count_of_contacts_below_the_threshold_is_small_whatever_the_families():
    assert is_small(Cell.of_count(key("a"), 4, families=30), RULES)
    assert is_small(Cell.of_count(key("a"), 0, families=30), RULES)


def test_a_mean_is_published_only_over_ten_or_more_families():
    assert is_small(Cell.of_average(key("a"), 3.5, families=9), RULES)
    assert not is_small(Cell.of_average(key("a"), 3.5, families=10), RULES)


def test_a_release_publishes_small_cells_as_suppressed_and_rounds_the_rest():
    families = grid(
        "f", ["LPI", "WDI", "DMI"], ["n"], {("LPI", "n"): 9, ("WDI", "n"): 0, ("DMI", "n"): 23}
    )
    extra = (
        Cell.of_count(key("LPI", "n", "children"), 30, 9, basis=key("LPI", "n", "f")),
        Cell.of_count(key("DMI", "n", "children"), 41, 23, basis=key("DMI", "n", "f")),
        Cell.of_average(key("DMI", "n", "mean"), 2.25, 23),
        Cell.of_average(key("LPI", "n", "mean"), 7.5, 9),
    )
    draft = Draft("q", (families, *[_table(cell) for cell in extra]))
    published = protect_release(draft, [], RULES, {}).published.values()
    assert published == {
        key("LPI", "n", "f"): None,
        key("WDI", "n", "f"): None,
        key("DMI", "n", "f"): 25,
        key("LPI", "n", "children"): None,
        key("DMI", "n", "children"): 40,
        key("DMI", "n", "mean"): 2.25,
        key("LPI", "n", "mean"): None,
    }


def test_a_cell_describing_a_suppressed_families_cell_goes_with_it():
    families = Cell.of_families(key("LPI", "n", "f"), 40)
    children = Cell.of_count(key("LPI", "n", "c"), 90, 40, basis=families.key)
    mean = Cell.of_average(key("LPI", "n", "m"), 1.5, 40, basis=families.key)
    draft = Draft("q", (_table(families), _table(children), _table(mean)))
    out = publish(draft, {families.key}, set(), RULES).values()
    assert out == {families.key: None, children.key: None, mean.key: None}


def test_a_basis_must_be_a_families_cell_of_the_same_draft():
    children = Cell.of_count(key("LPI", "n", "c"), 90, 40, basis=key("nowhere"))
    with pytest.raises(ValueError, match="basis"):
        protect_release(Draft("q", (_table(children),)), [], RULES, {})


def test_a_draft_names_each_cell_once():
    cell = Cell.of_families(key("a"), 12)
    with pytest.raises(ValueError, match="once"):
        protect_release(Draft("q", (_table(cell), _table(cell))), [], RULES, {})


@pytest.mark.parametrize(
    "make",
    [
        lambda: Cell.of_families(key("a"), -1),
        lambda: Cell.of_count(key("a"), 3.5, 10),
        lambda: Cell(key("a"), Kind.FAMILIES, 12, 11),
        lambda: Cell.of_count(key("a"), True, 10),
        lambda: Sum(key("t"), ()),
        lambda: Sum(key("t"), (key("a"), key("a"))),
        lambda: Sum(key("t"), (key("t"), key("a"))),
    ],
)
def test_malformed_cells_and_sums_are_refused(make):
    with pytest.raises(ValueError):
        make()


# --- complete grids ---------------------------------------------------------------------------


def test_a_grid_has_every_row_and_column_with_zeros_and_its_totals():
    table = grid(
        "g", ["LPI", "WDI"], ["a", "b"], {("LPI", "a"): 12}, row_totals=True, column_totals=True
    )
    values = {(c.key.row, c.key.column): c.value for c in table.cells}
    assert values == {
        ("LPI", "a"): 12, ("LPI", "b"): 0, ("LPI", TOTAL): 12,
        ("WDI", "a"): 0, ("WDI", "b"): 0, ("WDI", TOTAL): 0,
        (TOTAL, "a"): 12, (TOTAL, "b"): 0, (TOTAL, TOTAL): 12,
    }  # fmt: skip
    by_key = {c.key: c.value for c in table.cells}
    assert len(table.sums) == 6
    for s in table.sums:
        assert by_key[s.total] == sum(by_key[p] for p in s.parts)


def test_a_grid_refuses_values_outside_it_and_the_reserved_total_name():
    with pytest.raises(ValueError):
        grid("g", ["LPI"], ["a"], {("WDI", "a"): 3})
    with pytest.raises(ValueError):
        grid("g", ["LPI", TOTAL], ["a"], {})
    with pytest.raises(ValueError):
        grid("g", ["LPI", "LPI"], ["a"], {})


def _table(cell: Cell):
    from app.domain.figures.disclosure.control import Table

    return Table(cell.key.table + cell.key.row, (cell,))
