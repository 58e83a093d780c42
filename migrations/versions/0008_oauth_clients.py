"""The ministry's API clients and their access tokens (DESIGN.md section 9, issue 5 item 5).

``oauth_clients`` holds a digest of each client's secret; ``oauth_tokens`` a digest of each
short-lived access token. Neither is tenant-owned: no case data, no charity.

On PostgreSQL the app role may read clients and add and read tokens, nothing more. Clients are
created and revoked by the operator through the schema owner (``continuum clients``), so the
application can neither mint a client, change a secret, nor undo a revocation; a token is never
changed after it is issued (revoking its client ends it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import migration_app_role

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_oauth_clients_organisation_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_clients")),
        sa.UniqueConstraint(
            "organisation_id", "name", name=op.f("uq_oauth_clients_organisation_id_name")
        ),
    )
    op.create_table(
        "oauth_tokens",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.id"],
            name=op.f("fk_oauth_tokens_client_id_oauth_clients"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oauth_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_oauth_tokens_token_hash")),
    )
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_tokens_client_id"), ["client_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        role = migration_app_role(op.get_context().config.attributes)
        op.execute(f"GRANT SELECT ON oauth_clients TO {role}")
        op.execute(f"GRANT SELECT, INSERT ON oauth_tokens TO {role}")


def downgrade() -> None:
    with op.batch_alter_table("oauth_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_tokens_client_id"))

    op.drop_table("oauth_tokens")
    op.drop_table("oauth_clients")
