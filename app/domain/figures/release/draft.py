"""From a quarter's unsuppressed figures to what disclosure control works on (DESIGN.md section 7).

``draft_release`` turns the catalogue's figures (app.domain.figures.catalogue) into a disclosure
``Draft``: one cell per figure, the sums a reader knows between them, and each charity's
``Records`` (its own contribution, and the cells it knows are wholly its own). The excluded
families of every table are a table of their own, so they pass the same rules.

A quarterly release holds the quarter's tables and the national tables for the year ending with
the quarter. Cell keys carry the quarter and the revision (``2026Q3 prison_activity``,
``2026Q3r2 prison_activity``): a revision corrects figures, so its cells are quantities of their
own, tied to the revised release's by the changes it made (``link_revision``), which its
published reason tells every reader; both revisions stay in every later audit.

The sums declared here are every additive relation between published figures: a region's new
referrals from all sources are the sum of its sources, and the sum of its prisons' new referrals
in the prison table. Nothing else adds up: a family can have several needs, and a family
supported at two prisons counts at each. What the definitions say without adding up (a region's
families supported tie its prisons, its needs and its means together; the three national
breakdowns count the same family members, so add up to one unpublished total) are the draft's
``Relations`` (``_relations``).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from app.domain.figures.catalogue import (
    ALL_SOURCES,
    NATIONAL,
    Dimension,
    Figures,
    Measure,
    TableId,
    Tally,
    region_key,
)
from app.domain.figures.catalogue import Table as MetricTable
from app.domain.figures.disclosure.model import (
    AtMost,
    Cell,
    CellKey,
    Change,
    Draft,
    Kind,
    PublishedRelease,
    Records,
    Relations,
    StandsOn,
    Sum,
    Table,
)
from app.domain.figures.periods import Quarter

EXCLUDED = "excluded"
EXCLUDED_COLUMN = "families"
# The table of quantities a reader reasons about that no release publishes.
REGION_FAMILIES = "region_families (unpublished)"
YEAR_MEMBERS = "family_members (unpublished)"
# The national tables that break the same people down by one answer each.
BREAKDOWNS = (TableId.NATIONAL_ETHNICITY, TableId.NATIONAL_SEX, TableId.NATIONAL_DISABILITY)
# Means and medians are published to one decimal place: finer says nothing more to a reader.
AVERAGE_PLACES = 1


# Figures the draft ties to no other by a sum, a relation or the families they describe, each
# with the reason. Every other figure of the catalogue is tied to something a reader knows
# (tests/unit/test_release_draft.py checks both ways: a figure added to the catalogue must be
# related in ``_relations`` or ``_sums``, or named here with why).
UNRELATED: Mapping[str, str] = {}


@dataclass(frozen=True)
class PublicFacts:
    """What everybody knows besides the figures: each prison's region, and which charities
    served each prison during the quarter (the services table is public)."""

    prison_regions: Mapping[str, str]  # prison code -> region row (region_key)
    servers: Mapping[str, frozenset[str]]  # prison code -> slugs of the charities serving it


@dataclass(frozen=True)
class ReleaseFigures:
    """The unsuppressed figures of one quarterly release, with each charity named by slug."""

    quarter: Quarter
    revision: int
    quarterly: Figures
    yearly: Figures
    charity_slugs: Mapping[uuid.UUID, str]  # charity id -> slug


def release_prefix(quarter: Quarter, revision: int) -> str:
    """What every cell key of a release's tables starts with."""
    return quarter.label if revision == 1 else f"{quarter.label}r{revision}"


def table_name(prefix: str, table_id: str) -> str:
    return f"{prefix} {table_id}"


def draft_release(figures: ReleaseFigures, facts: PublicFacts) -> tuple[Draft, dict[str, Records]]:
    """The disclosure draft of a quarterly release and what each charity knows of it."""
    prefix = release_prefix(figures.quarter, figures.revision)
    tables: list[Table] = []
    own: dict[str, dict[CellKey, int]] = {slug: {} for slug in figures.charity_slugs.values()}
    for part in (figures.quarterly, figures.yearly):
        totals = part.total()
        for metric in part.tables:
            name = table_name(prefix, metric.id.value)
            cells = []
            for row in part.rows[metric.dimension]:
                for column in metric.columns:
                    key = CellKey(name, row, column.key)
                    cells.append(_cell(metric, key, totals[metric.id.value, row, column.key]))
                    if column.measure in (Measure.MEAN, Measure.MEDIAN):
                        continue
                    for contribution in part.contributions:
                        tally = contribution.cells[metric.id.value, row, column.key]
                        value = _count_of(column.measure, tally)
                        if value:
                            own[figures.charity_slugs[contribution.charity_id]][key] = value
            tables.append(Table(name, tuple(cells)))
        tables.append(_excluded(prefix, part, figures.charity_slugs, own))
    sums, relations = _relations(prefix, figures, facts)
    relations = replace(relations, known_zeros=_known_zeros(prefix, figures, facts, tables))
    draft = Draft(
        prefix, tuple(_merge_excluded(tables)), (*_sums(prefix, figures, facts), *sums), relations
    )
    return draft, _knowledge(draft, own, prefix, facts)


def _count_of(measure: Measure, tally: Tally) -> int:
    return tally.families if measure is Measure.FAMILIES else tally.count


def _cell(metric: MetricTable, key: CellKey, tally: Tally) -> Cell:
    measure = metric.column(key.column).measure
    if measure is Measure.FAMILIES:
        return Cell.of_families(key, tally.families)
    if measure is Measure.COUNT:
        return Cell.of_count(key, tally.count, tally.families, _basis(metric, key))
    average = tally.mean if measure is Measure.MEAN else tally.median
    # No value at all means no families: suppressed as small, whatever stands in for it.
    value = round(average, AVERAGE_PLACES) if average is not None else 0.0
    return Cell.of_average(key, value, tally.families)


def _basis(metric: MetricTable, key: CellKey) -> CellKey | None:
    """Children and contacts at a prison describe the families supported there, and are
    suppressed with them; new referrals are counted on their own families."""
    if metric.id is TableId.PRISON_ACTIVITY and key.column != "new_referrals":
        return CellKey(key.table, key.row, "families_supported")
    return None


def _excluded(
    prefix: str,
    part: Figures,
    slugs: Mapping[uuid.UUID, str],
    own: dict[str, dict[CellKey, int]],
) -> Table:
    """The families each table left out, as a table of family counts under the same rules."""
    name = table_name(prefix, EXCLUDED)
    excluded = part.excluded()
    cells = []
    for metric in part.tables:
        key = CellKey(name, metric.id.value, EXCLUDED_COLUMN)
        cells.append(Cell.of_families(key, excluded[metric.id.value]))
        for contribution in part.contributions:
            value = contribution.excluded.get(metric.id.value, 0)
            if value:
                own[slugs[contribution.charity_id]][key] = value
    return Table(name, tuple(cells))


def _merge_excluded(tables: Sequence[Table]) -> list[Table]:
    """One excluded table for the release (the quarterly and the yearly parts each make one)."""
    merged: list[Table] = []
    excluded: list[Cell] = []
    for table in tables:
        if table.name.endswith(f" {EXCLUDED}"):
            excluded.extend(table.cells)
        else:
            merged.append(table)
    if excluded:
        merged.append(Table(excluded[0].key.table, tuple(excluded)))
    return merged


def _sums(prefix: str, figures: ReleaseFigures, facts: PublicFacts) -> tuple[Sum, ...]:
    """Every region's new referrals from all sources: the sum of its sources, and the sum of
    its prisons' new referrals."""
    quarterly = figures.quarterly
    referrals = next(t for t in quarterly.tables if t.id is TableId.REGION_REFERRAL_SOURCES)
    sources = tuple(c.key for c in referrals.columns if c.key != ALL_SOURCES)
    sources_name = table_name(prefix, TableId.REGION_REFERRAL_SOURCES.value)
    prisons_name = table_name(prefix, TableId.PRISON_ACTIVITY.value)
    prisons = quarterly.rows[Dimension.PRISON]
    sums = []
    for region in quarterly.rows[Dimension.REGION]:
        total = CellKey(sources_name, region, ALL_SOURCES)
        sums.append(Sum(total, tuple(CellKey(sources_name, region, s) for s in sources)))
        mine = tuple(
            CellKey(prisons_name, prison, "new_referrals")
            for prison in prisons
            if region_key(facts.prison_regions.get(prison)) == region
        )
        if mine:
            sums.append(Sum(total, mine))
    return tuple(sums)


def _relations(
    prefix: str, figures: ReleaseFigures, facts: PublicFacts
) -> tuple[tuple[Sum, ...], Relations]:
    """What the definitions (docs/metrics.md) tell every reader besides the declared sums.

    A region's families supported in the quarter are never published (a family supported at two
    of its prisons counts at each), but a reader reasons about them: they are at least each of
    its prisons' and at most their sum; the families with each need are among them; a published
    mean outcome stands on at least the threshold of them. A published median of days to accept
    stands on at least the threshold of completed transfers, and first-time visitors are among a
    prison's visitor-centre contacts. A region where no member serves a prison has no row in the
    prison table, and nothing of it is counted.
    """
    quarterly = figures.quarterly
    tables = {metric.id: metric for metric in quarterly.tables}
    prisons_name = table_name(prefix, TableId.PRISON_ACTIVITY.value)
    unpublished = table_name(prefix, REGION_FAMILIES)
    prisons_of: dict[str, list[str]] = {}
    for prison in quarterly.rows[Dimension.PRISON]:
        region = region_key(facts.prison_regions.get(prison))
        prisons_of.setdefault(region, []).append(prison)
    hidden: list[CellKey] = []
    sums: list[Sum] = []
    at_most = [
        AtMost(CellKey(prisons_name, p, "first_time_visits"), CellKey(prisons_name, p, "visits"))
        for p in quarterly.rows[Dimension.PRISON]
    ]
    stands_on: list[StandsOn] = []
    for region in quarterly.rows[Dimension.REGION]:
        if TableId.REGION_TRANSFERS in tables:
            name = table_name(prefix, TableId.REGION_TRANSFERS.value)
            median, completed = (CellKey(name, region, c) for c in ("days_to_accept", "completed"))
            stands_on.append(StandsOn(median, completed))
        prisons = prisons_of.get(region)
        if not prisons:
            continue
        families = CellKey(unpublished, region, "families_supported")
        of_prisons = CellKey(unpublished, region, "sum_of_its_prisons")
        supported = [CellKey(prisons_name, p, "families_supported") for p in prisons]
        hidden += [families, of_prisons]
        sums.append(Sum(of_prisons, tuple(supported)))
        at_most += [AtMost(key, families) for key in supported]
        at_most.append(AtMost(families, of_prisons))
        if TableId.REGION_NEEDS in tables:
            name = table_name(prefix, TableId.REGION_NEEDS.value)
            at_most += [
                AtMost(CellKey(name, region, column.key), families)
                for column in tables[TableId.REGION_NEEDS].columns
            ]
        if TableId.REGION_OUTCOMES in tables:
            name = table_name(prefix, TableId.REGION_OUTCOMES.value)
            stands_on += [
                StandsOn(CellKey(name, region, column.key), families)
                for column in tables[TableId.REGION_OUTCOMES].columns
            ]
    members, of_members = _members(prefix, figures)
    if members is not None:
        hidden.append(members)
        sums += of_members
        # The quarter's children at a prison are among the year's family members.
        at_most += [
            AtMost(CellKey(prisons_name, p, "children"), members)
            for p in quarterly.rows[Dimension.PRISON]
        ]
    return tuple(sums), Relations(tuple(hidden), tuple(at_most), tuple(stands_on))


def _members(prefix: str, figures: ReleaseFigures) -> tuple[CellKey | None, list[Sum]]:
    """The year's family members (never published as one figure), and each national breakdown
    adding up to them: every member is counted once in each, "not stated" included, so the
    breakdowns have equal totals (docs/metrics.md, "Definitions")."""
    present = {metric.id: metric for metric in figures.yearly.tables}
    breakdowns = [present[t] for t in BREAKDOWNS if t in present]
    if not breakdowns:
        return None, []
    members = CellKey(table_name(prefix, YEAR_MEMBERS), NATIONAL, "members")
    sums = [
        Sum(
            members,
            tuple(
                CellKey(table_name(prefix, metric.id.value), NATIONAL, column.key)
                for column in metric.columns
            ),
        )
        for metric in breakdowns
    ]
    return members, sums


def _known_zeros(
    prefix: str, figures: ReleaseFigures, facts: PublicFacts, tables: Sequence[Table]
) -> tuple[CellKey, ...]:
    """The counts of a region where no member serves a prison: zero by the public service map,
    so published as 0. A region whose counts are not all zero (the map and the records
    disagree) is left to the rules like any other."""
    quarterly = figures.quarterly
    served = {region_key(facts.prison_regions.get(p)) for p in quarterly.rows[Dimension.PRISON]}
    unserved = set(quarterly.rows[Dimension.REGION]) - served
    by_region = {
        table_name(prefix, metric.id.value)
        for metric in quarterly.tables
        if metric.dimension is Dimension.REGION
    }
    regions: dict[str, list[Cell]] = {}
    for table in tables:
        if table.name in by_region:
            for cell in table.cells:
                if cell.key.row in unserved and cell.kind is not Kind.AVERAGE:
                    regions.setdefault(cell.key.row, []).append(cell)
    return tuple(
        cell.key
        for cells in regions.values()
        if all(cell.value == 0 for cell in cells)
        for cell in cells
    )


def link_revision(
    draft: Draft, revised: PublishedRelease, knowledge: Mapping[str, Records]
) -> Draft:
    """The draft of a revision, each count tied to the same count of the release it revises.

    The reason a revision gives is published ("a family supported at HMP Wakefield, recorded
    late"), so the audit assumes every reader knows exactly how each figure changed: the revised
    figure plus that change. The revised figure's true value is the sum of every charity's own
    contribution to it, as its protection state keeps them (``knowledge``)."""
    truth: dict[CellKey, int] = {}
    for records in knowledge.values():
        for key, value in records.own.items():
            truth[key] = truth.get(key, 0) + value
    earlier = {cell.key for cell in revised.cells if cell.kind is not Kind.AVERAGE}
    changes = []
    for cell in draft.cells():
        if cell.kind is Kind.AVERAGE:
            continue
        before = replace(cell.key, table=revised.name + cell.key.table[len(draft.name) :])
        if before in earlier:
            changes.append(Change(before, cell.key, int(cell.value) - truth.get(before, 0)))
    return replace(draft, relations=replace(draft.relations, changes=tuple(changes)))


def _knowledge(
    draft: Draft,
    own: Mapping[str, Mapping[CellKey, int]],
    prefix: str,
    facts: PublicFacts,
) -> dict[str, Records]:
    """Each charity's records. A cell is wholly a charity's own when its row is a prison only
    that charity served in the quarter, or a region all of whose prisons only it served (who
    serves which prison is public), and no other charity counted anything in it; the charity
    then knows it exactly."""
    prisons_name = table_name(prefix, TableId.PRISON_ACTIVITY.value)
    region_tables = {table_name(prefix, t.value) for t in TableId if t.value.startswith("region_")}
    sole: dict[str, set[str]] = {slug: set() for slug in own}
    regions: dict[str, set[str]] = {}
    for prison, served_by in facts.servers.items():
        regions.setdefault(region_key(facts.prison_regions.get(prison)), set()).update(served_by)
        if len(served_by) == 1:
            sole.setdefault(next(iter(served_by)), set()).add(prison)
    whole_regions = {
        region: next(iter(slugs)) for region, slugs in regions.items() if len(slugs) == 1
    }
    records: dict[str, Records] = {}
    for slug, mine in own.items():
        whole = set()
        for cell in draft.cells():
            key = cell.key
            others = sum(value.get(key, 0) for other, value in own.items() if other != slug)
            if others or cell.kind is Kind.AVERAGE:
                continue
            sole_prison = key.table == prisons_name and key.row in sole.get(slug, ())
            sole_region = key.table in region_tables and whole_regions.get(key.row) == slug
            if sole_prison or sole_region:
                whole.add(key)
        records[slug] = Records(own=dict(mine), whole=frozenset(whole))
    return records
