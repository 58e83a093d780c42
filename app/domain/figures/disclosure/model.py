"""What a release is made of, before and after disclosure control (DESIGN.md section 7).

A release is a set of tables of cells. Each cell is a count of families, a count of something
families have (children, contacts) with the number of families behind it, or an average (a mean,
median or rate) over families. Marginal totals are cells like any other; the additive relations
between cells (a total is the sum of its parts) are declared as ``Sum`` constraints, because they
are exactly what a reader uses to work a suppressed cell out. What the definitions say besides
sums (one count at most another, an average standing on at least the threshold of families, a
quantity no table publishes, a revision's figure as the revised one plus a known change) are
``Relations``. Cell keys are global across releases: put the period in the table name
(``2026Q3 families``), and the revision too (``2026Q3r2 families``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

TOTAL = "total"
OUTSIDER = "outsider"


@dataclass(frozen=True)
class DisclosureRules:
    """How small a count is suppressed, and the base the others are rounded to.

    The defaults are the ONS 10-5 rule named in DESIGN.md section 7: fewer than 10 families
    suppressed, every other count rounded to base 5. The threshold must be a multiple of the base,
    so that no count at or above it can round to a figure below it.
    """

    threshold: int = 10
    base: int = 5

    def __post_init__(self) -> None:
        for name in ("threshold", "base"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1")
        if self.threshold % self.base:
            raise ValueError("the threshold must be a multiple of the rounding base")


class Kind(StrEnum):
    FAMILIES = "families"  # a count of families
    COUNT = "count"  # a count of children, contacts, days... with the families behind it
    AVERAGE = "average"  # a mean, median or rate over families; never part of a sum


@dataclass(frozen=True, order=True)
class CellKey:
    table: str
    row: str
    column: str

    def __str__(self) -> str:
        return f"{self.table}[{self.row}, {self.column}]"


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Cell:
    """One figure before control; ``families`` is how many families stand behind it."""

    key: CellKey
    kind: Kind
    value: int | float
    families: int
    basis: CellKey | None = None  # the families cell this one describes; suppressed with it

    def __post_init__(self) -> None:
        if not _is_count(self.families):
            raise ValueError(f"{self.key}: families must be a whole number, zero or more")
        if self.kind is not Kind.AVERAGE and not _is_count(self.value):
            raise ValueError(f"{self.key}: a count must be a whole number, zero or more")
        if self.kind is Kind.FAMILIES and (self.value != self.families or self.basis is not None):
            raise ValueError(f"{self.key}: a families cell is its own family count")

    @classmethod
    def of_families(cls, key: CellKey, families: int) -> Cell:
        return cls(key, Kind.FAMILIES, families, families)

    @classmethod
    def of_count(
        cls, key: CellKey, value: int, families: int, basis: CellKey | None = None
    ) -> Cell:
        return cls(key, Kind.COUNT, value, families, basis)

    @classmethod
    def of_average(
        cls, key: CellKey, value: float, families: int, basis: CellKey | None = None
    ) -> Cell:
        return cls(key, Kind.AVERAGE, value, families, basis)


@dataclass(frozen=True)
class Sum:
    """An additive relation a reader knows: ``total`` is the sum of ``parts``."""

    total: CellKey
    parts: tuple[CellKey, ...]

    def __post_init__(self) -> None:
        if not self.parts or len(set(self.parts)) != len(self.parts) or self.total in self.parts:
            raise ValueError(f"{self.total}: a sum needs distinct parts other than its total")

    def cells(self) -> tuple[CellKey, ...]:
        return (self.total, *self.parts)


@dataclass(frozen=True)
class AtMost:
    """A relation a reader knows from the definitions: ``smaller`` is at most ``larger`` (the
    families with a need are among a region's families supported)."""

    smaller: CellKey
    larger: CellKey

    def __post_init__(self) -> None:
        if self.smaller == self.larger:
            raise ValueError(f"{self.smaller}: a cell is trivially at most itself")

    def cells(self) -> tuple[CellKey, ...]:
        return (self.larger, self.smaller)


@dataclass(frozen=True)
class StandsOn:
    """A published average stands on at least the threshold of ``families``: the rules publish a
    mean or median only over that many, so a reader seeing it knows as much."""

    average: CellKey
    families: CellKey

    def cells(self) -> tuple[CellKey, ...]:
        return (self.families, self.average)


@dataclass(frozen=True)
class Change:
    """A revision's figure is the revised release's same figure plus ``by``: the audit assumes
    every reader knows ``by`` exactly (the revision's reason is published)."""

    before: CellKey
    after: CellKey
    by: int

    def __post_init__(self) -> None:
        if self.before == self.after:
            raise ValueError(f"{self.after}: a revision's cell has a key of its own")

    def cells(self) -> tuple[CellKey, ...]:
        return (self.after, self.before)


@dataclass(frozen=True)
class Relations:
    """What a reader knows besides declared sums, derived from the definitions and the public
    service map.

    ``hidden`` names quantities every reader reasons about that no table publishes (a region's
    families supported in the quarter, which the prison table's rows may count twice); they are
    whole numbers, zero or more, and never audited.
    """

    hidden: tuple[CellKey, ...] = ()
    at_most: tuple[AtMost, ...] = ()
    stands_on: tuple[StandsOn, ...] = ()
    # Counts every reader knows are zero from the public service map (a region where no member
    # serves a prison): published as exactly 0, never suppressed, never a partner.
    known_zeros: tuple[CellKey, ...] = ()
    # A revision's counts tied to those of the release it revises, by known changes.
    changes: tuple[Change, ...] = ()

    def links(self) -> tuple[AtMost | StandsOn | Change, ...]:
        return (*self.at_most, *self.stands_on, *self.changes)


@dataclass(frozen=True)
class Table:
    name: str
    cells: tuple[Cell, ...]
    sums: tuple[Sum, ...] = ()


def grid(
    name: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Mapping[tuple[str, str], int],
    *,
    row_totals: bool = False,
    column_totals: bool = False,
) -> Table:
    """A table of family counts with every row and column present (a missing value is zero).

    Row totals add a ``total`` column, column totals a ``total`` row; with both, the corner is
    the grand total. Every total is a cell and a ``Sum``.
    """
    if TOTAL in rows or TOTAL in columns:
        raise ValueError(f"{name}: {TOTAL!r} is kept for totals")
    if len(set(rows)) != len(rows) or len(set(columns)) != len(columns):
        raise ValueError(f"{name}: rows and columns must be distinct")
    unknown = set(values) - {(row, column) for row in rows for column in columns}
    if unknown:
        raise ValueError(f"{name}: values outside the grid: {sorted(unknown)}")
    count = {(row, column): values.get((row, column), 0) for row in rows for column in columns}
    all_rows = [*rows, TOTAL] if column_totals else list(rows)
    all_columns = [*columns, TOTAL] if row_totals else list(columns)
    if row_totals:
        for row in rows:
            count[row, TOTAL] = sum(count[row, column] for column in columns)
    if column_totals:
        for column in all_columns:
            count[TOTAL, column] = sum(count[row, column] for row in rows)
    sums: list[Sum] = []
    if row_totals:
        sums += [
            Sum(CellKey(name, row, TOTAL), tuple(CellKey(name, row, c) for c in columns))
            for row in all_rows
        ]
    if column_totals:
        sums += [
            Sum(CellKey(name, TOTAL, column), tuple(CellKey(name, r, column) for r in rows))
            for column in all_columns
        ]
    cells = tuple(
        Cell.of_families(CellKey(name, row, column), count[row, column])
        for row in all_rows
        for column in all_columns
    )
    return Table(name, cells, tuple(sums))


@dataclass(frozen=True)
class Draft:
    """A release before control: its tables and any sums across tables or releases."""

    name: str
    tables: tuple[Table, ...]
    sums: tuple[Sum, ...] = ()
    relations: Relations = Relations()

    def cells(self) -> tuple[Cell, ...]:
        return tuple(cell for table in self.tables for cell in table.cells)

    def all_sums(self) -> tuple[Sum, ...]:
        return (*(s for table in self.tables for s in table.sums), *self.sums)


@dataclass(frozen=True)
class Records:
    """What one charity knows from its own records.

    ``own`` is its contribution to each cell (missing: none). ``whole`` lists the cells it knows
    are wholly its own (a prison it alone served all period: who serves which prison is public),
    which it therefore knows exactly; nothing of another charity's is in them to audit.
    """

    own: Mapping[CellKey, int] = field(default_factory=dict)
    whole: frozenset[CellKey] = frozenset()

    def __post_init__(self) -> None:
        for key, count in self.own.items():
            if not _is_count(count):
                raise ValueError(f"{key}: a charity's contribution is a whole number")


# Each charity's records, by charity name; every charity is also audited as a reader.
Knowledge = Mapping[str, Records]


@dataclass(frozen=True)
class PublishedCell:
    """A figure as published: rounded to the release's base, or ``None`` when suppressed.

    ``exact`` marks a figure published without rounding (never by ``protect_release``; it lets an
    audit take in an exact figure published elsewhere).
    """

    key: CellKey
    kind: Kind
    value: int | float | None
    exact: bool = False

    @property
    def suppressed(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class PublishedRelease:
    """A release after control. ``suppressed_as_small`` is kept for later audits, never published:
    the public legend says only "suppressed", and the audit assumes no reader knows more."""

    name: str
    rules: DisclosureRules
    cells: tuple[PublishedCell, ...]
    sums: tuple[Sum, ...]
    suppressed_as_small: tuple[CellKey, ...] = ()  # in key order, so equal releases print alike
    relations: Relations = Relations()

    def cell(self, key: CellKey) -> PublishedCell:
        for cell in self.cells:
            if cell.key == key:
                return cell
        raise KeyError(key)

    def values(self) -> dict[CellKey, int | float | None]:
        return {cell.key: cell.value for cell in self.cells}


@dataclass(frozen=True)
class Range:
    """What one attacker can prove about one suppressed cell.

    For the outsider it is the cell's range; for a charity it is the range of what the other
    charities contribute (the cell less the charity's own records). ``high`` None: no upper bound.
    """

    key: CellKey
    attacker: str
    low: int
    high: int | None
    small: bool  # suppressed for being small: proving it non-zero is a disclosure
    # Small, and known by every reader to be under the threshold (Kerckhoffs): its range is
    # narrow by public knowledge, so only proving it present (one or more) discloses anything.
    capped: bool = False
    # What the reader knows the others have before reading any figure: a revision's reason that
    # says a family was added proves the cell holds at least one. Only more than this discloses.
    floor: int = 0

    def narrower_than(self, base: int) -> bool:
        return self.high is not None and self.high - self.low < base

    def pinned(self, base: int) -> bool:
        if self.small and self.low > self.floor:
            return True
        return not self.capped and self.narrower_than(base)


@dataclass(frozen=True)
class Audit:
    base: int
    ranges: tuple[Range, ...]

    @property
    def leaks(self) -> tuple[Range, ...]:
        return tuple(r for r in self.ranges if r.pinned(self.base))


@dataclass(frozen=True)
class Protected:
    published: PublishedRelease
    audit: Audit
