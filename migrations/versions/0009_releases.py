"""Quarterly releases, the charities' sign-offs, and the readers' role (issue 5 items 3 and 6).

``quarter_sign_offs`` is append-only for the app role. ``releases`` rows are written once at
build; a trigger lets an update change only a draft, and only its status and who published it
when, and refuses deleting a published release. ``release_protections`` (what later audits need,
exact per-charity contributions among it) is read only while building.

On PostgreSQL the ministry's and the alliance's requests run under the readers' role
(``<app role>_reader``, which the app role may SET ROLE to, per transaction): it has no grant on
any case table, nor on the data keys or the release protections; it may read the reference
tables, the staff tables a signed-in user needs, and the releases.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import MissingRole, migration_app_role, reader_role_for

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# What the readers' role may do, table by table; anything not named here it cannot touch. Sign-in
# (and a personal or OAuth token's look-up) runs as the app role before the actor is known; what
# follows runs as the readers'. Never a table with a charity column (services and the sign-off
# steps included: the coordinator reads those on the app role's builder session), nor data_keys
# or release_protections: tests/postgres/test_reader_role.py reads the catalogue.
READER_GRANTS = {
    "organisations": "SELECT",  # the signed-in user's organisation, names on every page
    "prisons": "SELECT",  # prison names on pages and in releases
    "users": "SELECT, UPDATE",  # the signed-in user; a password change, ending all sessions
    "user_prisons": "SELECT",  # loaded with the user
    "audit_events": "SELECT, INSERT",  # every request is audited on its chain (head read first)
    "releases": "SELECT, UPDATE",  # read; the coordinator publishes or discards a draft
}

_GUARD = """
CREATE FUNCTION releases_written_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'published' THEN
            RAISE EXCEPTION 'a published release is never deleted';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' THEN
        RAISE EXCEPTION 'a % release is never changed', OLD.status;
    END IF;
    IF (NEW.id, NEW.quarter, NEW.revision, NEW.threshold, NEW.base, NEW.content, NEW.sha256,
        NEW.built_at, NEW.built_by, NEW.supersedes_id, NEW.revision_reason)
       IS DISTINCT FROM
       (OLD.id, OLD.quarter, OLD.revision, OLD.threshold, OLD.base, OLD.content, OLD.sha256,
        OLD.built_at, OLD.built_by, OLD.supersedes_id, OLD.revision_reason) THEN
        RAISE EXCEPTION 'a release''s figures are written once, at build';
    END IF;
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    op.create_table(
        "quarter_sign_offs",
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "action IN ('signed_off', 'reopened')", name=op.f("ck_quarter_sign_offs_action")
        ),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_quarter_sign_offs_sequence")),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_quarter_sign_offs_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_quarter_sign_offs_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarter_sign_offs")),
        sa.UniqueConstraint(
            "charity_id",
            "quarter",
            "sequence",
            name=op.f("uq_quarter_sign_offs_charity_id_quarter_sequence"),
        ),
    )
    op.create_table(
        "releases",
        sa.Column("quarter", sa.String(length=6), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("base", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("built_by", sa.Uuid(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("revision_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'discarded')", name=op.f("ck_releases_status")
        ),
        sa.CheckConstraint("revision >= 1", name=op.f("ck_releases_revision")),
        sa.CheckConstraint("threshold >= 1 AND base >= 1", name=op.f("ck_releases_rules")),
        sa.ForeignKeyConstraint(
            ["built_by"], ["users.id"], name=op.f("fk_releases_built_by_users"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["published_by"],
            ["users.id"],
            name=op.f("fk_releases_published_by_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["releases.id"],
            name=op.f("fk_releases_supersedes_id_releases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("quarter", "revision", name=op.f("uq_releases_quarter_revision")),
    )
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.create_index("ix_releases_status_quarter", ["status", "quarter"], unique=False)
    op.create_table(
        "release_protections",
        sa.Column("release_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_release_protections_release_id_releases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("release_id", name=op.f("pk_release_protections")),
    )

    if op.get_bind().dialect.name == "postgresql":
        _postgres()


def _postgres() -> None:
    role = migration_app_role(op.get_context().config.attributes)
    reader = reader_role_for(role)
    op.execute("GRANT SELECT, INSERT ON quarter_sign_offs TO " + role)
    op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON releases TO " + role)
    op.execute("GRANT SELECT, INSERT, DELETE ON release_protections TO " + role)
    op.execute(_GUARD)
    op.execute(
        "CREATE TRIGGER releases_written_once BEFORE UPDATE OR DELETE ON releases "
        "FOR EACH ROW EXECUTE FUNCTION releases_written_once()"
    )
    # The role is made by the database's administrator where the owner may not create roles
    # (the tests do); made here otherwise. The app role switches to it per transaction.
    _require_reader(role, reader)
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{reader}') THEN
                CREATE ROLE {reader} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
            IF NOT pg_has_role('{role}', '{reader}', 'MEMBER') THEN
                GRANT {reader} TO {role};
            END IF;
        END $$
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {reader}")
    for table, grant in READER_GRANTS.items():
        op.execute(f"GRANT {grant} ON {table} TO {reader}")


def _require_reader(role: str, reader: str) -> None:
    """Stop with the administrator's exact step when the readers' role is not ready and the
    owner may not make it (PostgreSQL's own error names neither the step nor the setting)."""
    bind = op.get_bind()
    ready = bind.execute(
        sa.text(
            "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = :reader) "
            "AND pg_has_role(:role, (SELECT oid FROM pg_roles WHERE rolname = :reader), 'MEMBER')"
        ),
        {"reader": reader, "role": role},
    ).scalar()
    may = bind.execute(
        sa.text("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user")
    ).scalar()
    if not ready and not may:
        raise MissingRole(role)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        role = migration_app_role(op.get_context().config.attributes)
        reader = reader_role_for(role)
        for table in READER_GRANTS:
            op.execute(f"REVOKE ALL ON {table} FROM {reader}")
        op.execute(f"REVOKE USAGE ON SCHEMA public FROM {reader}")
        op.execute("DROP TRIGGER IF EXISTS releases_written_once ON releases")
        op.execute("DROP FUNCTION IF EXISTS releases_written_once()")
    op.drop_table("release_protections")
    with op.batch_alter_table("releases", schema=None) as batch_op:
        batch_op.drop_index("ix_releases_status_quarter")
    op.drop_table("releases")
    op.drop_table("quarter_sign_offs")
