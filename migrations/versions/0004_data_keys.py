"""Wrapped per-charity data keys for field encryption.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import migration_app_role

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _app_role() -> str:
    return migration_app_role(op.get_context().config.attributes)


def upgrade() -> None:
    op.create_table(
        "data_keys",
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name="fk_data_keys_charity_id_organisations",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("charity_id", "version", name="pk_data_keys"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # New versions are added by the app (charity set-up, rotation); re-wrapping under a new
        # root key is the owner's job, so the app role may not change a stored key.
        op.execute(f"GRANT SELECT, INSERT ON data_keys TO {_app_role()}")


def downgrade() -> None:
    op.drop_table("data_keys")
