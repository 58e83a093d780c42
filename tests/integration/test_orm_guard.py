"""The application wall: with no context nothing tenant-owned can be read or written, and with a
context nothing outside it can be."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select, text, update

from app.models import Case, CaseStatus, Organisation, Prison
from tenants.context import CrossTenantWrite, NoTenantContext, TenantBulkStatement, TenantContext
from tenants.guard import REVIEWED_BULK, bind_tenant
from tenants.permissions import Role
from tests.support.cases import case_row, make_family


def _context(world, slug, *prisons):
    return TenantContext(world.organisations[slug], frozenset(prisons), Role.CASEWORKER)


def _new_case(app_sessions, world, slug, prison, reference="X-1"):
    """A case for a family that exists (committed under its own context), so only the guard
    stands between the test and the insert."""
    charity_id = world.organisations[slug]
    family_id = make_family(app_sessions, charity_id, prison)
    return case_row(charity_id, prison, family_id, reference=reference, opened_on=date(2026, 1, 5))


def test_query_on_case_with_no_context_raises(app_sessions):
    with app_sessions() as session, pytest.raises(NoTenantContext):
        session.scalars(select(Case)).all()


def test_count_over_case_table_with_no_context_raises(app_sessions):
    with app_sessions() as session, pytest.raises(NoTenantContext):
        session.scalar(select(func.count()).select_from(Case))


def test_get_by_id_with_no_context_raises(app_sessions, world):
    with app_sessions() as session, pytest.raises(NoTenantContext):
        session.get(Case, world.cases[("pops", "LPI")])


def test_reference_tables_need_no_context(app_sessions, world):
    with app_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Prison)) > 100
        assert session.scalar(select(func.count()).select_from(Organisation)) == len(
            world.organisations
        )


def test_pops_liverpool_context_sees_only_liverpool_cases(app_sessions, world):
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        ids = set(session.scalars(select(Case.id)))
    assert ids == {world.cases[("pops", "LPI")]}


def test_get_of_another_charitys_case_returns_nothing(app_sessions, world):
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI", "WDI"))
        assert session.get(Case, world.cases[("nepacs", "DMI")]) is None


def test_join_and_subquery_are_scoped_too(app_sessions, world):
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        inner = select(Case.id).scalar_subquery()
        joined = session.scalars(
            select(Prison.code).join(Case, Case.prison_code == Prison.code)
        ).all()
        in_subquery = session.scalars(
            select(Prison.code).where(Prison.code.in_(select(Case.prison_code)))
        ).all()
        assert joined == ["LPI"]
        assert in_subquery == ["LPI"]
        assert session.scalar(select(func.count()).where(Case.id == inner)) == 1


def test_insert_for_another_charity_is_refused(app_sessions, world):
    case = _new_case(app_sessions, world, "nepacs", "LPI")
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        session.add(case)
        with pytest.raises(CrossTenantWrite):
            session.flush()


def test_insert_at_a_prison_outside_the_context_is_refused(app_sessions, world):
    case = _new_case(app_sessions, world, "pops", "WDI")
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        session.add(case)
        with pytest.raises(CrossTenantWrite):
            session.flush()


def test_insert_with_no_context_is_refused(app_sessions, world):
    case = _new_case(app_sessions, world, "pops", "LPI")
    with app_sessions() as session:
        session.add(case)
        with pytest.raises(NoTenantContext):
            session.flush()


def test_moving_a_case_to_another_charity_is_refused(app_sessions, world):
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        case = session.get(Case, world.cases[("pops", "LPI")])
        case.charity_id = world.organisations["nepacs"]
        with pytest.raises(CrossTenantWrite):
            session.flush()


def test_moving_a_case_to_a_prison_outside_the_context_is_refused(app_sessions, world):
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        case = session.get(Case, world.cases[("pops", "LPI")])
        case.prison_code = "WDI"
        with pytest.raises(CrossTenantWrite):
            session.flush()


def test_orm_bulk_update_of_cases_is_refused_unless_reviewed(app_sessions, world):
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        with pytest.raises(TenantBulkStatement):
            session.execute(update(Case).values(status=CaseStatus.CLOSED.value))


def test_reviewed_bulk_update_is_still_scoped_to_the_context(app_sessions, world):
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI"))
        session.execute(
            update(Case).values(status=CaseStatus.CLOSED.value),
            execution_options={REVIEWED_BULK: True, "synchronize_session": False},
        )
        session.commit()
    with app_sessions() as session:
        bind_tenant(session, _context(world, "pops", "LPI", "WDI"))
        statuses = dict(session.execute(select(Case.prison_code, Case.status)).all())
    assert statuses == {"LPI": "closed", "WDI": "active"}


def test_a_unique_reference_in_one_charity_is_free_in_another(app_sessions, world):
    """The schema wall: uniqueness is per charity, so a clash never reveals another's value."""
    case = _new_case(app_sessions, world, "nepacs", "DMI", reference="LPI-20-WORLD")
    with app_sessions() as session:
        bind_tenant(session, _context(world, "nepacs", "DMI"))
        session.add(case)
        session.commit()


def test_raw_sql_is_not_scoped_so_it_lives_only_in_reviewed_places(app_sessions, backend, world):
    """Documents the one way around the ORM wall; on PostgreSQL row-level security still holds."""
    with app_sessions() as session:
        bind_tenant(session, None)
        count = session.execute(text("SELECT count(*) FROM cases")).scalar()
    assert count == (len(world.cases) if backend == "sqlite" else 0)
