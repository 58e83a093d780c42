"""Case records on PostgreSQL: what the application role may do to each case table, tried as the
app role and read back from the catalogue (migration 0005). Consents, notes, needs and outcome
scores are written once and never changed; no case row is ever deleted by the application.
PostgreSQL only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError

from app.db import make_engine, make_session_factory
from app.domain.outcomes import framework
from app.domain.vocabulary import (
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    DataCategory,
    Need,
)
from app.models import Base
from app.security.keyring import LocalRootKey
from app.services.cases.cases import update_case
from app.services.cases.casework import add_note, record_assessment
from app.services.cases.consents import record_consent
from app.services.platform.audit import Origin
from app.services.platform.vault import vault_for
from tenants.guard import bind_tenant
from tenants.model import is_tenant_table
from tests.conftest import APP_ROLE, ROOT_KEY_FILE
from tests.support.cases import context_of

pytestmark = pytest.mark.postgres_only

WRITE_ONCE = ("consents", "case_notes", "case_needs", "outcome_scores")
TENANT_TABLES = sorted(t.name for t in Base.metadata.sorted_tables if is_tenant_table(t))
# What migrations 0001 and 0005 grant the app role on each case table, and nothing more.
EXPECTED_GRANTS = {
    "cases": {"SELECT", "INSERT", "UPDATE"},
    "people_in_custody": {"SELECT", "INSERT", "UPDATE"},
    "families": {"SELECT", "INSERT", "UPDATE"},
    "family_members": {"SELECT", "INSERT", "UPDATE"},
    "equality_monitoring": {"SELECT", "INSERT", "UPDATE"},
    "contacts": {"SELECT", "INSERT", "UPDATE"},
    "outcome_assessments": {"SELECT", "INSERT", "UPDATE"},
    "action_items": {"SELECT", "INSERT", "UPDATE"},
    "case_needs": {"SELECT", "INSERT"},
    "case_notes": {"SELECT", "INSERT"},
    "consents": {"SELECT", "INSERT"},
    "outcome_scores": {"SELECT", "INSERT"},
    # Voided by NULLing the package; marked sent.
    "transfer_offers": {"SELECT", "INSERT", "UPDATE"},
    "notifications": {"SELECT", "INSERT", "UPDATE"},
}
ORIGIN = Origin(source="test", clock=lambda: datetime(2026, 3, 2, 9, 30, tzinfo=UTC))


@pytest.fixture
def owner_engine(pg_database) -> Iterator[Engine]:
    engine = create_engine(pg_database.owner_url)
    yield engine
    engine.dispose()


@pytest.fixture
def worked_case(pg_database, pg_world):
    """The world's Liverpool case with a row in every write-once table, and the app role's
    session factory, bound to the Liverpool worker."""
    engine = make_engine(pg_database.app_url)
    sessions = make_session_factory(engine)
    context = context_of(pg_world, "pops_liverpool")
    case_id = pg_world.cases[("pops", "LPI")]
    root = LocalRootKey.from_file(ROOT_KEY_FILE)
    with sessions() as session:
        bind_tenant(session, context)
        update_case(session, context, ORIGIN, case_id, add_needs=frozenset({Need.VISITS}))
        add_note(session, context, ORIGIN, vault_for(session, root), case_id, body="A note.")
        record_assessment(
            session,
            context,
            ORIGIN,
            case_id,
            assessed_on=date(2026, 3, 2),
            scores=dict.fromkeys(framework().area_codes(), 4),
        )
        record_consent(
            session,
            context,
            ORIGIN,
            case_id,
            subject=ConsentSubject.PERSON_IN_CUSTODY,
            purpose=ConsentPurpose.CONTACT,
            decision=ConsentDecision.GIVEN,
            method=ConsentMethod.VERBAL,
            verification=ConsentVerification.NONE,
            categories=frozenset({DataCategory.IDENTITY}),
        )
    yield sessions, context
    engine.dispose()


def _rows(sessions, context, table: str) -> int:
    with sessions() as session:
        bind_tenant(session, context)
        return session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


@pytest.mark.parametrize("table", WRITE_ONCE)
@pytest.mark.parametrize(
    "statement",
    ["UPDATE {table} SET prison_code = prison_code", "DELETE FROM {table}", "TRUNCATE {table}"],
    ids=["update", "delete", "truncate"],
)
def test_app_role_cannot_change_or_remove_a_write_once_case_row(worked_case, table, statement):
    sessions, context = worked_case
    assert _rows(sessions, context, table) > 0
    with sessions() as session:
        bind_tenant(session, context)
        with pytest.raises(ProgrammingError, match="permission denied"):
            session.execute(text(statement.format(table=table)))
    assert _rows(sessions, context, table) > 0


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_app_role_cannot_delete_from_any_case_table(worked_case, table):
    sessions, context = worked_case
    with sessions() as session:
        bind_tenant(session, context)
        with pytest.raises(ProgrammingError, match="permission denied"):
            session.execute(text(f"DELETE FROM {table}"))


def test_catalogue_grants_on_case_tables_are_exactly_the_migrations(owner_engine, pg_world):
    assert set(EXPECTED_GRANTS) == set(TENANT_TABLES), "a case table without expected grants"
    with owner_engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = :role AND table_schema = 'public' AND table_name = ANY(:tables)"
            ),
            {"role": APP_ROLE, "tables": TENANT_TABLES},
        ).all()
        column_grants = conn.execute(
            text(
                "SELECT table_name, column_name, privilege_type "
                "FROM information_schema.column_privileges "
                "WHERE grantee = :role AND table_name = ANY(:tables) "
                "AND privilege_type <> 'SELECT' AND privilege_type <> 'INSERT'"
            ),
            {"role": APP_ROLE, "tables": list(WRITE_ONCE)},
        ).all()
    held: dict[str, set[str]] = {table: set() for table in TENANT_TABLES}
    for table, privilege in rows:
        held[table].add(privilege)
    assert held == EXPECTED_GRANTS
    # No column-level UPDATE slipped in beside the table grant either.
    assert column_grants == []


def test_no_case_table_is_granted_to_public(owner_engine, pg_world):
    with owner_engine.connect() as conn:
        public = conn.execute(
            text(
                "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                "WHERE grantee = 'PUBLIC' AND table_name = ANY(:tables)"
            ),
            {"tables": TENANT_TABLES},
        ).all()
    assert public == []
