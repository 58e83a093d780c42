"""The audit log: sealed, hash-chained events, append-only for the application role.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import migration_app_role

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _app_role() -> str:
    return migration_app_role(op.get_context().config.attributes)


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("chain", sa.String(40), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("organisation", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("record_type", sa.String(32), nullable=False),
        sa.Column("record_ids", sa.Text(), nullable=False),
        sa.Column("source", sa.String(128), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
        sa.UniqueConstraint("chain", "sequence", name="uq_audit_events_chain_sequence"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Append-only (DESIGN.md section 8): no UPDATE, DELETE or TRUNCATE for the app role.
        op.execute(f"GRANT SELECT, INSERT ON audit_events TO {_app_role()}")


def downgrade() -> None:
    op.drop_table("audit_events")
