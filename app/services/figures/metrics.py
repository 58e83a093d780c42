"""The catalogue's unsuppressed figures for one period, computed in the database, charity by
charity (DESIGN.md section 7; what each figure counts: app.domain.figures.catalogue).

Reading every charity's case tables is part of building a release, a named system operation: the
release builder calls this, audits it, and passes what it returns to disclosure control. Nothing
else may: these are exact counts, and they never leave the builder unsuppressed.

The walls stay up while it reads. For each charity in turn the session acts for that charity
alone (``tenants.system.acting_for``), with every prison it serves or has served, so the ORM
guard scopes every statement to it and, on PostgreSQL, row-level security shows that charity's
rows only. Each charity's tallies are kept apart (disclosure control needs each charity's own
contribution, since a charity knows its own families) and summed by the domain.

Only aggregates come back from the database (app.services.figures.tables): no row per family,
case or contact is ever loaded to be counted in Python.

The caller's session is used as it is: ``acting_for`` flushes it and empties its identity map on
the way in and out. For every charity's figures to come from one snapshot, the caller runs this
in one transaction, on PostgreSQL at REPEATABLE READ (a release is built that way).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain.figures.catalogue import (
    NATIONAL,
    QUARTER_TABLES,
    YEAR_TABLES,
    CellKey,
    Dimension,
    Figures,
    Quarter,
    Tally,
    Year,
    YearEnding,
    assemble,
    region_rows,
)
from app.models import Prison, Service
from app.services.figures import population, tables
from app.services.platform.reference import charities, prisons_ever_served
from tenants.context import TenantContext
from tenants.permissions import Role
from tenants.system import acting_for

# One charity's non-empty cells, and the families each table left out.
Counted = tuple[dict[CellKey, Tally], dict[str, int]]


def counting_context(session: Session, charity_id: uuid.UUID) -> TenantContext:
    """The context a count runs under for one charity: every prison whose case records it may
    hold. The role is the one other per-charity system jobs use (transfer expiry); nothing here
    asks it for a permission."""
    return TenantContext(
        charity_id, frozenset(prisons_ever_served(session, charity_id)), Role.SITE_MANAGER
    )


def prisons_served_in(session: Session, period: Quarter | Year) -> tuple[str, ...]:
    """Every prison a member charity serves on at least one day of the period (services table;
    ``ends_on`` is exclusive), by code."""
    codes = session.scalars(
        select(Service.prison_code)
        .where(
            Service.starts_on <= period.end,
            or_(Service.ends_on.is_(None), Service.ends_on > period.start),
        )
        .distinct()
    )
    return tuple(sorted(codes))


def register_regions(session: Session) -> tuple[str, ...]:
    """The rows of a regional table: every region of the prison register."""
    return region_rows(session.scalars(select(Prison.region).distinct()))


def _per_charity(
    session: Session, count: Callable[[uuid.UUID], Counted]
) -> dict[uuid.UUID, Counted]:
    found: dict[uuid.UUID, Counted] = {}
    for charity in charities(session):
        context = counting_context(session, charity.id)
        if not context.prison_codes:
            # A charity that has never served a prison holds no case records.
            found[charity.id] = ({}, {})
            continue
        with acting_for(session, context):
            found[charity.id] = count(charity.id)
    return found


def quarter_figures(session: Session, quarter: Quarter) -> Figures:
    """The quarter's tables (prison, and region x quarter), per charity and summed."""

    def count(charity_id: uuid.UUID) -> Counted:
        cells: dict[CellKey, Tally] = {}
        for part in (
            tables.prison_activity(session, quarter),
            tables.region_needs(session, quarter),
            tables.region_referral_sources(session, quarter),
            tables.region_transfers(session, quarter, charity_id),
            tables.region_outcomes(session, quarter),
        ):
            cells.update(part)
        return cells, population.excluded_in_quarter(session, quarter, charity_id)

    rows = {
        Dimension.PRISON: prisons_served_in(session, quarter),
        Dimension.REGION: register_regions(session),
    }
    return assemble(quarter, QUARTER_TABLES, rows, _per_charity(session, count))


def year_figures(session: Session, year: Year | YearEnding) -> Figures:
    """The year's tables (national equality and diversity), per charity and summed."""

    def count(_charity_id: uuid.UUID) -> Counted:
        return tables.national_equality(session, year), population.excluded_in_year(session, year)

    rows = {Dimension.NATIONAL: (NATIONAL,)}
    return assemble(year, YEAR_TABLES, rows, _per_charity(session, count))
