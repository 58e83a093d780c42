"""Notes and contacts keep the ``Idempotency-Key`` of the request that wrote them (issue 13).

A client whose answer was cut off (the worker killed after the commit) retries with the same key,
and the use case finds the row the first request wrote instead of writing another. The key lives
on the row it produced, as a transfer step's does (docs/decisions.md), so no table of keys is
needed. It is unique per charity, case and author: the charity leads the index, so one charity's
key can never collide with another's (a "duplicate key" would reveal it, DESIGN.md section 3),
and one worker's key is no other worker's. Rows written before, and rows written without a key,
hold NULL, which never collides.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# Each table, and the column naming who wrote its rows.
AUTHORS = {"case_notes": "written_by", "contacts": "recorded_by"}


def _index(table: str) -> str:
    return f"ix_{table}_charity_id_case_id_{AUTHORS[table]}_idempotency_key"


def upgrade() -> None:
    for table, author in AUTHORS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("idempotency_key", sa.String(length=80), nullable=True))
            batch_op.create_index(
                _index(table),
                ["charity_id", "case_id", author, "idempotency_key"],
                unique=True,
            )


def downgrade() -> None:
    for table in AUTHORS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(_index(table))
            batch_op.drop_column("idempotency_key")
