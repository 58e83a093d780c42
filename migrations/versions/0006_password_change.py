"""Users gain ``must_change_password``: set when someone else chose the password (a charity
admin's set-up password, the CLI), cleared when the user picks their own.

Existing users keep the password they chose, so the column is added as false for them; the
server default is then dropped, as the model has none (like ``cases.safeguarding`` in 0005).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "must_change_password", existing_type=sa.Boolean(), server_default=None
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
