"""The periods the Ministry's figures are counted over: calendar quarters, calendar years, and
the year ending with a quarter (the national tables of a quarterly release)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.domain.errors import InvalidInput

_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
# The last day of March, June, September and December.
_QUARTER_LAST_DAY = {1: 31, 2: 30, 3: 30, 4: 31}
# Written out rather than strftime("%B"), which follows the server's locale.
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter: 2026Q3 runs from 1 July to 30 September 2026, both days included."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4 or not 1 <= self.year <= 9999:
            raise ValueError(f"no such quarter: {self.year}Q{self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        match = _QUARTER.match(text.strip().upper())
        if match is None:
            raise InvalidInput({"quarter": ["give a quarter like 2026Q3"]})
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The last day of the quarter (included)."""
        return date(self.year, 3 * self.number, _QUARTER_LAST_DAY[self.number])

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.number}"

    def next(self) -> Quarter:
        if self.number == 4:
            return Quarter(self.year + 1, 1)
        return Quarter(self.year, self.number + 1)

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class Year:
    """A calendar year, 1 January to 31 December, both days included."""

    year: int

    @classmethod
    def parse(cls, text: str) -> Year:
        match = _YEAR.match(text.strip())
        if match is None or int(match.group(1)) < 1:
            raise InvalidInput({"year": ["give a year like 2026"]})
        return cls(int(match.group(1)))

    @property
    def start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        return date(self.year, 12, 31)

    @property
    def label(self) -> str:
        return str(self.year)

    def quarters(self) -> tuple[Quarter, ...]:
        return tuple(Quarter(self.year, number) for number in range(1, 5))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True, order=True)
class YearEnding:
    """The four quarters ending with ``quarter``: what a quarterly release's national tables
    count, so the equality figures are a year's and still come out every quarter."""

    quarter: Quarter

    @property
    def start(self) -> date:
        return self.quarter.previous().previous().previous().start

    @property
    def end(self) -> date:
        return self.quarter.end

    @property
    def label(self) -> str:
        return f"year to {self.quarter.label}"

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


Period = Quarter | Year | YearEnding


def period_name(start: date, end: date) -> str:
    """The months a period covers as a reader says them ("July to September 2026", "October
    2025 to September 2026"): codes like 2026Q3 stay in URLs and files, not in sentences."""
    first, last = _MONTHS[start.month - 1], _MONTHS[end.month - 1]
    if start.year != end.year:
        return f"{first} {start.year} to {last} {end.year}"
    if start.month == end.month:
        return f"{last} {end.year}"
    return f"{first} to {last} {end.year}"


def quarter_name(code: str) -> str:
    """A quarter's code in plain English: 2026Q3 is "July to September 2026"."""
    quarter = Quarter.parse(code)
    return period_name(quarter.start, quarter.end)
