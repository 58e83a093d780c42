"""Transfers between charities (DESIGN.md section 6): the shared transfer and its steps, the
receiver's offer package, the notification outbox, and the provenance of a transferred case.

``case_transfers`` and ``case_transfer_steps`` are shared by the two sides: on PostgreSQL one
policy lets each side see a row at its own prison (tenants.postgres.shared_policy_statements).
The app role may insert and read steps, never change them; it never deletes from any of these.
``transfer_offers`` and ``notifications`` are tenant-owned like every case table.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

# ruff: noqa: E501  (CHECK constraints are written out as the models render them)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import migration_app_role, policy_statements, shared_policy_statements

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_transfers",
        sa.Column("sender_case_id", sa.Uuid(), nullable=True),
        sa.Column("origin", sa.String(length=24), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("offer_life_days", sa.Integer(), nullable=False),
        sa.Column("step_count", sa.Integer(), nullable=False),
        sa.Column("offered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sender_charity_id", sa.Uuid(), nullable=False),
        sa.Column("sender_prison_code", sa.String(length=8), nullable=False),
        sa.Column("receiver_charity_id", sa.Uuid(), nullable=False),
        sa.Column("receiver_prison_code", sa.String(length=8), nullable=False),
        sa.Column("receiver_sees", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "origin IN ('sender', 'receiver_request', 'movement', 'contract_change')",
            name=op.f("ck_case_transfers_origin"),
        ),
        sa.CheckConstraint(
            "sender_case_id IS NOT NULL OR state IN ('requested', 'refused')",
            name=op.f("ck_case_transfers_case_known"),
        ),
        sa.CheckConstraint(
            "state IN ('requested', 'proposed', 'awaiting_consent', 'offered', 'accepted', 'declined', 'refused', 'cancelled', 'expired', 'halted')",
            name=op.f("ck_case_transfers_state"),
        ),
        sa.CheckConstraint(
            "offer_life_days BETWEEN 1 AND 90", name=op.f("ck_case_transfers_offer_life")
        ),
        sa.CheckConstraint(
            "sender_charity_id <> receiver_charity_id", name=op.f("ck_case_transfers_two_charities")
        ),
        sa.ForeignKeyConstraint(
            ["receiver_charity_id"],
            ["organisations.id"],
            name=op.f("fk_case_transfers_receiver_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["receiver_prison_code"],
            ["prisons.code"],
            name=op.f("fk_case_transfers_receiver_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sender_charity_id", "sender_case_id"],
            ["cases.charity_id", "cases.id"],
            name=op.f("fk_case_transfers_sender_charity_id_sender_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sender_charity_id"],
            ["organisations.id"],
            name=op.f("fk_case_transfers_sender_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sender_prison_code"],
            ["prisons.code"],
            name=op.f("fk_case_transfers_sender_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfers")),
        info={"shared_tenancy": True},
    )
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_transfers_receiver",
            ["receiver_charity_id", "receiver_prison_code", "state"],
            unique=False,
        )
        batch_op.create_index(
            "ix_case_transfers_sender",
            ["sender_charity_id", "sender_prison_code", "state"],
            unique=False,
        )
        batch_op.create_index(
            "ix_case_transfers_sender_charity_id_sender_case_id",
            ["sender_charity_id", "sender_case_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_case_transfers_one_live_per_case",
            ["sender_charity_id", "sender_case_id"],
            unique=True,
            sqlite_where=sa.text(
                "state IN ('requested', 'proposed', 'awaiting_consent', 'offered')"
            ),
            postgresql_where=sa.text(
                "state IN ('requested', 'proposed', 'awaiting_consent', 'offered')"
            ),
        )

    op.create_table(
        "case_transfer_steps",
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_user_id", sa.Uuid(), nullable=True),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sender_charity_id", sa.Uuid(), nullable=False),
        sa.Column("sender_prison_code", sa.String(length=8), nullable=False),
        sa.Column("receiver_charity_id", sa.Uuid(), nullable=False),
        sa.Column("receiver_prison_code", sa.String(length=8), nullable=False),
        sa.Column("receiver_sees", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "party IN ('sender', 'receiver', 'platform')", name=op.f("ck_case_transfer_steps_party")
        ),
        sa.CheckConstraint(
            "reason IS NULL OR reason IN ('person_moved', 'family_asked', 'contract_change', 'family_declined', 'no_capacity', 'not_our_prison', 'no_matching_case', 'person_moved_again', 'sent_in_error', 'consent_withdrawn', 'no_answer', 'other')",
            name=op.f("ck_case_transfer_steps_reason"),
        ),
        sa.CheckConstraint(
            "state IN ('requested', 'proposed', 'awaiting_consent', 'offered', 'accepted', 'declined', 'refused', 'cancelled', 'expired', 'halted')",
            name=op.f("ck_case_transfer_steps_state"),
        ),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["users.id"],
            name=op.f("fk_case_transfer_steps_by_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["receiver_charity_id"],
            ["organisations.id"],
            name=op.f("fk_case_transfer_steps_receiver_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["receiver_prison_code"],
            ["prisons.code"],
            name=op.f("fk_case_transfer_steps_receiver_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sender_charity_id"],
            ["organisations.id"],
            name=op.f("fk_case_transfer_steps_sender_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["sender_prison_code"],
            ["prisons.code"],
            name=op.f("fk_case_transfer_steps_sender_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["case_transfers.id"],
            name=op.f("fk_case_transfer_steps_transfer_id_case_transfers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_transfer_steps")),
        sa.UniqueConstraint(
            "transfer_id",
            "idempotency_key",
            name=op.f("uq_case_transfer_steps_transfer_id_idempotency_key"),
        ),
        sa.UniqueConstraint(
            "transfer_id", "sequence", name=op.f("uq_case_transfer_steps_transfer_id_sequence")
        ),
        info={"shared_tenancy": True},
    )
    op.create_table(
        "notifications",
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "state IN ('requested', 'proposed', 'awaiting_consent', 'offered', 'accepted', 'declined', 'refused', 'cancelled', 'expired', 'halted')",
            name=op.f("ck_notifications_state"),
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_notifications_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_notifications_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["case_transfers.id"],
            name=op.f("fk_notifications_transfer_id_case_transfers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_notifications_charity_id_id")),
        info={"tenant_owned": True},
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_unsent", ["charity_id", "sent_at"], unique=False)

    op.create_table(
        "transfer_offers",
        sa.Column("transfer_id", sa.Uuid(), nullable=False),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("consent_ids", sa.Text(), nullable=False),
        sa.Column("package_enc", sa.LargeBinary(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_transfer_offers_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_transfer_offers_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["transfer_id"],
            ["case_transfers.id"],
            name=op.f("fk_transfer_offers_transfer_id_case_transfers"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer_offers")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_transfer_offers_charity_id_id")),
        sa.UniqueConstraint(
            "charity_id", "transfer_id", name=op.f("uq_transfer_offers_charity_id_transfer_id")
        ),
        info={"tenant_owned": True},
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transfer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("transferred_from_charity_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("transferred_from_prison_code", sa.String(length=8), nullable=True)
        )
        batch_op.add_column(sa.Column("transferred_on", sa.Date(), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_cases_charity_id_transfer_id"), ["charity_id", "transfer_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_transferred_from_prison_code_prisons"),
            "prisons",
            ["transferred_from_prison_code"],
            ["code"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_transfer_id_case_transfers"),
            "case_transfers",
            ["transfer_id"],
            ["id"],
            ondelete="RESTRICT",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_transferred_from_charity_id_organisations"),
            "organisations",
            ["transferred_from_charity_id"],
            ["id"],
            ondelete="RESTRICT",
        )

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notification_email", sa.String(length=254), nullable=True))

    if op.get_bind().dialect.name == "postgresql":
        role = migration_app_role(op.get_context().config.attributes)
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON case_transfers TO {role}")
        op.execute(f"GRANT SELECT, INSERT ON case_transfer_steps TO {role}")
        for table in ("case_transfers", "case_transfer_steps"):
            for statement in shared_policy_statements(table, role):
                op.execute(statement)
        for table in ("transfer_offers", "notifications"):
            op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO {role}")
            for statement in policy_statements(table, role):
                op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("notification_email")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_cases_transferred_from_charity_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_cases_transfer_id_case_transfers"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_cases_transferred_from_prison_code_prisons"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_cases_charity_id_transfer_id"), type_="unique")
        batch_op.drop_column("transferred_on")
        batch_op.drop_column("transferred_from_prison_code")
        batch_op.drop_column("transferred_from_charity_id")
        batch_op.drop_column("transfer_id")

    op.drop_table("transfer_offers")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_unsent")

    op.drop_table("notifications")
    op.drop_table("case_transfer_steps")
    with op.batch_alter_table("case_transfers", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_case_transfers_one_live_per_case",
            sqlite_where=sa.text(
                "state IN ('requested', 'proposed', 'awaiting_consent', 'offered')"
            ),
            postgresql_where=sa.text(
                "state IN ('requested', 'proposed', 'awaiting_consent', 'offered')"
            ),
        )
        batch_op.drop_index("ix_case_transfers_sender_charity_id_sender_case_id")
        batch_op.drop_index("ix_case_transfers_sender")
        batch_op.drop_index("ix_case_transfers_receiver")

    op.drop_table("case_transfers")
