"""The metric catalogue (app.domain.figures.catalogue, DESIGN.md section 7): quarter and year
arithmetic, the tables and their keys, tallies that add up across charities (means and medians
included), and the complete grid with zeros. No Flask, no database."""

from __future__ import annotations

import statistics
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidInput
from app.domain.figures.catalogue import (
    ALL_SOURCES,
    CATALOGUE,
    NATIONAL,
    QUARTER_TABLES,
    REGION_NOT_RECORDED,
    YEAR_TABLES,
    Contribution,
    Dimension,
    Figures,
    Measure,
    Quarter,
    TableId,
    Tally,
    Year,
    assemble,
    cell_keys,
    median_of,
    outcome_areas,
    region_key,
    region_rows,
    table,
)
from app.domain.outcomes import framework
from app.domain.vocabulary import Disability, Ethnicity, Need, ReferralSource, Sex

# --- quarters and years -----------------------------------------------------------------------


def test_a_quarter_parses_from_its_label_and_spans_three_whole_months():
    quarter = Quarter.parse("2026Q3")
    assert (quarter.year, quarter.number) == (2026, 3)
    assert (quarter.start, quarter.end) == (date(2026, 7, 1), date(2026, 9, 30))
    assert str(quarter) == quarter.label == "2026Q3"
    assert Quarter.parse(" 2026q1 ") == Quarter(2026, 1)


@pytest.mark.parametrize(
    ("number", "start", "end"),
    [
        (1, date(2026, 1, 1), date(2026, 3, 31)),
        (2, date(2026, 4, 1), date(2026, 6, 30)),
        (3, date(2026, 7, 1), date(2026, 9, 30)),
        (4, date(2026, 10, 1), date(2026, 12, 31)),
    ],
)
def test_each_quarter_of_a_year_starts_and_ends_on_its_calendar_days(number, start, end):
    quarter = Quarter(2026, number)
    assert (quarter.start, quarter.end) == (start, end)


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "26Q3", "2026-Q3", "Q3 2026", "", "2026"])
def test_a_malformed_quarter_is_refused_with_a_field_error(text):
    with pytest.raises(InvalidInput) as refused:
        Quarter.parse(text)
    assert "quarter" in refused.value.errors


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 12, 31)))
def test_every_day_falls_in_exactly_one_quarter_and_quarters_tile_the_calendar(day):
    quarter = Quarter.of(day)
    assert quarter.contains(day)
    assert not quarter.previous().contains(day) and not quarter.next().contains(day)
    assert quarter.next().start == quarter.end + timedelta(days=1)
    assert quarter.previous().end == quarter.start - timedelta(days=1)
    assert quarter.next().previous() == quarter
    assert quarter.previous() < quarter < quarter.next()


def test_a_year_spans_its_four_quarters():
    year = Year.parse("2026")
    assert (year.start, year.end) == (date(2026, 1, 1), date(2026, 12, 31))
    quarters = year.quarters()
    assert [q.label for q in quarters] == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert quarters[0].start == year.start and quarters[-1].end == year.end
    with pytest.raises(InvalidInput):
        Year.parse("2026Q1")


# --- the tables -------------------------------------------------------------------------------


def test_the_catalogue_has_the_fixed_tables_of_design_section_seven():
    assert [t.id for t in CATALOGUE] == list(TableId)
    assert {t.id for t in QUARTER_TABLES} | {t.id for t in YEAR_TABLES} == set(TableId)
    assert {t.dimension for t in QUARTER_TABLES} == {Dimension.PRISON, Dimension.REGION}
    assert {t.dimension for t in YEAR_TABLES} == {Dimension.NATIONAL}
    for t in CATALOGUE:
        keys = [column.key for column in t.columns]
        assert len(keys) == len(set(keys)), t.id
        assert t.title and t.definition and t.excluded


def test_the_prison_table_counts_families_referrals_children_and_contacts():
    prison = table(TableId.PRISON_ACTIVITY)
    assert [c.key for c in prison.columns] == [
        "families_supported",
        "new_referrals",
        "children",
        "visits",
        "first_time_visits",
        "family_days",
    ]
    assert prison.column("families_supported").measure is Measure.FAMILIES
    assert {prison.column(key).measure for key in ("children", "visits")} == {Measure.COUNT}


@pytest.mark.parametrize(
    ("table_id", "values"),
    [
        (TableId.REGION_NEEDS, Need),
        (TableId.REGION_REFERRAL_SOURCES, ReferralSource),
        (TableId.NATIONAL_ETHNICITY, Ethnicity),
        (TableId.NATIONAL_SEX, Sex),
        (TableId.NATIONAL_DISABILITY, Disability),
    ],
)
def test_a_category_table_has_a_column_for_every_value_of_its_vocabulary(table_id, values):
    # The referral sources end with their total, which the prison table's new referrals sum to.
    extra = [ALL_SOURCES] if table_id is TableId.REGION_REFERRAL_SOURCES else []
    assert [c.key for c in table(table_id).columns] == [value.value for value in values] + extra


def test_the_ethnicity_table_has_the_nineteen_ons_2021_groups_and_not_stated():
    columns = [c.key for c in table(TableId.NATIONAL_ETHNICITY).columns]
    assert len(columns) == 20 and columns[-1] == "not_stated"


def test_the_outcomes_table_has_a_mean_for_every_area_of_the_framework():
    outcomes = table(TableId.REGION_OUTCOMES)
    assert [c.key for c in outcomes.columns] == list(framework().area_codes())
    assert [code for code, _ in outcome_areas()] == list(framework().area_codes())
    assert {c.measure for c in outcomes.columns} == {Measure.MEAN}


def test_transfers_have_a_count_and_a_median():
    transfers = table(TableId.REGION_TRANSFERS)
    assert transfers.column("completed").measure is Measure.COUNT
    assert transfers.column("days_to_accept").measure is Measure.MEDIAN
    with pytest.raises(KeyError):
        transfers.column("mean_days")


def test_regions_are_sorted_with_a_row_for_prisons_without_one_last():
    assert region_key("North West") == "North West"
    assert region_key("") == region_key(None) == region_key("  ") == REGION_NOT_RECORDED
    assert region_rows(["Wales", "", "London", "Wales", None]) == (
        "London",
        "Wales",
        REGION_NOT_RECORDED,
    )
    assert region_rows(["Wales", "London"]) == ("London", "Wales")


# --- tallies ----------------------------------------------------------------------------------


def test_tallies_of_two_charities_add_counts_families_totals_and_spreads():
    one = Tally(count=3, families=2, total=7, spread=((4, 1), (7, 2)))
    two = Tally(count=2, families=2, total=-1, spread=((2, 1), (7, 1)))
    both = one + two
    assert both == Tally(count=5, families=4, total=6, spread=((2, 1), (4, 1), (7, 3)))
    assert one + Tally() == one


def test_a_mean_is_the_total_over_the_count_and_none_over_nothing():
    assert Tally(count=4, families=4, total=6).mean == 1.5
    assert Tally().mean is None


def test_a_median_over_no_values_is_none():
    assert median_of(()) is None
    assert median_of(((3, 0),)) is None
    assert Tally().median is None


@given(st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=60))
def test_the_median_of_a_spread_is_the_median_of_the_values_it_counts(values):
    spread: dict[int, int] = {}
    for value in values:
        spread[value] = spread.get(value, 0) + 1
    assert median_of(spread.items()) == statistics.median(values)


@given(
    st.lists(st.integers(min_value=0, max_value=90), min_size=1, max_size=30),
    st.lists(st.integers(min_value=0, max_value=90), max_size=30),
)
def test_the_median_of_two_charities_together_is_the_median_of_all_their_values(first, second):
    def tally(values: list[int]) -> Tally:
        counts: dict[int, int] = {}
        for value in values:
            counts[value] = counts.get(value, 0) + 1
        return Tally(len(values), len(values), spread=tuple(sorted(counts.items())))

    assert (tally(first) + tally(second)).median == statistics.median(first + second)


# --- the grid ---------------------------------------------------------------------------------

POPS, NEPACS = uuid.UUID(int=1), uuid.UUID(int=2)
QUARTER = Quarter(2026, 3)
ROWS = {Dimension.PRISON: ("DMI", "LPI"), Dimension.REGION: ("North East", "North West")}


def test_the_grid_has_every_row_and_column_of_every_table_zero_included():
    prison = table(TableId.PRISON_ACTIVITY)
    figures = assemble(QUARTER, QUARTER_TABLES, ROWS, {POPS: ({}, {}), NEPACS: ({}, {})})
    expected = sum(len(ROWS[t.dimension]) * len(t.columns) for t in QUARTER_TABLES)
    assert len(figures.keys) == expected == len(set(figures.keys))
    assert (prison.id.value, "DMI", "family_days") in figures.keys
    assert all(tally == Tally() for tally in figures.total().values())
    assert figures.excluded() == dict.fromkeys((t.id.value for t in QUARTER_TABLES), 0)


def test_each_charity_keeps_its_own_contribution_and_the_total_is_their_sum():
    key = (TableId.PRISON_ACTIVITY.value, "LPI", "families_supported")
    found = {
        POPS: ({key: Tally(4, 4)}, {TableId.PRISON_ACTIVITY.value: 1}),
        NEPACS: ({key: Tally(2, 2)}, {TableId.PRISON_ACTIVITY.value: 2}),
    }
    figures = assemble(QUARTER, QUARTER_TABLES, ROWS, found)
    assert figures.of(POPS).cells[key] == Tally(4, 4)
    assert figures.of(NEPACS).cells[key] == Tally(2, 2)
    assert figures.total()[key] == Tally(6, 6)
    assert figures.excluded()[TableId.PRISON_ACTIVITY.value] == 3
    assert figures.of(POPS).excluded[TableId.REGION_NEEDS.value] == 0
    with pytest.raises(KeyError):
        figures.of(uuid.UUID(int=3))


def test_a_count_at_a_prison_nobody_served_adds_its_row_rather_than_vanish():
    key = (TableId.PRISON_ACTIVITY.value, "KTI", "visits")
    figures = assemble(QUARTER, QUARTER_TABLES, ROWS, {POPS: ({key: Tally(1, 1)}, {})})
    assert figures.rows[Dimension.PRISON] == ("DMI", "LPI", "KTI")
    assert figures.total()[key] == Tally(1, 1)
    assert figures.total()[(TableId.PRISON_ACTIVITY.value, "KTI", "children")] == Tally()


def test_a_contribution_that_misses_a_cell_is_refused():
    figures = assemble(Year(2026), YEAR_TABLES, {Dimension.NATIONAL: (NATIONAL,)}, {})
    keys = cell_keys(YEAR_TABLES, {Dimension.NATIONAL: (NATIONAL,)})
    assert list(figures.keys) == keys
    partial = Contribution(POPS, {keys[0]: Tally()}, {})
    with pytest.raises(ValueError, match="every cell"):
        Figures(Year(2026), YEAR_TABLES, figures.rows, (partial,))
