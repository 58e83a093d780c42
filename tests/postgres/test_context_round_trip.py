"""The tenant context travels with the first statement of a transaction (issue 13): no
``set_config`` round trip of its own, yet set before any statement runs, transaction-local, and
never carried to the next user of a pooled connection. PostgreSQL only."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import DBAPIError

from app.db import make_engine, make_session_factory
from app.models import Case
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tenants.postgres import use_readers_role
from tests.conftest import APP_ROLE

pytestmark = pytest.mark.postgres_only

CHARITY = "SELECT current_setting('app.charity_id', true)"


@pytest.fixture
def one_connection(pg_database) -> Iterator[Engine]:
    """An engine whose pool holds one connection, so every session reuses the last one's."""
    engine = make_engine(pg_database.app_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture
def statements(one_connection: Engine) -> list[str]:
    """Every statement the engine sends through SQLAlchemy, in order."""
    sent: list[str] = []

    @event.listens_for(one_connection, "before_cursor_execute")
    def _record(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    return sent


def _pops(pg_world, *prisons: str) -> TenantContext:
    return TenantContext(pg_world.organisations["pops"], frozenset(prisons), Role.CASEWORKER)


def test_the_context_goes_with_the_first_statement_not_as_a_statement_of_its_own(
    one_connection, statements, pg_world
):
    factory = make_session_factory(one_connection)
    with factory() as session:
        bind_tenant(session, _pops(pg_world, "LPI"))
        ids = set(session.scalars(select(Case.id)))
    assert ids == {pg_world.cases[("pops", "LPI")]}
    assert len(statements) == 1
    assert "set_config" not in statements[0]


def test_the_first_statement_of_a_transaction_already_runs_in_its_context(one_connection, pg_world):
    factory = make_session_factory(one_connection)
    with factory() as session:
        bind_tenant(session, _pops(pg_world, "LPI"))
        assert session.execute(text(CHARITY)).scalar() == str(pg_world.organisations["pops"])


def test_a_context_bound_mid_transaction_reaches_the_next_statement(
    one_connection, statements, pg_world
):
    factory = make_session_factory(one_connection)
    with factory() as session:
        # As a request does: the actor is looked up with no context, then the context bound.
        assert session.execute(text("SELECT count(*) FROM cases")).scalar() == 0
        bind_tenant(session, _pops(pg_world, "WDI"))
        assert set(session.execute(text("SELECT id FROM cases")).scalars()) == {
            pg_world.cases[("pops", "WDI")]
        }
        bind_tenant(session, None)
        assert session.execute(text("SELECT count(*) FROM cases")).scalar() == 0
    assert not any("set_config" in statement for statement in statements)


def test_a_context_never_sent_is_not_carried_to_the_connections_next_user(one_connection, pg_world):
    factory = make_session_factory(one_connection)
    with factory() as session:
        bind_tenant(session, _pops(pg_world, "LPI"))
        session.connection()  # the transaction begins; no statement is sent
        session.commit()
    with one_connection.connect() as raw:
        # The same pooled connection, outside any session: no charity, no case.
        assert raw.execute(text(CHARITY)).scalar() in ("", None)
        assert raw.execute(text("SELECT count(*) FROM cases")).scalar() == 0
        raw.rollback()
    with factory() as session:
        assert session.execute(text(CHARITY)).scalar() in ("", None)


def test_a_failing_first_statement_fails_as_usual_and_the_session_recovers(
    one_connection, pg_world
):
    factory = make_session_factory(one_connection)
    with factory() as session:
        bind_tenant(session, _pops(pg_world, "LPI"))
        with pytest.raises(DBAPIError):
            session.execute(text("SELECT 1 / 0"))
        session.rollback()
        assert session.execute(text(CHARITY)).scalar() == str(pg_world.organisations["pops"])
        assert set(session.scalars(select(Case.id))) == {pg_world.cases[("pops", "LPI")]}


def test_the_readers_role_goes_with_the_first_statement_too(one_connection, statements):
    factory = make_session_factory(one_connection)
    with factory() as session:
        use_readers_role(session, f"{APP_ROLE}_reader")
        assert session.execute(text("SELECT current_user")).scalar() == f"{APP_ROLE}_reader"
        session.commit()
        # Every transaction of the marked session, not only the first.
        assert session.execute(text("SELECT current_user")).scalar() == f"{APP_ROLE}_reader"
        use_readers_role(session, None)
        assert session.execute(text("SELECT current_user")).scalar() == APP_ROLE
    with one_connection.connect() as raw:
        assert raw.execute(text("SELECT current_user")).scalar() == APP_ROLE
        raw.rollback()
    assert not any("set_config" in statement for statement in statements)


def test_a_first_statement_sent_many_times_over_runs_in_the_context(one_connection, pg_world):
    factory = make_session_factory(one_connection)
    pops = pg_world.organisations["pops"]
    rows = [{"id": uuid.uuid4(), "c": pops, "p": "LPI"} for _ in range(3)]
    with factory() as session:
        bind_tenant(session, _pops(pg_world, "LPI"))
        # executemany: refused by the policies' WITH CHECK unless the context went first.
        session.execute(
            text(
                "INSERT INTO people_in_custody (id, charity_id, prison_code, created_at, "
                "updated_at) VALUES (:id, :c, :p, now(), now())"
            ),
            rows,
        )
        seen = session.execute(text("SELECT id FROM people_in_custody")).scalars()
        assert {row["id"] for row in rows} <= set(seen)
        session.rollback()


def test_a_first_statement_without_parameters_runs_in_the_context(one_connection, pg_world):
    factory = make_session_factory(one_connection)
    with factory() as session:
        bind_tenant(session, _pops(pg_world, "LPI"))
        count = session.execute(
            text("SELECT count(*) FROM cases"), execution_options={"no_parameters": True}
        ).scalar()
        assert count == 1
