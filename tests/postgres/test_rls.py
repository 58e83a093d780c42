"""The database wall on PostgreSQL: row-level security as the application role, checked from the
catalogue and by trying to get past it. PostgreSQL only."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from app.db import make_engine, make_session_factory
from app.models import Base, Case
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.model import is_shared_table, is_tenant_table
from tenants.permissions import Role
from tests.conftest import APP_ROLE
from tests.postgres.rls_checks import (
    add_person,
    insert_refused,
    set_context,
    table_privileges,
    update_refused,
    visible_cases,
)

pytestmark = pytest.mark.postgres_only

# Tables that hold no case data, each with the reason it is outside row-level security.
NOT_TENANT_OWNED = {
    "alembic_version": "migration bookkeeping; the app role may only read it (readiness)",
    "prisons": "public reference data",
    "organisations": "public reference data",
    "services": "public reference data: who serves which prison",
    "users": "staff accounts, looked up before any context exists (sign-in)",
    "user_prisons": "staff site assignments",
    "api_tokens": "token digests, looked up before any context exists",
    "web_sessions": "signed-in sessions' digests, looked up before any context exists",
    "data_keys": "wrapped data keys; useless without the root key, which is never in the database",
    "oauth_clients": "the ministry's API clients and their secrets' digests; no case data",
    "oauth_tokens": "access token digests, looked up before any context exists",
    "quarter_sign_offs": "who signed off which quarter for a charity; no person, no case",
    "releases": "published figures after disclosure control; for the ministry by design",
    "release_protections": (
        "what later release audits need; read only while building; the readers' role has no grant"
    ),
    "audit_events": (
        "append-only, ids only; read through reviewed queries; "
        "the app role may only insert and select"
    ),
}


@pytest.fixture
def app_engine(pg_database):
    engine = make_engine(pg_database.app_url)
    yield engine
    engine.dispose()


@pytest.fixture
def owner_engine(pg_database):
    engine = create_engine(pg_database.owner_url)
    yield engine
    engine.dispose()


def test_app_role_sees_no_case_with_no_context(app_engine, pg_world):
    with app_engine.begin() as conn:
        assert visible_cases(conn) == set()


def test_app_role_sees_no_case_before_any_setting_exists(app_engine, pg_world):
    """A brand-new connection has never heard of app.charity_id: the policy still fails closed."""
    with app_engine.connect() as conn:
        assert visible_cases(conn) == set()
        conn.rollback()


def test_app_role_sees_own_charity_and_prison_only(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["pops"], ("LPI",))
        assert visible_cases(conn) == {pg_world.cases[("pops", "LPI")]}


def test_prison_policy_fails_closed_with_charity_but_no_prisons(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["pops"], ())
        assert visible_cases(conn) == set()
        assert insert_refused(conn, pg_world.organisations["pops"], "LPI", "NEW-1")


def test_prisons_without_charity_show_nothing(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, None, ("LPI", "WDI", "DMI"))
        assert visible_cases(conn) == set()


def test_insert_for_another_charity_is_refused_by_policy(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["pops"], ("LPI",))
        assert insert_refused(conn, pg_world.organisations["nepacs"], "LPI", "NEW-2")
        assert not insert_refused(conn, pg_world.organisations["pops"], "LPI", "NEW-3")


def test_insert_at_a_prison_outside_the_context_is_refused_by_policy(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["pops"], ("LPI",))
        assert insert_refused(conn, pg_world.organisations["pops"], "WDI", "NEW-4")


def test_moving_a_row_to_another_charity_is_refused_by_policy(app_engine, pg_world):
    pops, nepacs = pg_world.organisations["pops"], pg_world.organisations["nepacs"]
    with app_engine.begin() as conn:
        set_context(conn, pops, ("LPI",))
        person = add_person(conn, pops, "LPI")
        assert update_refused(
            conn, person, "charity_id = :c", {"c": nepacs}, table="people_in_custody"
        )
        assert update_refused(
            conn, pg_world.cases[("pops", "LPI")], "charity_id = :c", {"c": nepacs}
        )
        assert not update_refused(conn, pg_world.cases[("pops", "LPI")], "status = 'closed'", {})


def test_another_charitys_case_cannot_be_updated(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["pops"], ("LPI", "WDI", "DMI"))
        assert update_refused(conn, pg_world.cases[("nepacs", "DMI")], "status = 'closed'", {})


def test_app_role_cannot_delete_cases(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["pops"], ("LPI",))
        savepoint = conn.begin_nested()
        with pytest.raises(Exception, match="permission denied"):
            conn.execute(text("DELETE FROM cases"))
        savepoint.rollback()


def test_every_tenant_owned_table_has_forced_rls_and_both_policies(owner_engine, pg_world):
    with owner_engine.connect() as conn:
        tables = {
            row.relname: row
            for row in conn.execute(
                text(
                    "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
                )
            )
        }
        policies = conn.execute(
            text(
                "SELECT tablename, permissive, roles::text[] AS roles, cmd FROM pg_policies WHERE schemaname = 'public'"
            )
        ).all()
    model_tenant_tables = {t.name for t in Base.metadata.sorted_tables if is_tenant_table(t)}
    assert "cases" in model_tenant_tables
    model_shared_tables = {t.name for t in Base.metadata.sorted_tables if is_shared_table(t)}
    assert model_shared_tables == {"case_transfers", "case_transfer_steps"}
    walled = set(tables) - set(NOT_TENANT_OWNED) - model_shared_tables
    # A table the models do not mark as tenant-owned or shared, and not listed above, fails here.
    assert walled == model_tenant_tables
    for name in model_shared_tables:
        assert tables[name].relrowsecurity and tables[name].relforcerowsecurity, name
        mine = [p for p in policies if p.tablename == name]
        # One permissive rule naming both sides; no policy, no row (fails closed like the rest).
        assert [(p.permissive, p.roles, p.cmd) for p in mine] == [("PERMISSIVE", [APP_ROLE], "ALL")]
    for name in walled:
        assert tables[name].relrowsecurity, f"{name}: row-level security not enabled"
        assert tables[name].relforcerowsecurity, f"{name}: row-level security not forced"
        mine = [p for p in policies if p.tablename == name]
        kinds = sorted(p.permissive for p in mine)
        assert kinds == ["PERMISSIVE", "RESTRICTIVE"], f"{name}: policies {kinds}"
        for policy in mine:
            # TO PUBLIC would silently empty the table for every other role (and is too broad).
            assert policy.roles == [APP_ROLE], f"{name}: policy for {policy.roles}"
            assert policy.cmd == "ALL"


def test_app_role_owns_nothing_and_bypasses_nothing(owner_engine, pg_world):
    with owner_engine.connect() as conn:
        role = conn.execute(
            text(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = :r"
            ),
            {"r": APP_ROLE},
        ).one()
        owned = conn.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = :r"
            ),
            {"r": APP_ROLE},
        ).scalar()
        db_owner = conn.execute(
            text(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
            )
        ).scalar()
    assert not any(role)
    assert owned == 0
    assert db_owner != APP_ROLE


def test_pooled_connection_does_not_carry_one_requests_charity_into_the_next(pg_database, pg_world):
    engine = make_engine(pg_database.app_url, pool_size=1, max_overflow=0)
    factory = make_session_factory(engine)
    try:
        pops = TenantContext(pg_world.organisations["pops"], frozenset({"LPI"}), Role.CASEWORKER)
        with factory() as first:
            bind_tenant(first, pops)
            assert len(first.scalars(select(Case)).all()) == 1
            pid = first.execute(text("SELECT pg_backend_pid()")).scalar()
            # Closed without commit: the connection returns to the pool mid-transaction.
        with factory() as second:
            assert (
                second.execute(text("SELECT pg_backend_pid()")).scalar() == pid
            )  # same connection
            assert second.execute(
                text("SELECT current_setting('app.charity_id', true)")
            ).scalar() in ("", None)
            assert second.execute(text("SELECT count(*) FROM cases")).scalar() == 0
        with engine.connect() as raw:
            # Even a connection used outside any session starts with no charity.
            assert visible_cases(raw) == set()
            raw.rollback()
    finally:
        engine.dispose()


def test_a_unique_key_cannot_reveal_another_charitys_value(app_engine, pg_world):
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["nepacs"], ("DMI",))
        # POPS holds reference LPI-20-WORLD; NEPACS may hold the same without learning that.
        assert not insert_refused(conn, pg_world.organisations["nepacs"], "DMI", "LPI-20-WORLD")
    with app_engine.begin() as conn:
        set_context(conn, pg_world.organisations["pops"], ("LPI",))
        # Within one charity the key is real.
        assert insert_refused(conn, pg_world.organisations["pops"], "LPI", "LPI-20-WORLD")


def test_every_unique_key_and_foreign_key_on_tenant_tables_includes_charity(owner_engine):
    """The schema wall from the catalogue: every unique index on a case table (constraint or
    not) includes charity_id unless it is a primary key on the random id alone, and every foreign
    key between case tables includes it."""
    tenant_tables = [t.name for t in Base.metadata.sorted_tables if is_tenant_table(t)]
    with owner_engine.connect() as conn:
        foreign_keys = conn.execute(
            text(
                "SELECT c.relname AS tbl, con.conname AS name, "
                "ARRAY(SELECT a.attname FROM unnest(con.conkey) k JOIN pg_attribute a "
                "      ON a.attrelid = con.conrelid AND a.attnum = k)::text[] AS cols, "
                "cf.relname AS ref FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
                "JOIN pg_class cf ON cf.oid = con.confrelid "
                "WHERE c.relname = ANY(:t) AND con.contype = 'f'"
            ),
            {"t": tenant_tables},
        ).all()
        unique_indexes = conn.execute(
            text(
                "SELECT c.relname AS tbl, ic.relname AS name, i.indisprimary AS is_primary, "
                "ARRAY(SELECT a.attname FROM unnest(i.indkey) k JOIN pg_attribute a "
                "      ON a.attrelid = i.indrelid AND a.attnum = k)::text[] AS cols "
                "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
                "JOIN pg_class ic ON ic.oid = i.indexrelid "
                "WHERE c.relname = ANY(:t) AND i.indisunique"
            ),
            {"t": tenant_tables},
        ).all()
    # Every case table, the new ones included, is seen by both queries: none passes unchecked.
    assert {row.tbl for row in unique_indexes} == set(tenant_tables)
    # People in custody hang from nothing; an offer and a notification hang from a transfer,
    # which is shared (its own foreign key to the sender's case includes the charity: below).
    assert {row.tbl for row in foreign_keys if row.ref in tenant_tables} == set(tenant_tables) - {
        "people_in_custody",
        "transfer_offers",
        "notifications",
    }
    for row in unique_indexes:
        if row.is_primary and row.cols == ["id"]:
            continue  # a random UUID: unique everywhere, so a clash reveals nothing
        assert "charity_id" in row.cols, f"{row.tbl}.{row.name} lacks charity_id"
    for row in foreign_keys:
        if row.ref not in tenant_tables:
            continue  # to reference data (organisations, prisons) or staff (users)
        assert "charity_id" in row.cols, f"{row.tbl}.{row.name} lacks charity_id"


def test_orm_session_as_app_role_is_scoped_by_both_walls(pg_database, pg_world):
    """Through the application's own sessions the result is the same as through raw SQL."""
    engine = make_engine(pg_database.app_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            bind_tenant(
                session,
                TenantContext(pg_world.organisations["pops"], frozenset({"WDI"}), Role.CASEWORKER),
            )
            assert set(session.scalars(select(Case.id))) == {pg_world.cases[("pops", "WDI")]}
            raw = {row[0] for row in session.execute(text("SELECT id FROM cases"))}
            assert raw == {pg_world.cases[("pops", "WDI")]}
    finally:
        engine.dispose()


def test_app_role_may_read_the_migrations_revision_and_change_nothing_of_it(owner_engine):
    """Readiness compares alembic_version with the code's head (app/http/health.py)."""
    with owner_engine.connect() as conn:
        assert table_privileges(conn, APP_ROLE, "alembic_version") == {"SELECT"}
