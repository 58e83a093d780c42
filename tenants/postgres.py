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

No round trip of its own (issue 13). A session's settings are queued on the transaction's
connection when it begins (and when a context or role is bound mid-transaction), and sent in
one psycopg pipeline with the next statement on that connection: the server runs the
``set_config`` first, in the same transaction, before the statement, and the client waits once
for both. Nothing can run before them, because every statement SQLAlchemy sends passes through
the dialect's execute hooks below; a queue nobody sent ends with its transaction (commit or
rollback) and never outlives the connection object it was queued on. A server-side cursor or an
``executemany`` (which psycopg pipelines itself) gets the settings in a round trip just before.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary, WeakSet

import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import ExecutionContext
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
            # 'none' is RESET ROLE's value: back to the role the connection logged in as.
            _queue(connection, {"role": role or "none"})


def readers_role_of(session: Session) -> str | None:
    return session.info.get(READERS_ROLE_KEY)


# The settings each open transaction's connection still has to send, by setting name; and the
# engines whose dialect sends them (install_rls_context). Keyed by SQLAlchemy's Connection
# object, which lasts one checkout, never by the pooled DBAPI connection, which outlives it.
_QUEUED: WeakKeyDictionary[Connection, dict[str, str]] = WeakKeyDictionary()
_SENDING: WeakSet[Engine] = WeakSet()
# Pipeline mode needs libpq 14 or later (psycopg[binary] ships one).
_PIPELINES = psycopg.Pipeline.is_supported()
_SETTING_SQL = {
    CHARITY_SETTING: f"set_config('{CHARITY_SETTING}', %({CHARITY_SETTING})s, true)",
    PRISONS_SETTING: f"set_config('{PRISONS_SETTING}', %({PRISONS_SETTING})s, true)",
    "role": "set_config('role', %(role)s, true)",
}


def _queue(connection: Connection, settings: dict[str, str]) -> None:
    """Have ``settings`` set on ``connection`` before its next statement: sent with it where
    the engine's hooks are installed, else at once."""
    if connection.engine in _SENDING:
        _QUEUED.setdefault(connection, {}).update(settings)
        return
    names = ", ".join(f"set_config(:n{i}, :v{i}, true)" for i in range(len(settings)))
    values: dict[str, str] = {}
    for i, (name, value) in enumerate(settings.items()):
        values |= {f"n{i}": name, f"v{i}": value}
    connection.execute(text(f"SELECT {names}"), values)


def _context_settings(context: TenantContext | None) -> dict[str, str]:
    parameters = context_parameters(context)
    return {CHARITY_SETTING: parameters["charity"], PRISONS_SETTING: parameters["prisons"]}


def _send(cursor: Any, settings: dict[str, str]) -> None:
    statement = "SELECT " + ", ".join(_SETTING_SQL[name] for name in settings)
    cursor.connection.execute(statement, settings)


def _take(context: ExecutionContext) -> dict[str, str] | None:
    return _QUEUED.pop(context.root_connection, None)  # type: ignore[attr-defined]


def _execute_with_settings(
    cursor: Any, statement: str, parameters: Any, context: ExecutionContext
) -> bool:
    """SQLAlchemy's ``do_execute``: the queued settings and the statement in one pipeline."""
    settings = _take(context)
    if settings is None:
        return False
    if isinstance(cursor, psycopg.ServerCursor) or not _PIPELINES:
        _send(cursor, settings)
        return False
    with cursor.connection.pipeline():
        _send(cursor, settings)
        cursor.execute(statement, parameters)
    return True


def _send_before_many(
    cursor: Any, _statement: str, _parameters: Any, context: ExecutionContext
) -> bool:
    """``do_executemany``: the queued settings first, then SQLAlchemy's own call."""
    settings = _take(context)
    if settings is not None:
        _send(cursor, settings)
    return False


def _send_before_no_params(cursor: Any, _statement: str, context: ExecutionContext) -> bool:
    """``do_execute_no_params``: the queued settings first, then SQLAlchemy's own call."""
    return _send_before_many(cursor, _statement, None, context)


def _forget(connection: Connection) -> None:
    """A transaction that ends with settings still queued takes them with it."""
    _QUEUED.pop(connection, None)


def _send_with_statements(engine: Engine) -> None:
    if engine in _SENDING:
        return
    event.listen(engine, "do_execute", _execute_with_settings)
    event.listen(engine, "do_executemany", _send_before_many)
    event.listen(engine, "do_execute_no_params", _send_before_no_params)
    event.listen(engine, "commit", _forget)
    event.listen(engine, "rollback", _forget)
    _SENDING.add(engine)


def _after_begin(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    if connection.dialect.name == "postgresql":
        settings = _context_settings(current_tenant(session))
        role = readers_role_of(session)
        if role is not None:
            settings["role"] = role
        _queue(connection, settings)


def _rebind(session: Session, context: TenantContext | None) -> None:
    """A context bound mid-transaction reaches the connection already in it."""
    if session.in_transaction():
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            _queue(connection, _context_settings(context))


def install_rls_context(session_factory: sessionmaker[Session]) -> None:
    event.listen(session_factory, "after_begin", _after_begin)
    hooks: Any = session_factory.kw.setdefault("info", {}).setdefault("on_bind", [])
    hooks.append(_rebind)
    bind = session_factory.kw.get("bind")
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        _send_with_statements(bind)


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
