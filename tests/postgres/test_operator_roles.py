"""docs/production.md's PostgreSQL steps, followed literally on a fresh cluster (issue 13 item 8).

`createuser` makes a role that may not create roles, so the schema owner cannot make the
readers' role migration 0009 needs: the first `continuum demo` (or `db upgrade`) must stop with
the administrator's exact step, named after CONTINUUM_APP_DB_ROLE, and no traceback; once a
superuser has run what `continuum db roles-sql` prints, the same command migrates to head.
PostgreSQL only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import create_engine, inspect

from tests.conftest import Database
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.postgres_only


@pytest.fixture
def backend() -> str:
    return "postgresql"


@pytest.fixture
def operator(postgres: PostgresServer | None) -> Iterator[tuple[PostgresServer, str, str, str]]:
    """A database and two roles made as docs/production.md says: `createuser NAME --login` gives
    NOSUPERUSER NOCREATEDB NOCREATEROLE; the database is the owner's."""
    if postgres is None:
        pytest.skip(
            "PostgreSQL is not available (set CONTINUUM_REQUIRE_POSTGRES=1 to fail instead)"
        )
    suffix = uuid.uuid4().hex[:8]
    owner, app_role, name = f"op_owner_{suffix}", f"op_app_{suffix}", f"op_db_{suffix}"
    with postgres.admin_connect() as conn:
        conn.execute(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        conn.execute(f"CREATE ROLE {app_role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        conn.execute(f"CREATE DATABASE {name} OWNER {owner}")
    yield postgres, owner, app_role, name
    with postgres.admin_connect() as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for role in (f"{app_role}_reader", app_role, owner):
            conn.execute(f"DROP ROLE IF EXISTS {role}")


@pytest.fixture
def database(operator: tuple[PostgresServer, str, str, str]) -> Database:
    postgres, owner, app_role, name = operator
    return Database(
        "postgresql", postgres.url(name, user=app_role), postgres.url(name, user=owner), name
    )


@pytest.fixture
def operators_app(
    make_app: Callable[..., Flask], operator: tuple[PostgresServer, str, str, str]
) -> Flask:
    return make_app(app_db_role=operator[2])


def _tables(database: Database) -> set[str]:
    engine = create_engine(database.owner_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_first_demo_names_the_administrators_step_and_no_traceback(
    operators_app: Flask, operator: tuple[PostgresServer, str, str, str], database: Database
) -> None:
    _postgres, _owner, app_role, _name = operator
    cli = operators_app.test_cli_runner()
    done = cli.invoke(args=["demo", "--no-serve"])
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output and done.exception is not None
    assert f"CREATE ROLE {app_role}_reader NOLOGIN" in done.output
    assert f"GRANT {app_role}_reader TO {app_role};" in done.output
    assert "continuum db roles-sql" in done.output
    # Nothing of migration 0009 was left behind half made.
    assert "releases" not in _tables(database)


def test_after_the_printed_step_the_same_command_migrates_to_head(
    operators_app: Flask, operator: tuple[PostgresServer, str, str, str], database: Database
) -> None:
    postgres, _owner, app_role, _name = operator
    cli = operators_app.test_cli_runner()
    refused = cli.invoke(args=["db", "upgrade"])
    assert refused.exit_code == 1, refused.output
    printed = cli.invoke(args=["db", "roles-sql"])
    assert printed.exit_code == 0, printed.output
    assert f"{app_role}_reader" in printed.output
    with postgres.admin_connect() as conn:
        for statement in filter(None, (s.strip() for s in printed.output.split(";"))):
            conn.execute(statement)
    done = cli.invoke(args=["db", "upgrade"])
    assert done.exit_code == 0, done.output
    assert {"releases", "release_protections", "web_sessions"} <= _tables(database)
