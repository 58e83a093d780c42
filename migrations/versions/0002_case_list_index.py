"""Case list newest first across a worker's prisons, without sorting every visible case.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_charity_id_opened_on_id",
        "cases",
        ["charity_id", "opened_on", "id", "prison_code"],
    )


def downgrade() -> None:
    op.drop_index("ix_cases_charity_id_opened_on_id", table_name="cases")
