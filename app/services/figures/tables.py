"""The aggregate queries behind each table of the catalogue, for the one charity whose context
is bound (app.services.figures.metrics binds each in turn).

Every statement here is a GROUP BY or a single aggregate: what comes back is one row per
non-empty cell (or, for the days to accept, per distinct number of days), never a row per family
or contact. app.domain.figures.catalogue.assemble fills in the zeros.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Date, Integer, case, cast, distinct, func, literal_column, select
from sqlalchemy.orm import Session

from app.domain.figures.catalogue import (
    ALL_SOURCES,
    NATIONAL,
    CellKey,
    Period,
    TableId,
    Tally,
    region_key,
)
from app.domain.vocabulary import ContactKind, MemberKind
from app.models import (
    Case,
    CaseNeed,
    CaseTransfer,
    Contact,
    EqualityMonitoring,
    FamilyMember,
    OutcomeAssessment,
    OutcomeScore,
    Prison,
)
from app.services.figures.population import (
    accepted_in,
    case_of,
    counted,
    in_episode,
    is_new_referral,
    is_supported,
    receiving_cases,
    supported_families,
)

Cells = dict[CellKey, Tally]
NOT_STATED = "not_stated"


def _add(cells: Cells, key: CellKey, tally: Tally) -> None:
    cells[key] = cells.get(key, Tally()) + tally


def _count_if(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _families_if(condition: Any) -> Any:
    return func.count(distinct(case((condition, Case.family_id))))


def _families(count: int) -> Tally:
    return Tally(count=count, families=count)


# --- prison x quarter ------------------------------------------------------------------------


def prison_activity(session: Session, period: Period) -> Cells:
    """Families supported, new referrals, children, visits, first-time visits and family days."""
    table = TableId.PRISON_ACTIVITY.value
    cells: Cells = {}
    visit = Contact.kind == ContactKind.VISIT.value
    first_time = visit & Contact.first_time_visitor.is_(True)
    family_day = Contact.kind == ContactKind.FAMILY_DAY.value
    contacts = session.execute(
        select(
            Case.prison_code,
            func.count(distinct(Case.family_id)),
            _count_if(visit),
            _families_if(visit),
            _count_if(first_time),
            _families_if(first_time),
            _count_if(family_day),
            _families_if(family_day),
        )
        .select_from(Contact)
        .join(Case, case_of(Contact))
        .where(in_episode(Contact.occurred_on, period.start, period.end), counted(period.end))
        .group_by(Case.prison_code)
    )
    for prison, families, *pairs in contacts:
        _add(cells, (table, prison, "families_supported"), _families(families))
        for column, (count, behind) in zip(
            ("visits", "first_time_visits", "family_days"),
            (pairs[0:2], pairs[2:4], pairs[4:6]),
            strict=True,
        ):
            _add(cells, (table, prison, column), Tally(int(count or 0), int(behind or 0)))
    children = session.execute(
        select(
            Case.prison_code,
            func.count(distinct(FamilyMember.id)),
            func.count(distinct(FamilyMember.family_id)),
        )
        .select_from(FamilyMember)
        .join(
            Case,
            (Case.charity_id == FamilyMember.charity_id)
            & (Case.family_id == FamilyMember.family_id),
        )
        .where(
            FamilyMember.kind == MemberKind.CHILD.value,
            is_supported(period),
            counted(period.end),
        )
        .group_by(Case.prison_code)
    )
    for prison, count, behind in children:
        _add(cells, (table, prison, "children"), Tally(count, behind))
    referrals = session.execute(
        select(Case.prison_code, func.count(Case.id), func.count(distinct(Case.family_id)))
        .where(is_new_referral(period), counted(period.end))
        .group_by(Case.prison_code)
    )
    for prison, count, behind in referrals:
        _add(cells, (table, prison, "new_referrals"), Tally(count, behind))
    return cells


# --- region x quarter ------------------------------------------------------------------------


def region_needs(session: Session, period: Period) -> Cells:
    """Families supported with each need, by the region of the case's prison."""
    table = TableId.REGION_NEEDS.value
    cells: Cells = {}
    rows = session.execute(
        select(Prison.region, CaseNeed.need, func.count(distinct(Case.family_id)))
        .select_from(CaseNeed)
        .join(Case, case_of(CaseNeed))
        .join(Prison, Prison.code == Case.prison_code)
        .where(is_supported(period), counted(period.end))
        .group_by(Prison.region, CaseNeed.need)
    )
    for region, need, families in rows:
        _add(cells, (table, region_key(region), need), _families(families))
    return cells


def region_referral_sources(session: Session, period: Period) -> Cells:
    """New referrals by source, by the region of the case's prison."""
    table = TableId.REGION_REFERRAL_SOURCES.value
    cells: Cells = {}
    rows = session.execute(
        select(
            Prison.region,
            Case.referral_source,
            func.count(Case.id),
            func.count(distinct(Case.family_id)),
        )
        .select_from(Case)
        .join(Prison, Prison.code == Case.prison_code)
        .where(is_new_referral(period), counted(period.end))
        .group_by(Prison.region, Case.referral_source)
    )
    for region, source, count, behind in rows:
        _add(cells, (table, region_key(region), source), Tally(count, behind))
    # The total has its own count of distinct families: a family referred twice from two
    # sources stands behind both, and counts once here.
    totals = session.execute(
        select(Prison.region, func.count(Case.id), func.count(distinct(Case.family_id)))
        .select_from(Case)
        .join(Prison, Prison.code == Case.prison_code)
        .where(is_new_referral(period), counted(period.end))
        .group_by(Prison.region)
    )
    for region, count, behind in totals:
        _add(cells, (table, region_key(region), ALL_SOURCES), Tally(count, behind))
    return cells


def _day_of(session: Session, moment: Any) -> Any:
    """The UTC calendar day of a timestamp, as a number of days one can subtract."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), moment), Date)
    # SQLite keeps UTC timestamps as ISO text (app.models.base.UTCDateTime).
    return func.julianday(func.date(moment))


def region_transfers(session: Session, period: Period, charity_id: uuid.UUID) -> Cells:
    """Transfers accepted in the period, for the receiving charity (``charity_id``, the bound
    context: the sender sees the same row and must not count it), by the receiving prison's
    region; and how many calendar days each took from offer to acceptance.

    The median needs every charity's values, and one charity's context sees only its own, so
    the days come back as a count per number of days (at most 91 of them per region: an offer
    lives 90 days at most, the check constraint on case_transfers), and the median is taken
    from the merged counts (app.domain.figures.catalogue.median_of). The same on both databases.
    """
    table = TableId.REGION_TRANSFERS.value
    cells: Cells = {}
    days = cast(
        _day_of(session, CaseTransfer.decided_at) - _day_of(session, CaseTransfer.offered_at),
        Integer,
    )
    accepted = (
        select(
            Prison.region.label("region"),
            days.label("days"),
            CaseTransfer.id.label("transfer_id"),
            Case.family_id.label("family_id"),
        )
        .select_from(CaseTransfer)
        .join(Case, receiving_cases())
        .join(Prison, Prison.code == CaseTransfer.receiver_prison_code)
        .where(
            CaseTransfer.receiver_charity_id == charity_id,
            accepted_in(period),
            counted(period.end),
        )
        .subquery("accepted")
    )
    rows = session.execute(
        select(
            accepted.c.region,
            accepted.c.days,
            func.count(accepted.c.transfer_id),
            func.count(distinct(accepted.c.family_id)),
        ).group_by(accepted.c.region, accepted.c.days)
    )
    for region, took, count, behind in rows:
        row = region_key(region)
        _add(cells, (table, row, "completed"), Tally(count, behind))
        _add(cells, (table, row, "days_to_accept"), Tally(count, behind, spread=((took, count),)))
    return cells


def region_outcomes(session: Session, period: Period) -> Cells:
    """Mean distance travelled per area: for each supported case and area scored at least twice
    in the case's own assessments up to the period's end, latest minus first score (ordered by
    date, then by when it was recorded); summed and counted per region and area."""
    table = TableId.REGION_OUTCOMES.value
    cells: Cells = {}
    each_case_and_area = (OutcomeAssessment.case_id, OutcomeScore.area)
    earliest_first = (OutcomeAssessment.assessed_on, OutcomeAssessment.created_at)
    ranked = (
        select(
            Case.id.label("case_id"),
            Case.family_id.label("family_id"),
            Case.prison_code.label("prison_code"),
            OutcomeScore.area.label("area"),
            OutcomeScore.score.label("score"),
            func.row_number()
            .over(
                partition_by=each_case_and_area,
                order_by=(*earliest_first, OutcomeAssessment.id),
            )
            .label("from_first"),
            func.row_number()
            .over(
                partition_by=each_case_and_area,
                order_by=(*(c.desc() for c in earliest_first), OutcomeAssessment.id.desc()),
            )
            .label("from_latest"),
        )
        .select_from(OutcomeScore)
        .join(
            OutcomeAssessment,
            (OutcomeAssessment.charity_id == OutcomeScore.charity_id)
            & (OutcomeAssessment.id == OutcomeScore.assessment_id),
        )
        .join(Case, case_of(OutcomeAssessment))
        .where(
            in_episode(OutcomeAssessment.assessed_on, None, period.end),
            is_supported(period),
            counted(period.end),
        )
        .subquery("ranked")
    )
    latest = func.max(case((ranked.c.from_latest == 1, ranked.c.score)))
    first = func.max(case((ranked.c.from_first == 1, ranked.c.score)))
    per_case = (
        select(
            ranked.c.family_id,
            ranked.c.prison_code,
            ranked.c.area,
            (latest - first).label("distance"),
        )
        .group_by(ranked.c.case_id, ranked.c.family_id, ranked.c.prison_code, ranked.c.area)
        .having(func.count() >= 2)
        .subquery("per_case")
    )
    rows = session.execute(
        select(
            Prison.region,
            per_case.c.area,
            func.count(),
            func.count(distinct(per_case.c.family_id)),
            func.sum(per_case.c.distance),
        )
        .select_from(per_case)
        .join(Prison, Prison.code == per_case.c.prison_code)
        .group_by(Prison.region, per_case.c.area)
    )
    for region, area, count, behind, total in rows:
        _add(cells, (table, region_key(region), area), Tally(count, behind, int(total or 0)))
    return cells


# --- national x year -------------------------------------------------------------------------

EQUALITY_TABLES = (
    (TableId.NATIONAL_ETHNICITY, EqualityMonitoring.ethnicity),
    (TableId.NATIONAL_SEX, EqualityMonitoring.sex),
    (TableId.NATIONAL_DISABILITY, EqualityMonitoring.disability),
)


def national_equality(session: Session, period: Period) -> Cells:
    """Family members of the families supported in the period, by each monitoring question;
    a member with no answers recorded counts as not stated."""
    cells: Cells = {}
    for table, question in EQUALITY_TABLES:
        members = (
            select(
                FamilyMember.id.label("member_id"),
                FamilyMember.family_id.label("family_id"),
                func.coalesce(question, NOT_STATED).label("answer"),
            )
            .select_from(FamilyMember)
            .outerjoin(
                EqualityMonitoring,
                (EqualityMonitoring.charity_id == FamilyMember.charity_id)
                & (EqualityMonitoring.family_member_id == FamilyMember.id),
            )
            .where(
                FamilyMember.family_id.in_(supported_families(period)),
                counted(period.end, FamilyMember.family_id),
            )
            .subquery("members")
        )
        rows = session.execute(
            select(
                members.c.answer,
                func.count(distinct(members.c.member_id)),
                func.count(distinct(members.c.family_id)),
            ).group_by(members.c.answer)
        )
        for answer, count, behind in rows:
            _add(cells, (table.value, NATIONAL, answer), Tally(count, behind))
    return cells
