"""The catalogue's unsuppressed figures (app.services.figures.metrics, DESIGN.md section 7), on SQLite and
PostgreSQL, from families seeded through the real use cases at POPS (Liverpool, Wakefield),
NEPACS (Durham) and Pact (Birmingham): every figure equals what was seeded, counted by hand
below; every prison, region and category is present with its zeros; a family that objected to
statistical use is left out and counted as excluded; a family seen in another quarter is not
counted; each charity's contribution holds only its own families; and the database answers
with aggregates only, never a row per family or contact.

The seeded quarter is 2026Q3 (1 July to 30 September 2026). Who is who:

POPS at LPI (North West)
  A  opened 3 Jul, self-referral, needs housing and visits, main contact and two children;
     a first-time visit 3 Jul, a visit 10 Aug, a family day 1 Sep; assessed 3 Jul (all 3),
     20 Sep (all 6 but well-being 2) and 10 Oct (after the quarter: not used).
  B  opened 10 Apr (Q2) by an offender manager, need finance, main contact and one child;
     calls 1 May and 15 Jul; assessed 1 May (all 4) and 15 Jul (all 6); said yes to statistics
     on 10 Apr and withdrew it on 2 Oct: counted in 2026Q3, excluded from the year 2026.
  C  opened 20 Jul by a school, need housing, main contact (with equality answers) and a
     child; a first-time visit 21 Jul; assessed twice; refused statistics on 21 Jul: excluded.
  D  opened 2 Apr by prison staff, need visits, main contact and a child; a first-time visit
     10 May; closed 15 Jun: seen only in Q2.
  E  opened 1 Jul, self-referral, need emotional wellbeing; one-to-one 2 Jul; yes to
     statistics 1 Jul, withdrawn 1 Aug: excluded.
  W  the world's Liverpool case (opened 2025): a visit 5 Jul, then transferred to NEPACS at
     Durham, offered 10 Aug, accepted 14 Aug (4 days), its contacts going with it.
POPS at WDI (Yorkshire and The Humber)
  F  opened 1 Aug by prison staff, needs emotional wellbeing and family contact, main contact
     and a child; one-to-one 2 Aug, first-time visit 5 Aug.
  G  opened 7 Jul by another agency, no contact; transferred to NEPACS at Durham, offered
     1 Sep, accepted 8 Sep (7 days).
NEPACS at DMI (North East)
  H  opened 10 Jul by children's services, needs child concern and housing, main contact and
     two children; first-time visit 11 Jul, family day 20 Aug; assessed 11 Jul (all 2) and
     15 Sep (all 7); yes to statistics.
  I  opened 12 Jul, self-referral, main contact; a call 13 Jul; refused statistics 12 Jul,
     then said yes 1 Aug: counted.
  W' W as received (opened 14 Aug by transfer): a call 2 Sep. Its copied visit of 5 Jul is
     before it opened: counted once, for POPS.
  G' G as received: no contact.
Pact at BMI (West Midlands)
  J  opened 10 Sep, self-referral, need visits, main contact; a visit 10 Sep.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from sqlalchemy import distinct, event, select

from app.domain.consent import objects_to_statistics
from app.domain.figures.catalogue import (
    ALL_SOURCES,
    NATIONAL,
    REGION_NOT_RECORDED,
    CellKey,
    Dimension,
    Quarter,
    TableId,
    Tally,
    Year,
)
from app.domain.vocabulary import (
    ConsentDecision,
    Disability,
    Ethnicity,
    ReferralSource,
    Sex,
)
from app.models import Base, Case, ConsentRecord, Prison
from app.services.cases.consents import consent_facts
from app.services.figures.metrics import counting_context, quarter_figures, year_figures
from app.services.figures.population import objecting_families
from tenants.guard import bind_tenant
from tenants.model import is_shared_table, is_tenant_table
from tests.support.figures import (
    AREAS,
    d,
    open_family,
    statistics,
    withdraw,
)

Q2, Q3 = Quarter(2026, 2), Quarter(2026, 3)
YEAR = Year(2026)
PRISONS_SERVED = ("BMI", "DMI", "LPI", "WDI")

PRISON = TableId.PRISON_ACTIVITY.value
NEEDS = TableId.REGION_NEEDS.value
SOURCES = TableId.REGION_REFERRAL_SOURCES.value
TRANSFERS = TableId.REGION_TRANSFERS.value
OUTCOMES = TableId.REGION_OUTCOMES.value
ETHNICITY = TableId.NATIONAL_ETHNICITY.value
SEX = TableId.NATIONAL_SEX.value
DISABILITY = TableId.NATIONAL_DISABILITY.value
NORTH_WEST, YORKSHIRE = "North West", "Yorkshire and The Humber"
NORTH_EAST, WEST_MIDLANDS = "North East", "West Midlands"


def non_zero(cells) -> dict[CellKey, Tally]:
    return {key: tally for key, tally in cells.items() if tally != Tally()}


def each_area(total: int, count: int = 1, families: int = 1, **other: int) -> dict:
    return {area: Tally(count, families, other.get(area, total)) for area in AREAS}


# What each charity's families add up to in 2026Q3, counted by hand from the story above.
POPS_Q3: dict[CellKey, Tally] = {
    # LPI: A, B and W supported (C and E object, D was Q2); A is the one new referral.
    (PRISON, "LPI", "families_supported"): Tally(3, 3),
    (PRISON, "LPI", "new_referrals"): Tally(1, 1),
    (PRISON, "LPI", "children"): Tally(3, 2),  # A's two, B's one
    (PRISON, "LPI", "visits"): Tally(3, 2),  # A's two, W's one
    (PRISON, "LPI", "first_time_visits"): Tally(1, 1),
    (PRISON, "LPI", "family_days"): Tally(1, 1),
    # WDI: F supported; F and G new.
    (PRISON, "WDI", "families_supported"): Tally(1, 1),
    (PRISON, "WDI", "new_referrals"): Tally(2, 2),
    (PRISON, "WDI", "children"): Tally(1, 1),
    (PRISON, "WDI", "visits"): Tally(1, 1),
    (PRISON, "WDI", "first_time_visits"): Tally(1, 1),
    (NEEDS, NORTH_WEST, "housing"): Tally(1, 1),
    (NEEDS, NORTH_WEST, "visits"): Tally(1, 1),
    (NEEDS, NORTH_WEST, "finance"): Tally(1, 1),
    (NEEDS, YORKSHIRE, "emotional_wellbeing"): Tally(1, 1),
    (NEEDS, YORKSHIRE, "family_contact"): Tally(1, 1),
    (SOURCES, NORTH_WEST, "self"): Tally(1, 1),
    (SOURCES, YORKSHIRE, "prison_staff"): Tally(1, 1),
    (SOURCES, YORKSHIRE, "other_agency"): Tally(1, 1),
    # All sources: each region's new referrals once, whatever their source.
    (SOURCES, NORTH_WEST, ALL_SOURCES): Tally(1, 1),
    (SOURCES, YORKSHIRE, ALL_SOURCES): Tally(2, 2),
    # A travelled 6 - 3 (well-being 2 - 3), B 6 - 4.
    **{
        (OUTCOMES, NORTH_WEST, area): tally
        for area, tally in each_area(3 + 2, count=2, families=2, well_being=-1 + 2).items()
    },
}
NEPACS_Q3: dict[CellKey, Tally] = {
    # DMI: H, I and W' supported; H and I new (W' and G' came by transfer).
    (PRISON, "DMI", "families_supported"): Tally(3, 3),
    (PRISON, "DMI", "new_referrals"): Tally(2, 2),
    (PRISON, "DMI", "children"): Tally(2, 1),
    (PRISON, "DMI", "visits"): Tally(1, 1),
    (PRISON, "DMI", "first_time_visits"): Tally(1, 1),
    (PRISON, "DMI", "family_days"): Tally(1, 1),
    (NEEDS, NORTH_EAST, "child_concern"): Tally(1, 1),
    (NEEDS, NORTH_EAST, "housing"): Tally(1, 1),
    (SOURCES, NORTH_EAST, "childrens_services"): Tally(1, 1),
    (SOURCES, NORTH_EAST, "self"): Tally(1, 1),
    (SOURCES, NORTH_EAST, ALL_SOURCES): Tally(2, 2),
    # W took 4 days, G 7: received by NEPACS in the North East.
    (TRANSFERS, NORTH_EAST, "completed"): Tally(2, 2),
    (TRANSFERS, NORTH_EAST, "days_to_accept"): Tally(2, 2, spread=((4, 1), (7, 1))),
    **{(OUTCOMES, NORTH_EAST, area): tally for area, tally in each_area(7 - 2).items()},
}
PACT_Q3: dict[CellKey, Tally] = {
    (PRISON, "BMI", "families_supported"): Tally(1, 1),
    (PRISON, "BMI", "new_referrals"): Tally(1, 1),
    (PRISON, "BMI", "visits"): Tally(1, 1),
    (NEEDS, WEST_MIDLANDS, "visits"): Tally(1, 1),
    (SOURCES, WEST_MIDLANDS, "self"): Tally(1, 1),
    (SOURCES, WEST_MIDLANDS, ALL_SOURCES): Tally(1, 1),
}
# The year 2026: members of families supported in the year and not objecting on 31 December.
# POPS: A (3 members), D (2), W (none), F (2); B withdrew in October, C and E object.
POPS_2026: dict[CellKey, Tally] = {
    (ETHNICITY, NATIONAL, "white_british"): Tally(1, 1),
    (ETHNICITY, NATIONAL, "black_caribbean"): Tally(1, 1),
    (ETHNICITY, NATIONAL, "asian_indian"): Tally(1, 1),
    (ETHNICITY, NATIONAL, "not_stated"): Tally(4, 3),  # A's second child, D's two, F's child
    (SEX, NATIONAL, "female"): Tally(2, 2),
    (SEX, NATIONAL, "male"): Tally(1, 1),
    (SEX, NATIONAL, "not_stated"): Tally(4, 3),
    (DISABILITY, NATIONAL, "no"): Tally(1, 1),
    (DISABILITY, NATIONAL, "yes"): Tally(1, 1),
    (DISABILITY, NATIONAL, "not_stated"): Tally(5, 3),  # A's first child answered "not stated"
}
# NEPACS: H (3 members), I (1), W' (no member crossed).
NEPACS_2026: dict[CellKey, Tally] = {
    (ETHNICITY, NATIONAL, "black_african"): Tally(1, 1),
    (ETHNICITY, NATIONAL, "not_stated"): Tally(3, 2),
    (SEX, NATIONAL, "male"): Tally(1, 1),
    (SEX, NATIONAL, "not_stated"): Tally(3, 2),
    (DISABILITY, NATIONAL, "no"): Tally(1, 1),
    (DISABILITY, NATIONAL, "not_stated"): Tally(3, 2),
}
PACT_2026: dict[CellKey, Tally] = {
    (table, NATIONAL, "not_stated"): Tally(1, 1) for table in (ETHNICITY, SEX, DISABILITY)
}


def test_each_charitys_quarter_figures_are_exactly_its_own_seeded_families(seeded, app_sessions):
    with app_sessions() as session:
        figures = quarter_figures(session, Q3)
    assert non_zero(figures.of(seeded.pops).cells) == POPS_Q3
    assert non_zero(figures.of(seeded.nepacs).cells) == NEPACS_Q3
    assert non_zero(figures.of(seeded.pact).cells) == PACT_Q3


def test_the_quarter_totals_are_the_sum_of_the_charities_with_means_and_medians_combined(
    seeded, app_sessions
):
    with app_sessions() as session:
        figures = quarter_figures(session, Q3)
    total = figures.total()
    expected: dict[CellKey, Tally] = {}
    for part in (POPS_Q3, NEPACS_Q3, PACT_Q3):
        for key, tally in part.items():
            expected[key] = expected.get(key, Tally()) + tally
    assert non_zero(total) == expected
    assert total[(TRANSFERS, NORTH_EAST, "days_to_accept")].median == 5.5
    assert total[(OUTCOMES, NORTH_WEST, "well_being")].mean == 0.5
    assert total[(OUTCOMES, NORTH_WEST, "routine")].mean == 2.5
    assert total[(OUTCOMES, NORTH_EAST, "routine")].mean == 5


def test_every_prison_served_every_region_and_every_category_is_present_zero_included(
    seeded, app_sessions
):
    with app_sessions() as session:
        figures = quarter_figures(session, Q3)
        regions = {
            region or REGION_NOT_RECORDED for region in session.scalars(select(Prison.region))
        }
    assert figures.rows[Dimension.PRISON] == PRISONS_SERVED
    assert set(figures.rows[Dimension.REGION]) == regions
    assert len(regions) == 11  # nine English regions, Wales, and closed prisons without one
    for contribution in figures.contributions:
        assert list(contribution.cells) == list(figures.keys)
    tables = {t.id.value: t for t in figures.tables}
    for table_id, row, column in figures.keys:
        assert row in figures.rows[tables[table_id].dimension]
        assert column in {c.key for c in tables[table_id].columns}
    assert figures.total()[(PRISON, "BMI", "children")] == Tally()
    assert figures.total()[(SOURCES, "Wales", "school")] == Tally()
    assert figures.total()[(OUTCOMES, "London", "work")] == Tally()
    assert figures.total()[(TRANSFERS, REGION_NOT_RECORDED, "days_to_accept")].median is None
    assert {c.charity_id for c in figures.contributions} == {
        seeded.pops,
        seeded.nepacs,
        seeded.pact,
    }


def test_families_objecting_to_statistics_are_left_out_and_counted_as_excluded(
    seeded, app_sessions
):
    with app_sessions() as session:
        quarter = quarter_figures(session, Q3)
        year = year_figures(session, YEAR)
    # C refused and E withdrew its yes, both supported and newly referred at LPI in Q3.
    assert quarter.of(seeded.pops).excluded == {
        PRISON: 2,
        NEEDS: 2,
        SOURCES: 2,
        TRANSFERS: 0,
        OUTCOMES: 2,
    }
    assert set(quarter.of(seeded.nepacs).excluded.values()) == {0}  # I said yes after a no
    assert quarter.excluded()[PRISON] == 2
    # B's withdrawal on 2 October counts by the year's end: B, C and E.
    assert year.of(seeded.pops).excluded == {ETHNICITY: 3, SEX: 3, DISABILITY: 3}
    assert year.excluded() == {ETHNICITY: 3, SEX: 3, DISABILITY: 3}
    # C's main contact answered "White: Irish"; nobody else did.
    assert year.total()[(ETHNICITY, NATIONAL, "white_irish")] == Tally()
    assert quarter.total()[(SOURCES, NORTH_WEST, "school")] == Tally()


def test_the_year_counts_members_of_families_supported_in_any_of_its_quarters(seeded, app_sessions):
    with app_sessions() as session:
        figures = year_figures(session, YEAR)
    assert [t.id.value for t in figures.tables] == [ETHNICITY, SEX, DISABILITY]
    assert figures.rows == {Dimension.NATIONAL: (NATIONAL,)}
    assert non_zero(figures.of(seeded.pops).cells) == POPS_2026
    assert non_zero(figures.of(seeded.nepacs).cells) == NEPACS_2026
    assert non_zero(figures.of(seeded.pact).cells) == PACT_2026
    assert len(figures.keys) == len(Ethnicity) + len(Sex) + len(Disability)


def test_a_family_seen_only_in_another_quarter_counts_there_and_not_here(seeded, app_sessions):
    with app_sessions() as session:
        second = quarter_figures(session, Q2)
    pops = non_zero(second.of(seeded.pops).cells)
    # Q2 at LPI: B (a call on 1 May) and D (a first-time visit on 10 May), both new.
    assert {key: tally for key, tally in pops.items() if key[0] == PRISON} == {
        (PRISON, "LPI", "families_supported"): Tally(2, 2),
        (PRISON, "LPI", "new_referrals"): Tally(2, 2),
        (PRISON, "LPI", "children"): Tally(2, 2),
        (PRISON, "LPI", "visits"): Tally(1, 1),
        (PRISON, "LPI", "first_time_visits"): Tally(1, 1),
    }
    # B had one assessment by the end of Q2: no distance yet.
    assert not [key for key in pops if key[0] == OUTCOMES]
    assert non_zero(second.of(seeded.nepacs).cells) == {}
    assert second.excluded()[PRISON] == 0


def test_a_quarter_with_no_families_is_a_complete_grid_of_zeros(seeded, app_sessions):
    with app_sessions() as session:
        figures = quarter_figures(session, Quarter(2024, 1))
    assert non_zero(figures.total()) == {}
    assert figures.rows[Dimension.PRISON] == PRISONS_SERVED  # the world's services began 2020
    assert len(figures.keys) == len(figures.total())


# --- the queries are aggregates --------------------------------------------------------------

CASE_TABLES = [
    table.name
    for table in Base.metadata.sorted_tables
    if is_tenant_table(table) or is_shared_table(table)
]
_AGGREGATE_ITEM = re.compile(r"^(count|sum|max|min)\s*\[\](\s+AS\s+\w+)?$", re.IGNORECASE)


def _outside_brackets(sql: str) -> str:
    """The statement with every bracketed part (subqueries, function arguments) taken out,
    innermost first, each leaving ``[]`` behind."""
    flat = sql
    while True:
        shorter = re.sub(r"\([^()]*\)", "[]", flat)
        if shorter == flat:
            return flat
        flat = shorter


def is_aggregate(sql: str) -> bool:
    """A GROUP BY at the top level, or a top-level select list of aggregates only."""
    top = " ".join(_outside_brackets(sql).split())
    if re.search(r"\bGROUP BY\b", top):
        return True
    select_list = re.match(r"SELECT (.*?) FROM ", top)
    return select_list is not None and all(
        _AGGREGATE_ITEM.match(item.strip()) for item in select_list.group(1).split(",")
    )


@contextmanager
def statements(app) -> Iterator[list[str]]:
    engine = app.extensions["continuum"].engine
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_aggregate_check_tells_a_count_from_a_list_of_rows():
    assert is_aggregate("SELECT cases.prison_code, count(cases.id) FROM cases GROUP BY cases.x")
    assert is_aggregate("SELECT count(DISTINCT CASE WHEN (a) THEN b END) AS c FROM cases")
    assert not is_aggregate("SELECT cases.id FROM cases WHERE cases.id IN (SELECT 1 GROUP BY 1)")
    assert not is_aggregate("SELECT cases.family_id, count(x) FROM cases")
    assert not is_aggregate("SELECT a.id FROM (SELECT count(x) AS n FROM (b) GROUP BY y) AS a")


def test_every_statement_on_a_case_table_is_an_aggregate_and_their_number_is_fixed(
    seeded, app, app_sessions
):
    with statements(app) as seen, app_sessions() as session:
        quarter_figures(session, Q3)
        year_figures(session, YEAR)
    on_cases = [sql for sql in seen if any(re.search(rf"\b{name}\b", sql) for name in CASE_TABLES)]
    assert on_cases
    assert [sql for sql in on_cases if not is_aggregate(sql)] == []
    with statements(app) as again, app_sessions() as session:
        quarter_figures(session, Quarter(2024, 1))
        year_figures(session, Year(2024))
    # The same statements whatever the data: nothing is asked per family or per contact.
    assert len(again) == len(seen)


# --- the objection rule in SQL against the domain's rule --------------------------------------


def test_the_sql_objection_agrees_with_the_domain_rule_on_generated_consent_histories(
    desk, world, app_sessions
):
    """Random statistics consent histories (yes, no, withdrawal of a yes, several on one day),
    written through record_consent and withdraw_consent at Liverpool: on every day checked, the
    families the SQL finds objecting are exactly those objects_to_statistics says object."""
    chance = random.Random(20260930)
    worker = desk("pops_liverpool")
    first_day = d(1, 5)
    family_cases: list[uuid.UUID] = []
    for _ in range(18):
        family = open_family(worker, "LPI", first_day, ReferralSource.SELF, main_contact=False)
        family_cases.append(family.case_id)
        given: list[tuple[uuid.UUID, date]] = []
        for _ in range(chance.randint(0, 4)):
            day = first_day + timedelta(days=chance.choice((0, 10, 40, 90, 91, 180, 250)))
            if given and chance.random() < 0.35:
                consent_id, since = given.pop(chance.randrange(len(given)))
                withdraw(worker, family.case_id, consent_id, max(day, since))
                continue
            decision = chance.choice((ConsentDecision.GIVEN, ConsentDecision.REFUSED))
            record = statistics(worker, family.case_id, decision, day)
            if decision is ConsentDecision.GIVEN:
                given.append((record.id, day))
    checked_days = [quarter.end for quarter in Year(2026).quarters()] + [
        first_day + timedelta(days=n) for n in (0, 9, 10, 11, 90, 91, 180, 250)
    ]
    with app_sessions() as session:
        bind_tenant(session, counting_context(session, world.organisations["pops"]))
        by_family: dict[uuid.UUID, list[ConsentRecord]] = {}
        for case_id in family_cases:
            case = session.get_one(Case, case_id)
            by_family[case.family_id] = list(
                session.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case_id))
            )
        objections_seen = 0
        for day in checked_days:
            objecting = objecting_families(day).subquery()
            found = set(session.scalars(select(distinct(objecting.c.family_id))))
            expected = {
                family_id
                for family_id, records in by_family.items()
                if objects_to_statistics([consent_facts(r) for r in records], day)
            }
            assert found == expected, day
            objections_seen += len(expected)
    assert objections_seen > 0
