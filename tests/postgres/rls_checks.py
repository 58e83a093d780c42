"""Probes of the database wall, each run as the application role on a raw connection.

Each probe returns what it observed rather than asserting, so the same probe serves the real test
(walls up: nothing leaks) and the negative control (policies dropped: the probe sees the leak).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from tenants.context import TenantContext
from tenants.permissions import Role
from tenants.postgres import apply_context


def set_context(conn: Connection, charity: uuid.UUID | None, prisons: tuple[str, ...]) -> None:
    if charity is None:
        conn.execute(
            text(
                "SELECT set_config('app.charity_id', '', true), set_config('app.prison_codes', :p, true)"
            ),
            {"p": ",".join(prisons)},
        )
        return
    apply_context(conn, TenantContext(charity, frozenset(prisons), Role.CASEWORKER))


def visible_cases(conn: Connection) -> set[uuid.UUID]:
    return {row[0] for row in conn.execute(text("SELECT id FROM cases"))}


def insert_refused(conn: Connection, charity: uuid.UUID, prison: str, reference: str) -> bool:
    """True when the database refuses the insert."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(
            text(
                "INSERT INTO cases (id, charity_id, prison_code, reference, status, opened_on, "
                "created_at, updated_at) VALUES (:id, :c, :p, :r, 'referred', '2026-01-01', now(), now())"
            ),
            {"id": uuid.uuid4(), "c": charity, "p": prison, "r": reference},
        )
    except DBAPIError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


def update_refused(conn: Connection, case_id: uuid.UUID, assignments: str, params: dict) -> bool:
    """True when the database refuses the change or the row is not there to change."""
    savepoint = conn.begin_nested()
    try:
        result = conn.execute(
            text(f"UPDATE cases SET {assignments} WHERE id = :id"), {"id": case_id, **params}
        )
    except DBAPIError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return result.rowcount == 0
