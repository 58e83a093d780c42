"""The database wall: PostgreSQL row-level security, fed the tenant context per transaction.

Every tenant-owned table gets ENABLE and FORCE ROW LEVEL SECURITY, a permissive tenant policy and
a RESTRICTIVE prison policy, both ``TO`` the application role only (a restrictive policy left
``TO PUBLIC`` would silently empty the table for every other role), both failing closed when no
context is set: an unset ``app.charity_id`` is NULL, and ``x = NULL`` is never true.

The context reaches PostgreSQL through ``set_config(name, value, true)``, which is local to the
transaction; ``SET LOCAL`` cannot take bound parameters, and a session-level ``SET`` would leak
through the connection pool. Every transaction sets both values, empty when no context is bound,
so a connection can never carry one request's charity into the next.

A session marked for the readers' role (``use_readers_role``) also switches role the same way,
``set_config('role', ..., true)`` (what ``SET LOCAL ROLE`` does, and how PostgREST does it), in
every transaction it begins: the ministry's, the alliance's and the API clients' requests then
run as a role with no grant on any case table. Never a session-level ``SET ROLE``: the pool
would hand the role to the next request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from tenants.context import TenantContext
from tenants.guard import current_tenant

CHARITY_SETTING = "app.charity_id"
PRISONS_SETTING = "app.prison_codes"
READERS_ROLE_KEY = "readers_role"

_SET_CONTEXT = text(
    "SELECT set_config('app.charity_id', :charity, true), "
    "set_config('app.prison_codes', :prisons, true)"
)


def context_parameters(context: TenantContext | None) -> dict[str, str]:
    if context is None:
        return {"charity": "", "prisons": ""}
    return {"charity": str(context.charity_id), "prisons": ",".join(sorted(context.prison_codes))}


def apply_context(connection: Connection, context: TenantContext | None) -> None:
    connection.execute(_SET_CONTEXT, context_parameters(context))


_SET_ROLE = text("SELECT set_config('role', :role, true)")


def _apply_role(connection: Connection, role: str | None) -> None:
    # 'none' is RESET ROLE's value: back to the role the connection logged in as.
    connection.execute(_SET_ROLE, {"role": role or "none"})


def use_readers_role(session: Session, role: str | None) -> None:
    """Mark (or, with None, unmark) a session: each of its transactions runs as ``role``, the
    one already open included. A no-op on SQLite, which has no roles."""
    if role is not None and not role.replace("_", "").isalnum():
        raise ValueError(f"unsafe role name {role!r}")
    if session.info.get(READERS_ROLE_KEY) == role:
        return
    session.info[READERS_ROLE_KEY] = role
    if session.in_transaction():
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            _apply_role(connection, role)


def readers_role_of(session: Session) -> str | None:
    return session.info.get(READERS_ROLE_KEY)


def _after_begin(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name == "postgresql":
        apply_context(connection, current_tenant(session))
        role = readers_role_of(session)
        if role is not None:
            _apply_role(connection, role)


def _rebind(session: Session, context: TenantContext | None) -> None:
    """A context bound mid-transaction reaches the connection already in it."""
    if session.in_transaction():
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            apply_context(connection, context)


def install_rls_context(session_factory: sessionmaker[Session]) -> None:
    event.listen(session_factory, "after_begin", _after_begin)
    hooks: Any = session_factory.kw.setdefault("info", {}).setdefault("on_bind", [])
    hooks.append(_rebind)


def policy_statements(table: str, app_role: str) -> list[str]:
    """The DDL that walls in one tenant-owned table; used by migrations, checked by tests."""
    charity = f"NULLIF(current_setting('{CHARITY_SETTING}', true), '')::uuid"
    prisons = f"string_to_array(NULLIF(current_setting('{PRISONS_SETTING}', true), ''), ',')"
    tenant_rule = f"charity_id = {charity}"
    prison_rule = f"prison_code = ANY ({prisons})"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_tenant ON {table} AS PERMISSIVE FOR ALL TO {app_role} "
        f"USING ({tenant_rule}) WITH CHECK ({tenant_rule})",
        f"CREATE POLICY {table}_prison ON {table} AS RESTRICTIVE FOR ALL TO {app_role} "
        f"USING ({prison_rule}) WITH CHECK ({prison_rule})",
    ]


def shared_policy_statements(table: str, app_role: str) -> list[str]:
    """The DDL for a table two charities share (tenants.model.SharedTenancy): one policy, true
    for the sending side at its prison, or the receiving side at its prison once the row is
    shared with it; closed when nothing is set."""
    charity = f"NULLIF(current_setting('{CHARITY_SETTING}', true), '')::uuid"
    prisons = f"string_to_array(NULLIF(current_setting('{PRISONS_SETTING}', true), ''), ',')"
    rule = (
        f"(sender_charity_id = {charity} AND sender_prison_code = ANY ({prisons})) OR "
        f"(receiver_charity_id = {charity} AND receiver_prison_code = ANY ({prisons}) "
        "AND receiver_sees)"
    )
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_sides ON {table} AS PERMISSIVE FOR ALL TO {app_role} "
        f"USING ({rule}) WITH CHECK ({rule})",
    ]


def drop_policy_statements(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS {table}_prison ON {table}",
        f"DROP POLICY IF EXISTS {table}_sides ON {table}",
        f"DROP POLICY IF EXISTS {table}_tenant ON {table}",
        f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]


def migration_app_role(attributes: dict[str, Any]) -> str:
    """The app role's name as the migration environment passes it, checked before it is put
    into DDL (role names cannot be bound parameters)."""
    role = str(attributes.get("app_db_role", "continuum_app"))
    if not role.replace("_", "").isalnum():
        raise ValueError(f"unsafe role name {role!r}")
    return role


def reader_role_for(app_role: str) -> str:
    """The role the ministry's and the alliance's requests run under: no grant on any case
    table (migration 0009 grants what it may read)."""
    return f"{app_role}_reader"


def roles_sql(app_role: str) -> str:
    """What a database administrator runs once, before the first migration, where the schema
    owner may not create roles: the readers' role, and the app role's right to switch to it."""
    reader = reader_role_for(app_role)
    return (
        f"CREATE ROLE {reader} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;\n"
        f"GRANT {reader} TO {app_role};"
    )


class MissingRole(RuntimeError):
    """Raised by a migration that needs a role the schema owner may not create."""

    def __init__(self, app_role: str) -> None:
        self.sql = roles_sql(app_role)
        super().__init__(
            f"the readers' role {reader_role_for(app_role)} is missing (or {app_role} may not "
            "switch to it), and the schema owner may not create roles. As a PostgreSQL "
            "superuser, run once (also printed by `continuum db roles-sql`), then migrate "
            f"again:\n\n{self.sql}"
        )
