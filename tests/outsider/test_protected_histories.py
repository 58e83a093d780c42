"""The product's protector against the independent reader on generated histories (issue 12):
no reader pins a suppressed figure of any release the protector lets out, revisions included.

Each example is a small world of families at five prisons in four served regions and one region
no member serves (Wales): a single-prison region (North East), a region one charity serves alone
(North West), a prison two charities served in turn (HMP Pentonville, London), counts near the
threshold, families at two prisons, objectors, outcome scores and transfers. Two quarters are
counted from it by the definitions of docs/metrics.md, each release is drafted, protected
against every earlier one and published as the product does (app.domain: ``draft_release``,
``protect_release``, ``release_document``, the protection state kept between builds); then,
sometimes, one late family is added and the second quarter is revised with ``link_revision``.
The reader (tests/outsider/reader.py, which imports nothing from ``app/``) reads the documents
as an outsider, or as one charity knowing its own contribution to every cell, told exactly what
the revision changed; it must find every document consistent with the definitions and pin
nothing.

What is counted here is this test's own reading of the definitions, apart from the product's SQL
(app/services/figures/metrics.py): the world only has to be one the definitions allow.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from app.domain.figures.catalogue import (
    ALL_SOURCES,
    NATIONAL,
    QUARTER_TABLES,
    YEAR_TABLES,
    Dimension,
    Figures,
    Tally,
    assemble,
    outcome_areas,
)
from app.domain.figures.disclosure.control import (
    DisclosureRules,
    PublishedRelease,
    Records,
    protect_release,
)
from app.domain.figures.periods import Quarter, YearEnding
from app.domain.figures.release.document import (
    Labels,
    Revision,
    history_from_state,
    merge_knowledge,
    protection_state,
    release_document,
)
from app.domain.figures.release.draft import (
    PublicFacts,
    ReleaseFigures,
    draft_release,
    link_revision,
    release_prefix,
)
from app.domain.vocabulary import Disability, Ethnicity, Need, ReferralSource, Sex
from tests.outsider.reader import Cell, Charity, Contradiction, pinned, read_releases
from tests.outsider.records import cells_of, release_name, share, totals

# Minutes, not seconds: CI runs them always; a quick local run may leave them out with
# -m 'not end_to_end' (docs/testing.md).
pytestmark = pytest.mark.end_to_end

CHARITIES = {uuid.UUID(int=1): "nepacs", uuid.UUID(int=2): "pact", uuid.UUID(int=3): "pops"}
BY_SLUG = {slug: charity_id for charity_id, slug in CHARITIES.items()}
PRISONS = {
    "DMI": "North East",
    "LPI": "North West",
    "RSI": "North West",
    "PVI": "London",
    "BMI": "West Midlands",
}
SERVERS = {
    "DMI": frozenset({"nepacs"}),
    "LPI": frozenset({"pops"}),
    "RSI": frozenset({"pops"}),
    "PVI": frozenset({"pact", "pops"}),
    "BMI": frozenset({"pact"}),
}
REGIONS = ("London", "North East", "North West", "Wales", "West Midlands")
FACTS = PublicFacts(PRISONS, SERVERS)
LABELS = Labels(
    {code: f"HMP {code}" for code in PRISONS},
    PRISONS,
    SERVERS,
    {slug: slug.upper() for slug in CHARITIES.values()},
)
QUARTERS = (Quarter(2026, 2), Quarter(2026, 3))
RULES = DisclosureRules()
NEEDS = tuple(need.value for need in Need)[:3]
SOURCES = tuple(source.value for source in ReferralSource)
AREAS = tuple(code for code, _ in outcome_areas())
ANSWERS = {
    "national_ethnicity": tuple(e.value for e in Ethnicity),
    "national_sex": tuple(s.value for s in Sex),
    "national_disability": tuple(d.value for d in Disability),
}


@dataclass(frozen=True)
class Family:
    charity: str
    prisons: tuple[str, ...]  # where its cases are, the first where it was referred
    quarters: frozenset[int]  # which of QUARTERS it was supported in
    referred: int | None  # the quarter its first case was newly referred in
    source: str
    needs: frozenset[str]
    children: int
    adults: int
    answers: int  # where in each breakdown's answers its members start
    contacts: tuple[int, int, int]  # visits, first-time visits, family days, each quarter
    distance: int | None  # outcome distance travelled in every area, if scored twice
    objects: bool


@st.composite
def one_family(draw: st.DrawFn) -> Family:
    charity = draw(st.sampled_from(sorted(BY_SLUG)))
    served = sorted(code for code, by in SERVERS.items() if charity in by)
    seen = draw(st.integers(0, 3))
    return Family(
        charity=charity,
        prisons=tuple(draw(st.lists(st.sampled_from(served), min_size=1, max_size=2, unique=True))),
        quarters=frozenset(draw(st.sets(st.sampled_from((0, 1)), min_size=1))),
        referred=draw(st.sampled_from((None, 0, 1))),
        source=draw(st.sampled_from(SOURCES[:3])),
        needs=frozenset(draw(st.sets(st.sampled_from(NEEDS)))),
        children=draw(st.integers(0, 3)),
        adults=draw(st.integers(0, 2)),
        answers=draw(st.integers(0, 20)),
        contacts=(seen, draw(st.integers(0, seen)), draw(st.integers(0, 1))),
        distance=draw(st.one_of(st.none(), st.integers(-2, 5))),
        objects=draw(st.integers(0, 6)) == 0,
    )


@st.composite
def families(draw: st.DrawFn) -> list[Family]:
    world = []
    for _ in range(draw(st.integers(0, 30))):
        # A family repeated: enough families at a prison to publish it, and near the threshold.
        world += [draw(one_family())] * draw(st.sampled_from((1, 2, 5, 11)))
    return world


Cells = dict[tuple[str, str, str], Tally]


def _add(cells: Cells, key: tuple[str, str, str], count: int, families: int = 1) -> None:
    if count:
        cells[key] = cells.get(key, Tally()) + Tally(count, families)


def _quarter(world: Sequence[Family], index: int, transfers: Mapping[str, int]) -> Figures:
    """The quarter's tables, each charity's tallies counted by the definitions."""
    found: dict[uuid.UUID, tuple[Cells, dict[str, int]]] = {}
    for charity_id, slug in CHARITIES.items():
        cells: Cells = {}
        supported = set()
        referred = set()
        for number, family in enumerate(world):
            if family.charity != slug:
                continue
            if index in family.quarters:
                supported.add(number)
            if family.referred == index:
                referred.add(number)
            if family.objects:
                continue
            if family.referred == index:
                prison = family.prisons[0]
                region = PRISONS[prison]
                _add(cells, ("prison_activity", prison, "new_referrals"), 1)
                _add(cells, ("region_referral_sources", region, family.source), 1)
                _add(cells, ("region_referral_sources", region, ALL_SOURCES), 1)
            if index not in family.quarters:
                continue
            for prison in family.prisons:
                _add(cells, ("prison_activity", prison, "families_supported"), 1)
                _add(cells, ("prison_activity", prison, "children"), family.children)
                for column, count in zip(
                    ("visits", "first_time_visits", "family_days"), family.contacts, strict=True
                ):
                    _add(cells, ("prison_activity", prison, column), count)
            for region in {PRISONS[p] for p in family.prisons}:
                for need in family.needs:
                    _add(cells, ("region_needs", region, need), 1)
                if family.distance is not None:
                    for area in AREAS:
                        key = ("region_outcomes", region, area)
                        cells[key] = cells.get(key, Tally()) + Tally(1, 1, family.distance)
        for region, completed in transfers.items():
            # Received by one charity serving the region's first prison.
            first = min(p for p in PRISONS if PRISONS[p] == region)
            if completed and slug == min(SERVERS[first]):
                cells["region_transfers", region, "completed"] = Tally(completed, completed)
                cells["region_transfers", region, "days_to_accept"] = Tally(
                    completed, completed, spread=((3, completed),)
                )
        objecting = {n for n in supported | referred if world[n].objects}
        excluded = {
            "prison_activity": len(objecting),
            "region_needs": len(objecting & supported),
            "region_outcomes": len(objecting & supported),
            "region_referral_sources": len(objecting & referred),
            "region_transfers": 0,
        }
        found[charity_id] = (cells, excluded)
    rows = {Dimension.PRISON: tuple(sorted(PRISONS)), Dimension.REGION: REGIONS}
    return assemble(QUARTERS[index], QUARTER_TABLES, rows, found)


def _year(world: Sequence[Family], index: int) -> Figures:
    """The year ending with the quarter: every member of the families supported in it, once in
    each breakdown (the answers start at the family's own place and go round)."""
    found: dict[uuid.UUID, tuple[Cells, dict[str, int]]] = {}
    for charity_id, slug in CHARITIES.items():
        cells: Cells = {}
        objecting = 0
        for family in world:
            if family.charity != slug or not any(q <= index for q in family.quarters):
                continue
            if family.objects:
                objecting += 1
                continue
            for table, answers in ANSWERS.items():
                members: Counter[str] = Counter(
                    answers[(family.answers + k) % len(answers)]
                    for k in range(family.children + family.adults)
                )
                for answer, count in members.items():
                    _add(cells, (table, NATIONAL, answer), count)
        found[charity_id] = (cells, dict.fromkeys(ANSWERS, objecting))
    return assemble(
        YearEnding(QUARTERS[index]), YEAR_TABLES, {Dimension.NATIONAL: (NATIONAL,)}, found
    )


@dataclass
class Publisher:
    """Builds releases one after another as the service does, keeping what it keeps."""

    history: list[PublishedRelease]
    known: dict[str, Records]
    documents: list[dict[str, Any]]
    parts: list[tuple[Figures, Figures]]

    def publish(self, index: int, revision: int, quarterly: Figures, yearly: Figures) -> None:
        quarter = QUARTERS[index]
        figures = ReleaseFigures(quarter, revision, quarterly, yearly, CHARITIES)
        draft, knowledge = draft_release(figures, FACTS)
        if revision > 1:
            revised = self.history[-1]
            draft = link_revision(draft, revised, self.known)
        protected = protect_release(
            draft, self.history, RULES, merge_knowledge(self.known, knowledge)
        )
        reason = "one family supported in the quarter, recorded late" if revision > 1 else None
        self.documents.append(
            release_document(
                quarter,
                Revision(revision, "an-earlier-release" if revision > 1 else None, reason),
                release_prefix(quarter, revision),
                (quarterly, yearly),
                protected.published,
                LABELS,
            )
        )
        self.parts.append((quarterly, yearly))
        # What the next build reads back: the stored protection state, not the objects.
        kept, known = history_from_state(protection_state(protected.published, knowledge))
        self.history.append(kept)
        self.known = merge_knowledge(self.known, known)


def _changes(documents: Sequence[Mapping[str, Any]], parts: Sequence[tuple[Figures, Figures]]):
    """Every count of the revision minus the same count of the release it revises: what a
    reader told the reason knows at most."""
    before = cells_of(documents[-2], totals(parts[-2]))
    after = cells_of(documents[-1], totals(parts[-1]))
    name = release_name(documents[-2])
    return {
        cell: value - before[Cell(name, cell.table, cell.row, cell.column)]
        for cell, value in after.items()
    }


# Two small prisons of one region (6 families each, HMP Liverpool and HMP Risley, POPS alone),
# all 12 with one need: a published 10 with that need would prove both prisons present.
TWO_SMALL_PRISONS = [
    Family(
        "pops",
        (prison,),
        frozenset({0, 1}),
        None,
        SOURCES[0],
        frozenset({NEEDS[0]}),
        0,
        1,
        0,
        (0, 0, 0),
        None,
        False,
    )
    for prison in ("LPI", "RSI")
    for _ in range(6)
]


@example(world=TWO_SMALL_PRISONS, late=None, transfers=(0, 0), reader=None)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    world=families(),
    late=st.one_of(st.none(), one_family()),
    transfers=st.tuples(st.integers(0, 14), st.integers(0, 14)),
    reader=st.sampled_from([None, *sorted(BY_SLUG)]),
)
def test_no_reader_pins_a_figure_the_protector_let_out(world, late, transfers, reader):
    moved = {"London": transfers[0], "North West": transfers[1]}
    publisher = Publisher([], {}, [], [])
    for index in range(len(QUARTERS)):
        publisher.publish(index, 1, _quarter(world, index, moved), _year(world, index))
    changes = {}
    if late is not None:
        # Recorded late: supported in the second quarter only, so the first stays as it was.
        late = replace(late, quarters=frozenset({1}), referred=None)
        revised = [*world, late]
        last = len(QUARTERS) - 1
        publisher.publish(last, 2, _quarter(revised, last, moved), _year(revised, last))
        changes = _changes(publisher.documents, publisher.parts)

    shown = [
        value is not None
        for document in publisher.documents
        for table in document["tables"]
        for row in table["rows"]
        if not row.get("no_member_service")
        for value in row["values"].values()
    ]
    event(f"published: {10 * sum(shown) // len(shown) * 10}% or more of the served cells")
    event("revised" if late is not None else "not revised")
    charity = None
    if reader is not None:
        own = {}
        for document, parts in zip(publisher.documents, publisher.parts, strict=True):
            own |= cells_of(document, share(parts, BY_SLUG[reader]))
        charity = Charity(reader, own)
    try:
        found = pinned(read_releases(publisher.documents, changes=changes, charity=charity))
    except Contradiction as exc:  # the product broke a rule, or the reader assumes too much
        raise AssertionError(str(exc)) from exc
    assert not found, [f"{r.cell}: {r.pinned}" for r in found]
