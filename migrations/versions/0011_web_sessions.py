"""Signed-in browser sessions kept on the server, so that signing out ends one (issue 13 item 1).

``web_sessions`` holds, per sign-in, a SHA-256 digest of the random secret the session cookie
carries, and when the session ended. It is not tenant-owned: no case data and no charity column,
and like ``api_tokens`` it is read before any context exists (loading the signed-in user), for
every organisation's staff alike.

On PostgreSQL the app role may read, add, end and forget (delete) sessions. The readers' role,
under which the ministry's and the alliance's requests run once signed in, may read, add and end
them (signing out; a password change moves the browser to a new session), but not delete: only
a sign-in, which runs as the app role, forgets old ones.

Sessions open before this revision carry no secret, so their people sign in again once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import migration_app_role, reader_role_for

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_web_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        role = migration_app_role(op.get_context().config.attributes)
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON web_sessions TO {role}")
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON web_sessions TO {reader_role_for(role)}")


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))

    op.drop_table("web_sessions")
