"""A throwaway PostgreSQL server for a benchmark, with the roles it needs as the test suite
makes them (tests/conftest.py): the schema owner, the application role (no superuser, no
BYPASSRLS), and the readers' role the application role switches to for ministry and coordinator
requests (migration 0009 grants to it, and only a superuser may create it)."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from typing import Any

from bench.isolation import APP_ROLE, OWNER_ROLE
from tenants.postgres import reader_role_for


def create_roles(conn: Any) -> None:
    """Create the roles that do not exist yet, on a superuser's psycopg connection."""
    reader = reader_role_for(APP_ROLE)
    for role, options in (
        (OWNER_ROLE, "LOGIN NOSUPERUSER"),
        (APP_ROLE, "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
        (reader, "NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"),
    ):
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(f"CREATE ROLE {role} {options}")
    conn.execute(f"GRANT {reader} TO {APP_ROLE}")


def throwaway_server(stack: ExitStack, database: str | None = None) -> Any:
    """A server started for this run (stopped by ``stack``) with the roles made and, when named,
    an empty ``database`` owned by the schema owner; or None, with a note, when none can start."""
    from tests.support.postgres import PostgresUnavailable, start_postgres

    try:
        server = start_postgres()
    except PostgresUnavailable as exc:
        print(f"PostgreSQL skipped: {exc.reason}", file=sys.stderr)
        return None
    stack.callback(server.stop)
    with server.admin_connect() as conn:
        create_roles(conn)
        if database is not None:
            conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {database} OWNER {OWNER_ROLE}")
    return server
