"""PostgreSQL: the application role may add data keys but never change or remove one."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import APP_ROLE

pytestmark = pytest.mark.postgres_only


def test_app_role_may_only_read_and_add_data_keys(pg_database, pg_world):
    engine = create_engine(pg_database.owner_url)
    try:
        with engine.connect() as conn:
            privileges = {
                privilege
                for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
                if conn.execute(
                    text("SELECT has_table_privilege(:role, 'data_keys', :p)"),
                    {"role": APP_ROLE, "p": privilege},
                ).scalar()
            }
    finally:
        engine.dispose()
    assert privileges == {"SELECT", "INSERT"}
