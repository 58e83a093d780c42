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
    """True when the database refuses to insert a case, with its person in custody and family,
    for ``charity`` at ``prison``. The parents are inserted too, so a refusal is the policy's or
    the unique key's, never a missing family's (foreign key checks ignore row-level security)."""
    person, family = uuid.uuid4(), uuid.uuid4()
    common = {"c": charity, "p": prison}
    savepoint = conn.begin_nested()
    try:
        conn.execute(
            text(
                "INSERT INTO people_in_custody (id, charity_id, prison_code, created_at, "
                "updated_at) VALUES (:id, :c, :p, now(), now())"
            ),
            {"id": person, **common},
        )
        conn.execute(
            text(
                "INSERT INTO families (id, charity_id, prison_code, person_in_custody_id, "
                "created_at, updated_at) VALUES (:id, :c, :p, :person, now(), now())"
            ),
            {"id": family, "person": person, **common},
        )
        conn.execute(
            text(
                "INSERT INTO cases (id, charity_id, prison_code, family_id, reference, status, "
                "referral_source, safeguarding, opened_on, created_at, updated_at) VALUES "
                "(:id, :c, :p, :family, :r, 'referred', 'self', false, '2026-01-01', now(), now())"
            ),
            {"id": uuid.uuid4(), "family": family, "r": reference, **common},
        )
    except DBAPIError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return False


def add_person(conn: Connection, charity: uuid.UUID, prison: str) -> uuid.UUID:
    """A person in custody whom no other row points at, so only a policy can stop it moving
    (a case or family cannot move charity at all: its foreign keys include charity_id)."""
    person = uuid.uuid4()
    conn.execute(
        text(
            "INSERT INTO people_in_custody (id, charity_id, prison_code, created_at, updated_at) "
            "VALUES (:id, :c, :p, now(), now())"
        ),
        {"id": person, "c": charity, "p": prison},
    )
    return person


def update_refused(
    conn: Connection, row_id: uuid.UUID, assignments: str, params: dict, table: str = "cases"
) -> bool:
    """True when the database refuses the change or the row is not there to change."""
    savepoint = conn.begin_nested()
    try:
        result = conn.execute(
            text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {"id": row_id, **params}
        )
    except DBAPIError:
        savepoint.rollback()
        return True
    savepoint.rollback()
    return result.rowcount == 0


TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def table_privileges(conn: Connection, role: str, table: str) -> set[str]:
    """Every table-level privilege ``role`` holds on ``table``, as the catalogue answers."""
    return {
        privilege
        for privilege in TABLE_PRIVILEGES
        if conn.execute(
            text("SELECT has_table_privilege(:role, :table, :privilege)"),
            {"role": role, "table": table, "privilege": privilege},
        ).scalar()
    }
