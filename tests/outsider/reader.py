"""An outsider's reading of published releases: how closely can each suppressed cell be worked out?

Written apart from the product's disclosure protector, to check it: nothing from ``app/`` is
imported and none of its logic was copied. The reader has only what the public has: the published
documents (JSON, format ``continuum-release/1``), the rules each states (``threshold``,
``rounding_base``), and the written definitions (docs/metrics.md, "Definitions" and "Disclosure
control: what a reader is assumed to know"; docs/releases.md, "Decisions"). For every suppressed
cell (``null``) it asks HiGHS (``scipy.optimize.milp``) for the least and greatest whole number
consistent with all it knows, and calls the cell pinned when fewer than ``rounding_base`` values
remain (unless it knows the cell is small: ``SMALL_ONLY``), or when a suppressed count of
families is proven to be present (one or more) and small (under the threshold).

What it knows, each a family of constraints that a caller can switch off (``Knows``):

- ``PUBLISHED``: a published count c was rounded half up to the base and is at least the
  threshold, so it is a whole number from max(threshold, c - base//2) to c + (base-1)//2. Every
  suppressed count is a whole number, zero or more.
- ``SUMS``: the sums docs/releases.md declares: a region's referrals from all sources are the
  sum of its sources and the sum of its prisons' new referrals in the prison table.
- ``DEFINITIONS``: what the definitions imply without adding up. First-time visits are among the
  visits. Children, visits and family days belong to supported families, so they are zero where
  no family is supported (and one of them above zero means a family is). A region's supported
  families (never published, so a variable of the reader's own) are at least each of its prisons'
  and at most their sum; each need count is at most them. A year's family members number at
  least the children at any one prison in the quarter the year ends with. The families excluded
  from the prison table include those excluded from the needs and referral tables, and a year's
  excluded families include its last quarter's.
- ``AVERAGES``: a published mean or median stands on at least ``threshold`` families, so the
  region has that many supported families (outcomes) or completed transfers (days to accept).
- ``SMALL_ONLY``: the reader knows the algorithm (Kerckhoffs), which each document names in
  ``rules.suppression_partners``. Under ``declared-sums`` (and in documents without the field,
  built before it) secondary suppression only takes cells that share a declared sum; under
  ``declared-sums-and-definitions`` also cells tied by a relation the definitions state (a
  prison's families supported and a region's families with a need are tied to the region's
  families supported); under ``declared-sums-definitions-and-revised-release`` (a revision) also
  every count the release it revises has too. So a suppressed count of families tied to nothing
  was suppressed for being small: it is under the threshold. For such a cell only proving it
  present (beyond what the reader's own records already hold) is a disclosure: its range being
  narrow is the rule's, which any release under it tells (a charity holding 6 of a small cell
  knows the others hold at most 3 whatever is published), as the issue defines a leak of a
  small cell.
- ``SERVICE_MAP``: who serves which prison is public, and the prison table lists every prison a
  member serves; a region with none of them has no families in any quarterly table.
- ``SAME_PEOPLE``: breakdowns of the same people have the same total (a year's family members by
  ethnic group, sex and disability, with "not stated" for no answer), and tables stating the same
  excluded families (same text, same period) excluded the same number.
- ``REVISIONS``: a revision of a quarter counts the same quantities as the release before it,
  unless the caller states a change for a cell (``changes``: the revising cell's value minus the
  revised one's). A revision corrects figures, and undated attributes (needs, members) are read
  at build time, so "unchanged unless stated" is the reader's assumption, not a published fact.

A member charity (``Charity``) also knows its own exact contribution to each cell: the cell is
that plus the others' share, zero or more; a prison it alone served (the prison row's
``charities``) and a region all of whose listed prisons it alone served are wholly its own, so
those cells equal its contribution and are not reported (it learns nothing from them).

What the documents do not carry, so the reader assumes it from the written definitions (and the
product should publish or document it):

- Every case sits at a prison of the prison table (or the region tables would count families the
  prison table cannot see). The region sums and bounds, the service map and the excluded-family
  orderings rest on this.
- A prison's region is its row's ``region``; a null region is the "Not recorded" row.
- Which suppressed cells were small: never published (by design); only ``SMALL_ONLY`` infers it.
- Which release a revision supersedes: ``supersedes`` is a release id, and the document does not
  carry its own id, so a revision is linked to the previous revision number of its quarter.
- What a revision changed: its ``revision_reason`` is prose, so changes are the caller's input.
- The only zeros published are the counts of a region where no member serves a prison (its
  rows carry ``no_member_service``); a published 0 is read as exactly zero.
- The national tables count a rolling year of family members, with no quarterly counterpart, so
  no "a year is at most the sum of its quarters" relation can be formed from what is published.
- How many families stand behind a count of children or contacts: so a suppressed count of them
  is not known to be small (it may have been suppressed for its families).
- No cell counts more than ``LARGEST`` (the big-M of "none where no family is supported").

``read_releases`` returns a ``Reading`` per suppressed cell (``pinned`` keeps the pinned ones).
When the documents cannot all be true under what the reader assumes it raises ``Contradiction``,
naming the knowledge that, dropped alone, would make them consistent: either the product broke a
published rule or definition, or the reader assumed too much (an unstated revision change).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

# No cell of a quarterly or yearly table comes near this many; a bound reaching it is no bound.
LARGEST = 100_000
# HiGHS works in floating point; a bound within this of a whole number is that number.
SLACK = 1e-6

PRISONS = "prison_activity"
SUPPORTED = "families_supported"
NEW_REFERRALS = "new_referrals"
CHILDREN = "children"
VISITS = "visits"
FIRST_TIME_VISITS = "first_time_visits"
# Contacts and children of supported families (docs/metrics.md, "Prison x quarter").
OF_SUPPORTED = (CHILDREN, VISITS, FIRST_TIME_VISITS, "family_days")
NEEDS = "region_needs"
REFERRALS = "region_referral_sources"
ALL_SOURCES = "all_sources"
OUTCOMES = "region_outcomes"
TRANSFERS = "region_transfers"
COMPLETED = "completed"
BREAKDOWNS = ("national_ethnicity", "national_sex", "national_disability")
EXCLUDED = "excluded_families"
NOT_RECORDED = "Not recorded"
COUNTED = ("families", "count")


class Knows(StrEnum):
    PUBLISHED = "published"
    SUMS = "sums"
    DEFINITIONS = "definitions"
    AVERAGES = "averages"
    SMALL_ONLY = "small-only"
    SERVICE_MAP = "service-map"
    SAME_PEOPLE = "same-people"
    REVISIONS = "revisions"


EVERYTHING = frozenset(Knows)


class Contradiction(Exception):
    """Raised when the documents and what the reader assumes of them cannot all be true."""


@dataclass(frozen=True, order=True)
class Cell:
    release: str  # quarter and revision, e.g. "2026Q3r1"
    table: str
    row: str  # "" for the families a table excluded
    column: str


@dataclass(frozen=True)
class Reading:
    """What the reader worked out about one suppressed cell."""

    cell: Cell
    low: int
    high: int | None  # None: no upper bound short of LARGEST
    pinned: str | None  # why the cell is pinned, or None


@dataclass(frozen=True)
class Charity:
    slug: str
    own: Mapping[Cell, int]  # its exact contribution; a cell not named is zero


@dataclass
class _Release:
    name: str
    quarter: str
    revision: int
    threshold: int
    base: int
    tables: dict[str, Mapping[str, Any]]
    values: dict[Cell, Any]  # every counted cell, None when suppressed
    measures: dict[Cell, str]
    prisons: dict[str, tuple[str, frozenset[str]]]  # code: (region, serving charities)
    partners: str  # what secondary suppression follows (rules.suppression_partners)

    def cell(self, table: str, row: str, column: str) -> Cell | None:
        cell = Cell(self.name, table, row, column)
        return cell if cell in self.values else None

    def regions(self) -> set[str]:
        return {
            row["key"]
            for table in self.tables.values()
            if table["dimension"] == "region"
            for row in table["rows"]
        }

    def prisons_in(self, region: str) -> list[str]:
        return [code for code, (where, _) in self.prisons.items() if where == region]

    def row_cells(self, table: str, row: str) -> list[Cell]:
        return [c for c in self.values if (c.table, c.row) == (table, row)]


def _release(document: Mapping[str, Any]) -> _Release:
    name = f"{document['quarter']}r{document['revision']}"
    rules = document["rules"]
    release = _Release(
        name,
        document["quarter"],
        document["revision"],
        rules["threshold"],
        rules["rounding_base"],
        {t["id"]: t for t in document["tables"]},
        {},
        {},
        {},
        rules.get("suppression_partners", "declared-sums"),
    )
    for table in document["tables"]:
        measures = {c["key"]: c["measure"] for c in table["columns"]}
        for row in table["rows"]:
            for column, value in row["values"].items():
                if measures[column] in COUNTED:
                    cell = Cell(name, table["id"], row["key"], column)
                    release.values[cell] = value
                    release.measures[cell] = measures[column]
            if table["id"] == PRISONS:
                region = row.get("region") or NOT_RECORDED
                release.prisons[row["key"]] = (region, frozenset(row.get("charities", ())))
        excluded = Cell(name, table["id"], "", EXCLUDED)
        release.values[excluded] = table["excluded_families"]
        release.measures[excluded] = "families"
    return release


class _Program:
    """An integer program over whole numbers, built one constraint at a time."""

    def __init__(self) -> None:
        self.index: dict[object, int] = {}
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.small: set[object] = set()  # cells known small by the algorithm (SMALL_ONLY)
        self._built: tuple[tuple[int, int], list[LinearConstraint]] | None = None

    def var(self, key: object) -> int:
        return self.index.setdefault(key, len(self.index))

    def add(self, terms: Iterable[tuple[object, float]], low: float, high: float) -> None:
        coefficients: dict[int, float] = defaultdict(float)
        for key, coefficient in terms:
            coefficients[self.var(key)] += coefficient
        self.rows.append((dict(coefficients), low, high))

    def at_most(self, smaller: object, larger: object) -> None:
        self.add([(smaller, 1), (larger, -1)], -np.inf, 0)

    def equal(self, total: object, parts: Sequence[object], shift: float = 0) -> None:
        self.add([(total, 1), *((p, -1) for p in parts)], shift, shift)

    def solve(self, key: object | None = None, sense: int = 1) -> float | None:
        """The least (sense 1) or greatest (sense -1) value of key; None when infeasible."""
        n = len(self.index)
        objective = np.zeros(n)
        if key is not None:
            objective[self.index[key]] = sense
        result = milp(
            objective,
            integrality=np.ones(n),
            bounds=Bounds(0, LARGEST),
            constraints=self._constraints(n),
            options={"mip_rel_gap": 0},
        )
        if result.status == 2:
            return None
        if result.status != 0:
            raise RuntimeError(f"HiGHS did not finish: {result.message}")
        return sense * result.fun

    def _constraints(self, n: int) -> list[LinearConstraint]:
        """The constraint matrix, built once for every solve that follows."""
        if self._built is None or self._built[0] != (len(self.rows), n):
            data, rows, columns = [], [], []
            for i, (coefficients, _, _) in enumerate(self.rows):
                for j, coefficient in coefficients.items():
                    data.append(coefficient)
                    rows.append(i)
                    columns.append(j)
            matrix = coo_array((data, (rows, columns)), shape=(len(self.rows), n)).tocsr()
            lows, highs = [r[1] for r in self.rows], [r[2] for r in self.rows]
            built = [LinearConstraint(matrix, lows, highs)] if self.rows else []
            self._built = ((len(self.rows), n), built)
        return self._built[1]


def read_releases(
    documents: Sequence[Mapping[str, Any]],
    *,
    knows: frozenset[Knows] = EVERYTHING,
    changes: Mapping[Cell, int] | None = None,
    charity: Charity | None = None,
) -> list[Reading]:
    """How far each suppressed cell of these documents can be worked out, cell by cell."""
    releases = [_release(d) for d in documents]
    program, wholly_own = _program(releases, knows, changes or {}, charity)
    if program.solve() is None:
        # Name the knowledge that, dropped alone, makes the documents consistent again.
        culprits = [
            str(k)
            for k in sorted(knows)
            if _program(releases, knows - {k}, changes or {}, charity)[0].solve() is not None
        ]
        raise Contradiction(
            "the documents contradict what the reader assumes of them; "
            f"consistent without any one of: {', '.join(culprits) or 'none'}"
        )
    own = charity.own if charity else {}
    told = _told(releases, changes or {}, own) if Knows.REVISIONS in knows else {}
    readings = []
    for index, release in enumerate(releases):
        public = {c for region in _empty_regions(release) for c in _region_cells(release, region)}
        cells = [
            cell
            for cell, value in release.values.items()
            if value is None and cell not in public and cell not in wholly_own
        ]
        found = [
            _reading(program, release, cell, max(own.get(cell, 0), told.get(cell, 0)))
            for cell in cells
        ]
        if release.revision > 1 and Knows.REVISIONS in knows and any(r.pinned for r in found):
            found = _figures_only(documents, index, found, knows, changes or {}, charity, told)
        readings += found
    return readings


def _figures_only(
    documents: Sequence[Mapping[str, Any]],
    index: int,
    found: list[Reading],
    knows: frozenset[Knows],
    changes: Mapping[Cell, int],
    charity: Charity | None,
    told: Mapping[Cell, int],
) -> list[Reading]:
    """A revision's readings, each pin kept only if the revision's figures made it: a cell of
    the revision the reader pins just as well with none of its figures (every value unknown,
    nothing inferred from its suppressions) is pinned by its reason and the earlier releases,
    which the revision's figures could not hide."""
    blind = [_blinded(d) if i == index else d for i, d in enumerate(documents)]
    releases = [_release(d) for d in blind]
    program, _ = _program(releases, knows, changes, charity)
    own = charity.own if charity else {}
    kept = []
    for reading in found:
        if reading.pinned:
            floor = max(own.get(reading.cell, 0), told.get(reading.cell, 0))
            again = _reading(program, releases[index], reading.cell, floor)
            if again.pinned:
                reading = Reading(reading.cell, reading.low, reading.high, None)
        kept.append(reading)
    return kept


def _blinded(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with every figure unknown and its suppressions telling nothing."""
    tables = [
        {
            **table,
            "rows": [{**row, "values": dict.fromkeys(row["values"])} for row in table["rows"]],
        }
        for table in document["tables"]
    ]
    rules = {**document["rules"], "suppression_partners": BLIND}
    return {**document, "tables": tables, "rules": rules}


def _told(
    releases: Sequence[_Release], changes: Mapping[Cell, int], own: Mapping[Cell, int]
) -> dict[Cell, int]:
    """The least each cell holds by a revision's reason alone, for a reader with these records:
    the others' share went up (down) by the change less the reader's own part of it, so the
    revising (revised) cell holds at least the reader's own plus that. Proving that much is the
    reason's disclosure, written by the coordinator, not the figures'."""
    names = {(r.quarter, r.revision): r.name for r in releases}
    quarters = {r.name: (r.quarter, r.revision) for r in releases}
    told: dict[Cell, int] = {}
    for cell, change in changes.items():
        quarter, revision = quarters[cell.release]
        before_name = names.get((quarter, revision - 1))
        if before_name is None:
            continue
        before = Cell(before_name, cell.table, cell.row, cell.column)
        theirs = change - (own.get(cell, 0) - own.get(before, 0))
        if theirs > 0:
            told[cell] = own.get(cell, 0) + theirs
        elif theirs < 0:
            told[before] = own.get(before, 0) - theirs
    return told


def _program(
    releases: Sequence[_Release],
    knows: frozenset[Knows],
    changes: Mapping[Cell, int],
    charity: Charity | None,
) -> tuple[_Program, set[Cell]]:
    """Everything the reader knows as one integer program, and the cells wholly its own."""
    program = _Program()
    for release in releases:
        for cell in release.values:
            program.var(cell)
    sums = [s for release in releases for s in _declared_sums(release)]
    in_sums = {c for total, parts in sums for c in (total, *parts)}
    if Knows.PUBLISHED in knows:
        _published(program, releases)
    if Knows.SUMS in knows:
        for total, parts in sums:
            program.equal(total, parts)
    if Knows.DEFINITIONS in knows:
        _definitions(program, releases)
    if Knows.AVERAGES in knows:
        _averages(program, releases)
    if Knows.SMALL_ONLY in knows:
        _small_only(program, releases, in_sums)
    if Knows.SERVICE_MAP in knows:
        _service_map(program, releases)
    if Knows.SAME_PEOPLE in knows:
        _same_people(program, releases)
    if Knows.REVISIONS in knows:
        _revisions(program, releases, changes)
    wholly_own = _own_records(program, releases, charity) if charity else set()
    return program, wholly_own


def pinned(readings: Iterable[Reading]) -> list[Reading]:
    return [r for r in readings if r.pinned]


def _reading(program: _Program, release: _Release, cell: Cell, floor: int) -> Reading:
    """``floor``: what the reader knows the cell holds before reading it (its own records, or
    what a revision's reason says was added)."""
    least, greatest = program.solve(cell, 1), program.solve(cell, -1)
    assert least is not None and greatest is not None  # the whole program is feasible
    low = math.ceil(least - SLACK)
    top = math.floor(greatest + SLACK)
    high = None if top >= LARGEST else top
    why = None
    if high is not None and high - low + 1 < release.base and cell not in program.small:
        why = f"{high - low + 1} possible values, fewer than the base {release.base}"
    elif (
        release.measures[cell] == "families"
        and high is not None
        and low > floor
        and high < release.threshold
    ):
        # The ONS rule suppresses small counts of families, zero included, so that nobody can
        # tell a few families are there; proving it is exactly that disclosure.
        why = f"proven present and small ({low} to {high} families)"
    return Reading(cell, low, high, why)


def _published(program: _Program, releases: Sequence[_Release]) -> None:
    for release in releases:
        for cell, value in release.values.items():
            if value is None:
                continue
            if value == 0:
                program.add([(cell, 1)], 0, 0)
            else:
                low = max(release.threshold, value - release.base // 2)
                program.add([(cell, 1)], low, value + (release.base - 1) // 2)


def _declared_sums(release: _Release) -> list[tuple[Cell, list[Cell]]]:
    """docs/releases.md: all sources are the sum of the sources and of the prisons' referrals."""
    table = release.tables.get(REFERRALS)
    if table is None:
        return []
    sums = []
    sources = [c["key"] for c in table["columns"] if c["key"] != ALL_SOURCES]
    for row in table["rows"]:
        total = Cell(release.name, REFERRALS, row["key"], ALL_SOURCES)
        sums.append((total, [Cell(release.name, REFERRALS, row["key"], s) for s in sources]))
        if PRISONS in release.tables:
            prisons = release.prisons_in(row["key"])
            sums.append((total, [Cell(release.name, PRISONS, p, NEW_REFERRALS) for p in prisons]))
    return sums


def _region_families(release: _Release, region: str) -> tuple[str, str, str]:
    """The reader's own variable: a region's families supported in the quarter, unpublished."""
    return ("families supported", release.name, region)


def _definitions(program: _Program, releases: Sequence[_Release]) -> None:
    for release in releases:
        if PRISONS not in release.tables:
            continue
        for code in release.prisons:
            supported = release.cell(PRISONS, code, SUPPORTED)
            first, visits = (release.cell(PRISONS, code, c) for c in (FIRST_TIME_VISITS, VISITS))
            if first and visits:
                program.at_most(first, visits)
            for column in OF_SUPPORTED:
                cell = release.cell(PRISONS, code, column)
                if cell and supported:
                    # None where no family is supported; with one, no bound short of LARGEST.
                    program.add([(cell, 1), (supported, -LARGEST)], -np.inf, 0)
        for region in release.regions():
            families = _region_families(release, region)
            prisons = [release.cell(PRISONS, p, SUPPORTED) for p in release.prisons_in(region)]
            for prison in prisons:
                program.at_most(prison, families)
            program.add([(families, 1), *((p, -1) for p in prisons)], -np.inf, 0)
            for cell in release.row_cells(NEEDS, region):
                program.at_most(cell, families)
        _members_and_excluded(program, release)


def _members_and_excluded(program: _Program, release: _Release) -> None:
    """A year ending with the quarter holds the quarter's children and its excluded families."""
    prisons = release.tables[PRISONS]
    quarter_end = prisons["period"]["end"]
    for table in BREAKDOWNS:
        if table not in release.tables or release.tables[table]["period"]["end"] != quarter_end:
            continue
        members = [c for c in release.values if c.table == table and c.row]
        for code in release.prisons:
            children = release.cell(PRISONS, code, CHILDREN)
            if children:
                program.add([(children, 1), *((m, -1) for m in members)], -np.inf, 0)
        if NEEDS in release.tables:
            program.at_most(
                Cell(release.name, NEEDS, "", EXCLUDED), Cell(release.name, table, "", EXCLUDED)
            )
    for table in (NEEDS, REFERRALS):
        if table in release.tables:
            program.at_most(
                Cell(release.name, table, "", EXCLUDED), Cell(release.name, PRISONS, "", EXCLUDED)
            )


def _averages(program: _Program, releases: Sequence[_Release]) -> None:
    for release in releases:
        for table_id, table in release.tables.items():
            for row in table["rows"]:
                averaged = any(
                    c["measure"] in ("mean", "median") and row["values"][c["key"]] is not None
                    for c in table["columns"]
                )
                if not averaged:
                    continue
                if table_id == OUTCOMES:
                    program.add(
                        [(_region_families(release, row["key"]), 1)], release.threshold, np.inf
                    )
                elif table_id == TRANSFERS and (
                    completed := release.cell(TRANSFERS, row["key"], COMPLETED)
                ):
                    # Each completed transfer brings one family: as many transfers as families.
                    program.add([(completed, 1)], release.threshold, np.inf)


# Counts of families the definitions tie to others (docs/metrics.md, "It also knows the
# definitions"), by table and column (None: every column).
TIED_BY_DEFINITIONS = frozenset({(PRISONS, SUPPORTED), (NEEDS, None)})


BY_DEFINITIONS = "declared-sums-and-definitions"
# A revision also takes partners among the counts of the release it revises.
IN_REVISIONS = "declared-sums-definitions-and-revised-release"
# Not a document's: a revision read with none of its figures (``_figures_only``).
BLIND = "(no figures)"


def _tied(release: _Release, cell: Cell, revised: _Release | None) -> bool:
    if release.partners == BLIND:
        return True
    twin = revised and Cell(revised.name, cell.table, cell.row, cell.column)
    if release.partners == IN_REVISIONS and revised is not None and twin in revised.values:
        return True
    if release.partners not in (BY_DEFINITIONS, IN_REVISIONS) or cell.column == EXCLUDED:
        # The families a table excluded are tied to no other figure by any definition.
        return False
    return bool({(cell.table, cell.column), (cell.table, None)} & TIED_BY_DEFINITIONS)


def _small_only(program: _Program, releases: Sequence[_Release], in_sums: set[Cell]) -> None:
    by_name = {(r.quarter, r.revision): r for r in releases}
    for release in releases:
        revised = by_name.get((release.quarter, release.revision - 1))
        for cell, value in release.values.items():
            if (
                value is None
                and release.measures[cell] == "families"
                and cell not in in_sums
                and not _tied(release, cell, revised)
            ):
                program.add([(cell, 1)], 0, release.threshold - 1)
                program.small.add(cell)


def _empty_regions(release: _Release) -> list[str]:
    if PRISONS not in release.tables:
        return []
    return [r for r in release.regions() if not release.prisons_in(r)]


def _region_cells(release: _Release, region: str) -> list[Cell]:
    return [
        c
        for c in release.values
        if c.row == region and release.tables[c.table]["dimension"] == "region"
    ]


def _service_map(program: _Program, releases: Sequence[_Release]) -> None:
    for release in releases:
        for region in _empty_regions(release):
            for cell in _region_cells(release, region):
                program.add([(cell, 1)], 0, 0)
            program.add([(_region_families(release, region), 1)], 0, 0)


def _same_people(program: _Program, releases: Sequence[_Release]) -> None:
    for release in releases:
        present = [t for t in BREAKDOWNS if t in release.tables]
        totals = [[c for c in release.values if c.table == t and c.row] for t in present]
        for first, other in itertools.pairwise(totals):
            program.add([*((c, 1) for c in first), *((c, -1) for c in other)], 0, 0)
        alike: dict[tuple[str, str], list[Cell]] = defaultdict(list)
        for table_id, table in release.tables.items():
            key = (table["excluded"], table["period"]["label"])
            alike[key].append(Cell(release.name, table_id, "", EXCLUDED))
        for same in alike.values():
            for twin in same[1:]:
                program.equal(same[0], [twin])


def _revisions(
    program: _Program, releases: Sequence[_Release], changes: Mapping[Cell, int]
) -> None:
    by_quarter: dict[str, list[_Release]] = defaultdict(list)
    for release in releases:
        by_quarter[release.quarter].append(release)
    for revisions in by_quarter.values():
        revisions.sort(key=lambda r: r.revision)
        for older, newer in itertools.pairwise(revisions):
            for cell in newer.values:
                before = Cell(older.name, cell.table, cell.row, cell.column)
                if before in older.values:
                    program.equal(cell, [before], changes.get(cell, 0))


def _own_records(program: _Program, releases: Sequence[_Release], charity: Charity) -> set[Cell]:
    """A charity's cells are its own plus the others'; a wholly own cell is its own exactly."""
    wholly_own: set[Cell] = set()
    for release in releases:
        alone = {code for code, (_, by) in release.prisons.items() if by == {charity.slug}}
        rows = {("prison", code) for code in alone}
        rows |= {
            ("region", region)
            for region in release.regions()
            if release.prisons_in(region) and set(release.prisons_in(region)) <= alone
        }
        wholly_own |= {
            cell
            for cell in release.values
            if (release.tables[cell.table]["dimension"], cell.row) in rows
        }
    for cell in {*charity.own, *wholly_own}:
        if cell in program.index:
            mine = charity.own.get(cell, 0)
            program.add([(cell, 1)], mine, mine if cell in wholly_own else np.inf)
    return wholly_own
