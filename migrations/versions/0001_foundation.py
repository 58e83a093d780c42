"""Foundation: reference data, organisations, services, staff, tokens, cases and their walls.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import drop_policy_statements, migration_app_role, policy_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TENANT_TABLES = ("cases",)
REFERENCE_TABLES = ("prisons", "organisations", "services")
STAFF_TABLES = ("users", "user_prisons", "api_tokens")

SQLITE_OVERLAP = """
CREATE TRIGGER tr_services_no_overlap_{event} BEFORE {event} ON services
WHEN EXISTS (
    SELECT 1 FROM services AS other
    WHERE other.prison_code = NEW.prison_code AND other.id != NEW.id
      AND other.starts_on < COALESCE(NEW.ends_on, '9999-12-31')
      AND NEW.starts_on < COALESCE(other.ends_on, '9999-12-31')
)
BEGIN SELECT RAISE(ABORT, 'service overlaps another service at the same prison'); END
"""


def _app_role() -> str:
    return migration_app_role(op.get_context().config.attributes)


def upgrade() -> None:
    op.create_table(
        "prisons",
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("male", sa.Boolean(), nullable=False),
        sa.Column("female", sa.Boolean(), nullable=False),
        sa.Column("contracted", sa.Boolean(), nullable=False),
        sa.Column("types", sa.String(40), nullable=False),
        sa.Column("town", sa.String(80), nullable=False),
        sa.Column("county", sa.String(80), nullable=False),
        sa.Column("country", sa.String(40), nullable=False),
        sa.Column("postcode", sa.String(10), nullable=False),
        sa.Column("region", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("code", name="pk_prisons"),
    )
    op.create_table(
        "organisations",
        sa.Column("slug", sa.String(32), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('charity', 'alliance', 'ministry')", name="ck_organisations_kind"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_organisations"),
        sa.UniqueConstraint("slug", name="uq_organisations_slug"),
    )
    op.create_table(
        "services",
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(8), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on > starts_on", name="ck_services_dates_in_order"
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name="fk_services_charity_id_organisations",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name="fk_services_prison_code_prisons",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_services"),
    )
    op.create_index("ix_services_charity_id", "services", ["charity_id"])
    op.create_index("ix_services_prison_code_starts_on", "services", ["prison_code", "starts_on"])

    op.create_table(
        "users",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("totp_secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("totp_confirmed", sa.Boolean(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("oidc_subject", sa.String(255), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('caseworker', 'site_manager', 'charity_admin', 'alliance_coordinator', "
            "'ministry_analyst', 'platform_operator')",
            name="ck_users_role",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name="fk_users_organisation_id_organisations",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint(
            "organisation_id", "username", name="uq_users_organisation_id_username"
        ),
        sa.UniqueConstraint(
            "organisation_id", "oidc_subject", name="uq_users_organisation_id_oidc_subject"
        ),
    )
    op.create_table(
        "user_prisons",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(8), nullable=False),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name="fk_user_prisons_prison_code_prisons",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_prisons_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "prison_code", name="pk_user_prisons"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_api_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])

    op.create_table(
        "cases",
        sa.Column("reference", sa.String(24), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(8), nullable=False),
        sa.CheckConstraint(
            "status IN ('referred', 'awaiting_consent', 'active', 'transfer_pending', "
            "'transferred_out', 'closed')",
            name="ck_cases_status",
        ),
        sa.CheckConstraint(
            "closed_on IS NULL OR closed_on >= opened_on", name="ck_cases_dates_in_order"
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name="fk_cases_charity_id_organisations",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name="fk_cases_prison_code_prisons",
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_cases"),
        sa.UniqueConstraint("charity_id", "reference", name="uq_cases_charity_id_reference"),
        sa.UniqueConstraint("charity_id", "id", name="uq_cases_charity_id_id"),
    )
    op.create_index(
        "ix_cases_charity_id_prison_code_opened_on",
        "cases",
        ["charity_id", "prison_code", "opened_on"],
    )

    if op.get_bind().dialect.name == "postgresql":
        _postgres_walls()
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(SQLITE_OVERLAP.format(event=event))


def _postgres_walls() -> None:
    role = _app_role()
    op.execute(
        f"""
        DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
            END IF;
        END $$
        """
    )
    # At most one charity serves a prison on a given day (DESIGN.md section 2).
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "ALTER TABLE services ADD CONSTRAINT ex_services_no_overlap EXCLUDE USING gist "
        "(prison_code WITH =, daterange(starts_on, ends_on, '[)') WITH &&)"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
    for table in REFERENCE_TABLES:
        op.execute(f"GRANT SELECT ON {table} TO {role}")
    for table in STAFF_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
    for table in TENANT_TABLES:
        # Case records are never deleted by the application; retention is a reviewed job.
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {role}")
        for statement in policy_statements(table, role):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TENANT_TABLES:
            for statement in drop_policy_statements(table):
                op.execute(statement)
        op.execute("ALTER TABLE services DROP CONSTRAINT ex_services_no_overlap")
    else:
        for event in ("INSERT", "UPDATE"):
            op.execute(f"DROP TRIGGER IF EXISTS tr_services_no_overlap_{event}")
    op.drop_index("ix_cases_charity_id_prison_code_opened_on", table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("user_prisons")
    op.drop_table("users")
    op.drop_index("ix_services_prison_code_starts_on", table_name="services")
    op.drop_index("ix_services_charity_id", table_name="services")
    op.drop_table("services")
    op.drop_table("organisations")
    op.drop_table("prisons")
