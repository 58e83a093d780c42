"""Find the withdrawal of a consent by what it withdraws.

Whether a family objects to statistical use asks, for each statistics consent, whether a
withdrawal of it exists (app.services.figures.population.objecting_families). Without an index
on what a withdrawal withdraws, each such question read every consent of the charity: the
figures took time quadratic in a charity's consents (bench/release.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_consents_charity_id_withdraws_id", "consents", ["charity_id", "withdraws_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_consents_charity_id_withdraws_id", table_name="consents")
