"""The fixed tables of figures for the Ministry (DESIGN.md section 7), as pure definitions.

Every table is a grid: rows (a prison, a region, or the nation), columns (a measure or a
category), and in each cell a ``Tally``: the unsuppressed count, the number of families behind
it (what disclosure control suppresses on), and for a mean or a median what is needed to combine
charities exactly. The grid is complete, zeros included, so a missing row or column never says
anything; its keys come from reference data and vocabularies, never from case data.

What each table counts is written out in ``Table.definition`` (and in docs/metrics.md);
app.services.figures.metrics computes the tallies in SQL, one charity at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

# The periods live in their own module; callers still find them here with the tables.
from app.domain.figures.periods import Period, Quarter, Year, YearEnding  # noqa: F401
from app.domain.outcomes import frameworks
from app.domain.vocabulary import Disability, Ethnicity, Labelled, Need, ReferralSource, Sex

# --- what a cell holds -----------------------------------------------------------------------


class Measure(StrEnum):
    """How a cell's figure is made from its tally, and so which disclosure rule applies."""

    FAMILIES = "families"  # a count of families: suppressed on itself
    COUNT = "count"  # a count of people, cases, contacts or transfers: on its families
    MEAN = "mean"  # total / count: published only over enough families
    MEDIAN = "median"  # the middle of the spread: likewise


@dataclass(frozen=True)
class Tally:
    """One cell's unsuppressed contribution; tallies of different charities add up exactly.

    ``count`` is what the cell counts (for a mean: how many values it averages; for a median: how
    many values it is the middle of); ``families`` is how many distinct families are behind it;
    ``total`` is the sum a mean divides; ``spread`` is every value of a median with how many
    times it occurs, sorted (a median of two charities cannot be made from their two medians).
    """

    count: int = 0
    families: int = 0
    total: int = 0
    spread: tuple[tuple[int, int], ...] = ()

    def __add__(self, other: Tally) -> Tally:
        merged: dict[int, int] = dict(self.spread)
        for value, times in other.spread:
            merged[value] = merged.get(value, 0) + times
        return Tally(
            count=self.count + other.count,
            families=self.families + other.families,
            total=self.total + other.total,
            spread=tuple(sorted(merged.items())),
        )

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def median(self) -> float | None:
        return median_of(self.spread)


ZERO = Tally()


def median_of(spread: Iterable[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many times) pairs; None when there are none.
    With an even number of values it is the mean of the two middle ones."""
    pairs = sorted((value, times) for value, times in spread if times > 0)
    size = sum(times for _, times in pairs)
    if size == 0:
        return None
    wanted = ((size - 1) // 2, size // 2)  # the 0-based positions of the middle value(s)
    found: list[int] = []
    seen = 0
    for value, times in pairs:
        while len(found) < 2 and seen <= wanted[len(found)] < seen + times:
            found.append(value)
        seen += times
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


# --- the tables ------------------------------------------------------------------------------


class Dimension(StrEnum):
    PRISON = "prison"
    REGION = "region"
    NATIONAL = "national"


class TableId(StrEnum):
    PRISON_ACTIVITY = "prison_activity"
    REGION_NEEDS = "region_needs"
    REGION_REFERRAL_SOURCES = "region_referral_sources"
    REGION_TRANSFERS = "region_transfers"
    REGION_OUTCOMES = "region_outcomes"
    NATIONAL_ETHNICITY = "national_ethnicity"
    NATIONAL_SEX = "national_sex"
    NATIONAL_DISABILITY = "national_disability"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    measure: Measure


@dataclass(frozen=True)
class Table:
    id: TableId
    title: str
    dimension: Dimension
    # "quarter" or "year": the period the table is counted over.
    period: str
    columns: tuple[Column, ...]
    # What the rows are and what every column counts, in words for the published rules page.
    definition: str
    # Who is left out and counted instead as excluded (the objection to statistical use).
    excluded: str

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)


# The row of a prison whose register entry has no region (closed establishments only).
REGION_NOT_RECORDED = "Not recorded"
# The column of all new referrals in a region, whatever their source.
ALL_SOURCES = "all_sources"
# The one row of a national table: the prison register covers England and Wales.
NATIONAL = "England and Wales"

SUPPORTED = (
    "A family is supported in a period when one of its cases had at least one contact dated in "
    "the period and within the case's own episode (on or after the day the case opened and, for "
    "a case closed or transferred out, on or before the day it ended). The contact history a "
    "case brings with it on a transfer is dated before the receiving case opened, so it counts "
    "once, for the sending charity whose episode it was."
)
NEW_REFERRAL = (
    "A new referral is a case opened in the period that did not arrive by transfer (transfers "
    "are counted in their own table)."
)
OBJECTION = (
    "A family objects to statistical use when its latest word on it, as of the period's last "
    "day, is no: among its cases' consent records for the statistics purpose dated on or before "
    "that day, those of the latest date include a refusal or a withdrawal, or withdraw a yes of "
    "that date (app.domain.consent.objects_to_statistics). Such a family is left out of every "
    "count and counted in the table's excluded families instead."
)
_BY_REGION = "Rows: every region of the prison register, by the case's prison. "
_MEMBERS = (
    "Rows: England and Wales. Family members (adults and children) of the families supported "
    "in the year, by their equality monitoring answer; a member with no answer recorded counts "
    "as not stated. "
)


def _columns(measure: Measure, values: Iterable[Labelled]) -> tuple[Column, ...]:
    return tuple(Column(value.value, value.label, measure) for value in values)


def outcome_areas() -> tuple[tuple[str, str], ...]:
    """Every area of every outcome framework, once, in the frameworks' own order."""
    seen: dict[str, str] = {}
    for framework in frameworks().values():
        for area in framework.areas:
            seen.setdefault(area.code, area.label)
    return tuple(seen.items())


def _catalogue() -> tuple[Table, ...]:
    supported_quarter = "Objecting families supported in the quarter."
    prison_activity = (
        Column("families_supported", "Families supported", Measure.FAMILIES),
        Column("new_referrals", "New referrals", Measure.COUNT),
        Column("children", "Children in supported families", Measure.COUNT),
        Column("visits", "Visitor-centre contacts", Measure.COUNT),
        Column("first_time_visits", "First-time visitors", Measure.COUNT),
        Column("family_days", "Family days", Measure.COUNT),
    )
    transfers = (
        Column("completed", "Transfers completed", Measure.COUNT),
        Column("days_to_accept", "Median days to accept", Measure.MEDIAN),
    )
    areas = tuple(Column(code, label, Measure.MEAN) for code, label in outcome_areas())
    return (
        Table(
            TableId.PRISON_ACTIVITY,
            "Families supported and contacts, by prison",
            Dimension.PRISON,
            "quarter",
            prison_activity,
            "Rows: every prison a member charity serves on any day of the quarter (the services "
            "table), by the case's prison. Families supported there; new referrals (cases); "
            "children (family members recorded as children) of the families supported; "
            "visitor-centre visits, those flagged first-time, and family days (contacts dated in "
            "the quarter within their case's episode). " + SUPPORTED + " " + NEW_REFERRAL,
            "Objecting families supported at, or newly referred to, one of the prisons.",
        ),
        Table(
            TableId.REGION_NEEDS,
            "Needs of families supported, by region",
            Dimension.REGION,
            "quarter",
            _columns(Measure.FAMILIES, Need),
            _BY_REGION
            + "Families supported with each need recorded on a supported case. "
            + SUPPORTED,
            supported_quarter,
        ),
        Table(
            TableId.REGION_REFERRAL_SOURCES,
            "New referrals by source, by region",
            Dimension.REGION,
            "quarter",
            (
                *_columns(Measure.COUNT, ReferralSource),
                Column(ALL_SOURCES, "All sources", Measure.COUNT),
            ),
            _BY_REGION + "New referrals (cases) from each source, and from all sources (the "
            "region's prisons' new referrals in the prison table add up to it). " + NEW_REFERRAL,
            "Objecting families newly referred in the quarter.",
        ),
        Table(
            TableId.REGION_TRANSFERS,
            "Transfers completed and days to accept, by receiving region",
            Dimension.REGION,
            "quarter",
            transfers,
            "Rows: every region of the prison register, by the receiving prison. Transfers "
            "accepted on a day (UTC) of the quarter, counted for the receiving charity; and the "
            "median number of calendar days (UTC) from the offer to the acceptance.",
            "Objecting families among the receiving charity's cases of those transfers.",
        ),
        Table(
            TableId.REGION_OUTCOMES,
            "Mean outcome distance travelled, by region and area",
            Dimension.REGION,
            "quarter",
            areas,
            _BY_REGION + "For each supported case and area scored at least twice in the case's "
            "own assessments up to the quarter's end, latest minus first score (by date, then "
            "by when recorded); the mean over those cases. " + SUPPORTED,
            supported_quarter,
        ),
        *(
            Table(
                table_id,
                title,
                Dimension.NATIONAL,
                "year",
                _columns(Measure.COUNT, answers),
                _MEMBERS + SUPPORTED,
                "Objecting families supported in the year.",
            )
            for table_id, title, answers in (
                (
                    TableId.NATIONAL_ETHNICITY,
                    "Family members by ethnic group (ONS 2021)",
                    Ethnicity,
                ),
                (TableId.NATIONAL_SEX, "Family members by sex", Sex),
                (TableId.NATIONAL_DISABILITY, "Family members by disability", Disability),
            )
        ),
    )


CATALOGUE: tuple[Table, ...] = _catalogue()
QUARTER_TABLES = tuple(table for table in CATALOGUE if table.period == "quarter")
YEAR_TABLES = tuple(table for table in CATALOGUE if table.period == "year")


def table(table_id: TableId | str) -> Table:
    for candidate in CATALOGUE:
        if candidate.id == table_id:
            return candidate
    raise KeyError(table_id)


def region_key(region: str | None) -> str:
    """A prison's row in a regional table: its register region, or "Not recorded"."""
    return (region or "").strip() or REGION_NOT_RECORDED


def region_rows(regions: Iterable[str | None]) -> tuple[str, ...]:
    """The rows of a regional table, from every region of the prison register: sorted, with
    "Not recorded" last."""
    keys = {region_key(region) for region in regions}
    named = sorted(keys - {REGION_NOT_RECORDED})
    return (*named, REGION_NOT_RECORDED) if REGION_NOT_RECORDED in keys else tuple(named)


# --- the grid and its sums -------------------------------------------------------------------

CellKey = tuple[str, str, str]  # (table id, row key, column key)


def cell_keys(tables: Sequence[Table], rows: Mapping[Dimension, Sequence[str]]) -> list[CellKey]:
    """Every cell of ``tables``, in table, row and column order."""
    return [
        (t.id.value, row, column.key)
        for t in tables
        for row in rows[t.dimension]
        for column in t.columns
    ]


@dataclass(frozen=True)
class Contribution:
    """One charity's unsuppressed tallies in every cell (zeros included), and how many of its
    families each table left out because they object to statistical use."""

    charity_id: uuid.UUID
    cells: Mapping[CellKey, Tally]
    excluded: Mapping[str, int]


@dataclass(frozen=True)
class Figures:
    """The unsuppressed figures of one period: the grid, each charity's contribution over all of
    it, and their sums."""

    period: Period
    tables: tuple[Table, ...]
    rows: Mapping[Dimension, tuple[str, ...]]
    contributions: tuple[Contribution, ...]
    keys: tuple[CellKey, ...] = field(init=False)

    def __post_init__(self) -> None:
        keys = tuple(cell_keys(self.tables, self.rows))
        object.__setattr__(self, "keys", keys)
        for contribution in self.contributions:
            if set(contribution.cells) != set(keys):
                raise ValueError("a contribution must fill every cell of the grid, and only those")

    def total(self) -> dict[CellKey, Tally]:
        """The sum across charities of every cell."""
        return {key: sum((c.cells[key] for c in self.contributions), ZERO) for key in self.keys}

    def excluded(self) -> dict[str, int]:
        """Families excluded per table, summed across charities."""
        return {
            t.id.value: sum(c.excluded.get(t.id.value, 0) for c in self.contributions)
            for t in self.tables
        }

    def of(self, charity_id: uuid.UUID) -> Contribution:
        for contribution in self.contributions:
            if contribution.charity_id == charity_id:
                return contribution
        raise KeyError(charity_id)


def assemble(
    period: Period,
    tables: Sequence[Table],
    rows: Mapping[Dimension, Sequence[str]],
    found: Mapping[uuid.UUID, tuple[Mapping[CellKey, Tally], Mapping[str, int]]],
) -> Figures:
    """The complete grid from what each charity's queries found (only non-zero cells come back
    from SQL): every cell of every charity filled, zero where nothing was found. A cell found
    outside the rows (work recorded at a prison nobody served that quarter) adds its row, so that
    nothing counted is dropped."""
    grid_rows = {dimension: list(names) for dimension, names in rows.items()}
    dimension_of = {t.id.value: t.dimension for t in tables}
    for cells, _ in found.values():
        for table_id, row, _column in cells:
            names = grid_rows[dimension_of[table_id]]
            if row not in names:
                names.append(row)
    final_rows = {dimension: tuple(names) for dimension, names in grid_rows.items()}
    keys = cell_keys(tables, final_rows)
    contributions = tuple(
        Contribution(
            charity_id,
            {key: cells.get(key, ZERO) for key in keys},
            {t.id.value: excluded.get(t.id.value, 0) for t in tables},
        )
        for charity_id, (cells, excluded) in sorted(found.items())
    )
    return Figures(period, tuple(tables), final_rows, contributions)
