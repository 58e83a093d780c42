"""The outsider's reader (tests/outsider/reader.py) on small hand-made releases in the published
layout (``continuum-release/1``): it pins what can be worked out, leaves alone what cannot, and
each kind of knowledge it has is shown to matter by switching it off. A property checks it is
never wrong: on generated families, published under the rules, every true value lies in the
range it reports."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.outsider.reader import (
    EVERYTHING,
    Cell,
    Charity,
    Contradiction,
    Knows,
    Reading,
    pinned,
    read_releases,
)

NEEDS = (
    "licence_conditions",
    "child_concern",
    "housing",
    "finance",
    "emotional_wellbeing",
    "community_links",
    "family_contact",
    "visits",
    "release",
)
SOURCES = (
    "offender_manager",
    "self",
    "prison_staff",
    "childrens_services",
    "school",
    "other_agency",
)
AREAS = (
    "physical_health",
    "well_being",
    "emotional_needs",
    "children_safe",
    "social_networks",
    "education",
    "boundaries",
    "routine",
    "home_money",
    "work",
)
ETHNIC_GROUPS = ("asian_indian", "black_african", "white_british", "white_other", "not_stated")
QUARTERLY_EXCLUDED = "Objecting families supported in the quarter."
YEARLY_EXCLUDED = "Objecting families supported in the year."
# The tables as a published document lays them out: dimension, columns and measures, and what
# each says it excluded (read from a document built by the release code, not from its rules).
CATALOGUE: dict[str, tuple[str, dict[str, str], str]] = {
    "prison_activity": (
        "prison",
        {
            "families_supported": "families",
            "new_referrals": "count",
            "children": "count",
            "visits": "count",
            "first_time_visits": "count",
            "family_days": "count",
        },
        "Objecting families supported at, or newly referred to, one of the prisons.",
    ),
    "region_needs": ("region", dict.fromkeys(NEEDS, "families"), QUARTERLY_EXCLUDED),
    "region_referral_sources": (
        "region",
        dict.fromkeys((*SOURCES, "all_sources"), "count"),
        "Objecting families newly referred in the quarter.",
    ),
    "region_transfers": (
        "region",
        {"completed": "count", "days_to_accept": "median"},
        "Objecting families among the receiving charity's cases of those transfers.",
    ),
    "region_outcomes": ("region", dict.fromkeys(AREAS, "mean"), QUARTERLY_EXCLUDED),
    "national_ethnicity": ("national", dict.fromkeys(ETHNIC_GROUPS, "count"), YEARLY_EXCLUDED),
    "national_sex": (
        "national",
        dict.fromkeys(("female", "male", "not_stated"), "count"),
        YEARLY_EXCLUDED,
    ),
    "national_disability": (
        "national",
        dict.fromkeys(("yes", "no", "not_stated"), "count"),
        YEARLY_EXCLUDED,
    ),
}
NATIONAL = "England and Wales"
BREAKDOWN_TABLES = ("national_ethnicity", "national_sex", "national_disability")
QUARTER_ENDS = {1: "03-31", 2: "06-30", 3: "09-30", 4: "12-31"}
# Two prisons in the North East, one of them POPS's alone; one in London, Pact's alone; and
# Wales, where no member serves a prison.
PRISONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "AAI": ("North East", ("pops",)),
    "BBI": ("North East", ("nepacs", "pops")),
    "CCI": ("London", ("pact",)),
}
REGIONS = ("London", "North East", "Wales")

Value = int | float | None


def document(
    values: Mapping[tuple[str, str, str], Value],
    *,
    tables: Sequence[str] = tuple(CATALOGUE),
    prisons: Mapping[str, tuple[str, Sequence[str]]] = PRISONS,
    regions: Sequence[str] = REGIONS,
    excluded: Mapping[str, int | None] | None = None,
    quarter: str = "2026Q3",
    revision: int = 1,
    rules: tuple[int, int] = (10, 5),
) -> dict[str, Any]:
    """A published release: the cells named in values, every other cell suppressed (null)."""
    year, number = int(quarter[:4]), int(quarter[-1])
    end = f"{year}-{QUARTER_ENDS[number]}"
    quarterly = {"label": quarter, "start": f"{year}-{3 * number - 2:02d}-01", "end": end}
    yearly = {"label": f"year to {quarter}", "start": f"{year - 1}-10-01", "end": end}
    threshold, base = rules
    laid_out = []
    for table_id in tables:
        dimension, columns, excluded_text = CATALOGUE[table_id]
        rows: list[dict[str, Any]] = []
        keys = {"prison": list(prisons), "region": list(regions), "national": [NATIONAL]}
        for key in keys[dimension]:
            row: dict[str, Any] = {
                "key": key,
                "label": key,
                "values": {c: values.get((table_id, key, c)) for c in columns},
            }
            if dimension == "prison":
                row["region"], row["charities"] = prisons[key][0], sorted(prisons[key][1])
            rows.append(row)
        laid_out.append(
            {
                "id": table_id,
                "title": table_id,
                "dimension": dimension,
                "period": yearly if dimension == "national" else quarterly,
                "columns": [{"key": c, "label": c, "measure": m} for c, m in columns.items()],
                "rows": rows,
                "excluded_families": (excluded or {}).get(table_id),
                "definition": "",
                "excluded": excluded_text,
            }
        )
    return {
        "format": "continuum-release/1",
        "quarter": quarter,
        "revision": revision,
        "supersedes": None if revision == 1 else "id of the release it replaces",
        "revision_reason": None if revision == 1 else "a late correction",
        "rules": {"threshold": threshold, "rounding_base": base, "averages_over_at_least": 10},
        "charities": [],
        "tables": laid_out,
    }


def cell(table: str, row: str, column: str, release: str = "2026Q3r1") -> Cell:
    return Cell(release, table, row, column)


def reading_of(readings: Sequence[Reading], wanted: Cell) -> Reading:
    [found] = [r for r in readings if r.cell == wanted]
    return found


def without(*families: Knows) -> frozenset[Knows]:
    return EVERYTHING - set(families)


SUPPORTED_AAI = cell("prison_activity", "AAI", "families_supported")
SUPPORTED_BBI = cell("prison_activity", "BBI", "families_supported")


# --- sums -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "total", "expected"),
    [
        ((10, 10, 10, 10, 10), 50, (0, 2)),
        # 13 + 13 + 13 + 13 + 10 families at the least, 62 at the most: the part is exactly 0.
        ((15, 15, 15, 15, 10), 60, (0, 0)),
    ],
    ids=["within-two", "exactly"],
)
def test_outsider_pins_the_one_part_suppressed_under_a_published_total(parts, total, expected):
    values = {
        ("region_referral_sources", "London", s): v for s, v in zip(SOURCES, parts, strict=False)
    }
    values["region_referral_sources", "London", "all_sources"] = total
    released = [document(values, tables=["region_referral_sources"], regions=["London"])]
    school = cell("region_referral_sources", "London", "other_agency")

    found = reading_of(read_releases(released), school)
    assert (found.low, found.high) == expected
    assert found.pinned and "fewer than the base" in found.pinned

    unsummed = reading_of(read_releases(released, knows=without(Knows.SUMS)), school)
    assert (unsummed.low, unsummed.high, unsummed.pinned) == (0, None, None)


def test_outsider_cannot_pin_two_parts_suppressed_under_a_published_total():
    values = {("region_referral_sources", "London", s): 10 for s in SOURCES[:4]}
    values["region_referral_sources", "London", "all_sources"] = 50
    released = [document(values, tables=["region_referral_sources"], regions=["London"])]

    readings = read_releases(released)
    for source in SOURCES[4:]:
        found = reading_of(readings, cell("region_referral_sources", "London", source))
        assert (found.low, found.high) == (0, 12)
    assert pinned(readings) == []


# --- inequalities from the definitions --------------------------------------------------------


def _north_east(values: Mapping[tuple[str, str, str], Value], table: str) -> list[dict[str, Any]]:
    north_east = {code: PRISONS[code] for code in ("AAI", "BBI")}
    return [
        document(
            values, tables=["prison_activity", table], prisons=north_east, regions=["North East"]
        )
    ]


MEAN_OVER_TEN = {("region_outcomes", "North East", "well_being"): 1.5}
NEED_OF_TEN = {("region_needs", "North East", "housing"): 10}


@pytest.mark.parametrize(
    ("values", "table"),
    [(MEAN_OVER_TEN, "region_outcomes"), (NEED_OF_TEN, "region_needs")],
    ids=["region-mean", "need-count"],
)
def test_outsider_proves_both_small_prisons_of_a_region_present(values, table):
    """A region mean stands on ten families or more, and ten families have a need; the region's
    two prisons, each suppressed as small, must each have at least one (issue case 1)."""
    readings = read_releases(_north_east(values, table))

    assert {r.cell for r in pinned(readings)} == {SUPPORTED_AAI, SUPPORTED_BBI}
    for prison in (SUPPORTED_AAI, SUPPORTED_BBI):
        found = reading_of(readings, prison)
        assert (found.low, found.high) == (1, 9)
        assert found.pinned and "present and small" in found.pinned


@pytest.mark.parametrize(
    ("values", "table", "switched_off"),
    [
        pytest.param(MEAN_OVER_TEN, "region_outcomes", knows, id=f"region-mean-without-{knows}")
        for knows in (Knows.DEFINITIONS, Knows.AVERAGES, Knows.SMALL_ONLY)
    ]
    + [
        pytest.param(NEED_OF_TEN, "region_needs", knows, id=f"need-count-without-{knows}")
        for knows in (Knows.DEFINITIONS, Knows.SMALL_ONLY)
    ],
)
def test_outsider_without_one_kind_of_knowledge_cannot_pin_the_small_prisons(
    values, table, switched_off
):
    readings = read_releases(_north_east(values, table), knows=without(switched_off))

    assert pinned(readings) == []
    assert reading_of(readings, SUPPORTED_AAI).low == 0


def test_outsider_proves_a_prison_with_published_visits_has_supported_families():
    """First-time visits are among the visits, and visits mean a family was supported."""
    values: dict[tuple[str, str, str], Value] = {
        ("prison_activity", "AAI", "first_time_visits"): 10,
    }
    readings = read_releases(
        [document(values, tables=["prison_activity"], prisons={"AAI": PRISONS["AAI"]}, regions=[])]
    )

    assert reading_of(readings, cell("prison_activity", "AAI", "visits")).low == 10
    found = reading_of(readings, SUPPORTED_AAI)
    assert (found.low, found.high) == (1, 9) and found.pinned


def test_a_region_where_no_member_serves_is_public_and_not_reported():
    readings = read_releases([document({}, tables=["prison_activity", "region_needs"])])

    assert not [r for r in readings if r.cell.row == "Wales"]
    assert pinned(readings) == []


# --- revisions --------------------------------------------------------------------------------


def _revised_quarter() -> list[dict[str, Any]]:
    first = document({}, tables=["prison_activity"], regions=[])
    second = document(
        {("prison_activity", "AAI", "families_supported"): 10},
        tables=["prison_activity"],
        regions=[],
        revision=2,
    )
    return [first, second]


def test_outsider_told_a_revision_added_one_family_pins_the_first_release():
    """A cell suppressed in r1 and published as 10 in r2, one family more: r1 had 9 (case 2)."""
    change = {cell("prison_activity", "AAI", "families_supported", "2026Q3r2"): +1}

    found = reading_of(read_releases(_revised_quarter(), changes=change), SUPPORTED_AAI)

    assert (found.low, found.high) == (9, 9)
    # Known small (the algorithm is public), so proving it present is the disclosure.
    assert found.pinned and "proven present" in found.pinned


def test_outsider_not_linking_revisions_cannot_pin_the_first_release():
    found = reading_of(
        read_releases(_revised_quarter(), knows=without(Knows.REVISIONS)), SUPPORTED_AAI
    )
    assert (found.low, found.high, found.pinned) == (0, 9, None)


def test_a_revision_that_changed_a_cell_nobody_named_is_a_contradiction():
    with pytest.raises(Contradiction, match="revisions"):
        read_releases(_revised_quarter())


# --- a member charity -------------------------------------------------------------------------


def _shared_region() -> list[dict[str, Any]]:
    """London's referrals come from two prisons: one POPS's alone, one shared with Pact."""
    prisons = {"PVI": ("London", ("pact", "pops")), "WWI": ("London", ("pops",))}
    values = {("region_referral_sources", "London", "all_sources"): 20}
    return [
        document(
            values,
            tables=["prison_activity", "region_referral_sources"],
            prisons=prisons,
            regions=["London"],
        )
    ]


SHARED_REFERRALS = cell("prison_activity", "PVI", "new_referrals")


def test_a_charity_knowing_its_own_referrals_pins_the_shared_prison():
    own = {
        cell("prison_activity", "WWI", "new_referrals"): 12,
        cell("prison_activity", "WWI", "families_supported"): 5,
        SHARED_REFERRALS: 7,
    }
    readings = read_releases(_shared_region(), charity=Charity("pops", own))

    found = reading_of(readings, SHARED_REFERRALS)
    assert (found.low, found.high) == (7, 10) and found.pinned
    assert not [r for r in readings if r.cell.row == "WWI"]  # wholly its own: nothing to learn


def test_outsider_cannot_pin_the_shared_prison():
    found = reading_of(read_releases(_shared_region()), SHARED_REFERRALS)
    assert (found.low, found.high, found.pinned) == (0, 22, None)


def test_a_charity_holding_most_of_a_small_cell_learns_only_what_the_rule_tells():
    """Six of a table's excluded families are POPS's; the cell is suppressed and tied to
    nothing, so known small: 6 to 9 whatever is published (the others hold at most 3). The rule
    tells that much; only proving the others present would be the release's disclosure."""
    excluded = cell("region_needs", "", "excluded_families")
    mine = Charity("pops", {excluded: 6})
    released = [document({}, tables=["region_needs"], excluded={"region_needs": None})]
    found = reading_of(read_releases(released, charity=mine), excluded)
    assert (found.low, found.high, found.pinned) == (6, 9, None)
    # Not knowing it small, the reader has no upper bound at all: the 6 to 9 is the rule's.
    blind = without(Knows.SMALL_ONLY)
    assert reading_of(read_releases(released, charity=mine, knows=blind), excluded).high is None


# --- never wrong ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    charity: str
    supported_at: frozenset[str]
    needs: frozenset[str]
    children: int
    adults: int
    visits: Mapping[str, tuple[int, int, int]]  # prison: visits, first-time, family days
    scored: bool
    objects: bool


@st.composite
def families(draw: st.DrawFn) -> list[Family]:
    found = []
    for _ in range(draw(st.integers(0, 60))):
        charity = draw(st.sampled_from(["nepacs", "pact", "pops"]))
        served = sorted(code for code, (_, by) in PRISONS.items() if charity in by)
        at = frozenset(draw(st.sets(st.sampled_from(served), min_size=1)))
        visits = {}
        for prison in sorted(at):
            seen = draw(st.integers(0, 3))
            visits[prison] = (seen, draw(st.integers(0, seen)), draw(st.integers(0, 1)))
        found.append(
            Family(
                charity,
                at,
                frozenset(draw(st.sets(st.sampled_from(NEEDS[:3])))),
                draw(st.integers(0, 3)),
                draw(st.integers(0, 2)),
                visits,
                draw(st.booleans()),
                draw(st.integers(0, 5)) == 0,
            )
        )
    return found


def _region_of(prison: str) -> str:
    return PRISONS[prison][0]


def tally(
    world: Sequence[Family], referrals: Sequence[tuple[str, str]], transfers: Mapping[str, int]
) -> tuple[Counter[tuple[str, str, str]], Counter[tuple[str, str, str]]]:
    """Every count the tables hold, and the families behind each, over these families."""
    counts: Counter[tuple[str, str, str]] = Counter()
    behind: Counter[tuple[str, str, str]] = Counter()
    for family in world:
        if family.objects:
            continue
        for prison, (seen, first, days) in family.visits.items():
            for column, n in (
                ("families_supported", 1),
                ("children", family.children),
                ("visits", seen),
                ("first_time_visits", first),
                ("family_days", days),
            ):
                counts["prison_activity", prison, column] += n
                behind["prison_activity", prison, column] += n > 0
        for region in {_region_of(p) for p in family.supported_at}:
            for need in family.needs:
                counts["region_needs", region, need] += 1
            behind["region_outcomes", region, "scored"] += family.scored
        members = family.children + family.adults
        for index in range(members):
            for table, columns in (
                ("national_ethnicity", ETHNIC_GROUPS),
                ("national_sex", ("female", "male", "not_stated")),
                ("national_disability", ("yes", "no", "not_stated")),
            ):
                counts[table, NATIONAL, columns[index % len(columns)]] += 1
    for prison, source in referrals:
        region = _region_of(prison)
        for key in (
            ("prison_activity", prison, "new_referrals"),
            ("region_referral_sources", region, source),
            ("region_referral_sources", region, "all_sources"),
        ):
            counts[key] += 1
    for region, completed in transfers.items():
        counts["region_transfers", region, "completed"] += completed
    for key, n in counts.items():
        behind.setdefault(key, n)
    return counts, behind


def published(
    counts: Counter[tuple[str, str, str]],
    behind: Counter[tuple[str, str, str]],
    extra: set[tuple[str, str, str]],
    rules: tuple[int, int],
) -> dict[tuple[str, str, str], Value]:
    """The counts under the rules: small ones suppressed with what describes them, the rest
    rounded half up; extra suppression only where a declared sum could call for it."""
    threshold, base = rules
    values: dict[tuple[str, str, str], Value] = {}
    for table, (dimension, columns, _) in CATALOGUE.items():
        rows = {"prison": PRISONS, "region": REGIONS, "national": [NATIONAL]}[dimension]
        for row, (column, measure) in itertools.product(rows, columns.items()):
            key = (table, row, column)
            if measure == "mean":
                enough = behind["region_outcomes", row, "scored"] >= threshold
                values[key] = 0.5 if enough else None
                continue
            if measure == "median":
                enough = behind["region_transfers", row, "completed"] >= threshold
                values[key] = 3 if enough else None
                continue
            small = counts[key] < threshold or behind[key] < threshold
            if table == "prison_activity":
                small |= counts[table, row, "families_supported"] < threshold
            if small or key in extra:
                values[key] = None
            else:
                values[key] = (counts[key] + base // 2) // base * base
    return values


SUMMED = sorted(
    [("prison_activity", p, "new_referrals") for p in PRISONS]
    + [
        ("region_referral_sources", r, s)
        for r, s in itertools.product(REGIONS, (*SOURCES, "all_sources"))
    ]
)


@settings(max_examples=25, deadline=None)
@given(
    world=families(),
    year_only=st.lists(st.integers(0, 4), max_size=4),
    referrals=st.lists(
        st.tuples(
            st.sampled_from(sorted(PRISONS)),
            st.sampled_from(SOURCES[:3]),
            st.sampled_from(["nepacs", "pact", "pops"]),
        ),
        max_size=60,
    ),
    transfers=st.tuples(st.integers(0, 14), st.integers(0, 14)),
    objecting_referrals=st.integers(0, 12),
    year_objectors=st.integers(0, 12),
    extra=st.sets(st.sampled_from(SUMMED), max_size=4),
    rules=st.sampled_from([(10, 5), (4, 2)]),
    reader=st.sampled_from([None, "pops", "pact"]),
)
def test_every_true_value_lies_in_the_range_the_reader_reports(
    world,
    year_only,
    referrals,
    transfers,
    objecting_referrals,
    year_objectors,
    extra,
    rules,
    reader,
):
    # A referral's case is the charity's only where it serves the prison.
    referrals = [(p, s, c) for p, s, c in referrals if c in PRISONS[p][1]]
    by_region = {"London": transfers[0], "North East": transfers[1]}
    owner = {"London": "pact", "North East": "pops"}  # whose cases the transfers were
    counts, behind = tally(world, [(p, s) for p, s, _ in referrals], by_region)
    # Members of families supported earlier in the year only.
    for index, members in enumerate(year_only):
        for table, columns in (
            ("national_ethnicity", ETHNIC_GROUPS),
            ("national_sex", ("female", "male", "not_stated")),
            ("national_disability", ("yes", "no", "not_stated")),
        ):
            for k in range(members):
                key = (table, NATIONAL, columns[(index + k) % len(columns)])
                counts[key] += 1
                behind[key] = counts[key]
    supported_objectors = sum(f.objects for f in world)
    excluded = {
        "prison_activity": supported_objectors + objecting_referrals,
        "region_needs": supported_objectors,
        "region_outcomes": supported_objectors,
        "region_referral_sources": objecting_referrals,
        "region_transfers": 0,
        # The year's objectors include the quarter's.
        **dict.fromkeys(BREAKDOWN_TABLES, supported_objectors + year_objectors),
    }
    threshold, base = rules
    shown = {
        t: None if n < threshold else (n + base // 2) // base * base for t, n in excluded.items()
    }
    released = [document(published(counts, behind, extra, rules), excluded=shown, rules=rules)]
    charity = None
    if reader is not None:
        mine = [f for f in world if f.charity == reader]
        own_transfers = {r: n for r, n in by_region.items() if owner[r] == reader}
        own_counts, _ = tally(mine, [(p, s) for p, s, c in referrals if c == reader], own_transfers)
        charity = Charity(reader, {cell(*key): n for key, n in own_counts.items()})

    truth = {cell(*key): n for key, n in counts.items()}
    truth |= {cell(t, "", "excluded_families"): n for t, n in excluded.items()}
    for found in read_releases(released, charity=charity):
        value = truth.get(found.cell, 0)
        assert found.low <= value, found
        assert found.high is None or value <= found.high, found
