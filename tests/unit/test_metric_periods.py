"""Periods in plain English (app.domain.figures.periods): the dashboard says "July to September
2026" where the code says 2026Q3, and names a year's table by its months. No Flask, no database."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidInput
from app.domain.figures.periods import Quarter, YearEnding, period_name, quarter_name

MONTHS = [date(2026, month, 1).strftime("%B") for month in range(1, 13)]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("2026Q1", "January to March 2026"),
        ("2026Q2", "April to June 2026"),
        ("2026Q3", "July to September 2026"),
        ("2026Q4", "October to December 2026"),
    ],
)
def test_each_quarter_reads_as_its_months(code, name):
    assert quarter_name(code) == name


# Codes have four-digit years (Quarter.parse), so the years start at 1000.
@given(st.integers(min_value=1000, max_value=9999), st.integers(min_value=1, max_value=4))
def test_a_quarter_name_is_its_first_and_last_month_and_its_year(year, number):
    quarter = Quarter(year, number)

    name = quarter_name(quarter.label)

    assert name == f"{MONTHS[quarter.start.month - 1]} to {MONTHS[quarter.end.month - 1]} {year}"
    assert name == period_name(quarter.start, quarter.end)


def test_a_year_across_new_year_names_both_years():
    year = YearEnding(Quarter(2026, 3))

    assert period_name(year.start, year.end) == "October 2025 to September 2026"


def test_a_period_of_one_month_is_that_month():
    assert period_name(date(2026, 7, 1), date(2026, 7, 31)) == "July 2026"


def test_a_code_that_is_not_a_quarter_is_refused():
    with pytest.raises(InvalidInput):
        quarter_name("2026Q5")
