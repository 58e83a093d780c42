"""Case records: people in custody, families and members, equality monitoring, needs,
contacts, outcome assessments, action plans, notes and consent records; cases gain their family,
referral source, key worker, safeguarding flag, review date and closure reason.

Every new table is tenant-owned: row-level security with both policies for the app role. The app
role may INSERT and SELECT consents, notes and needs but never change them (a consent is never
edited, a note is added, not rewritten); SQLite refuses changes to consents with triggers.

Existing cases (from before case records existed) each get an empty person-in-custody and family
row with the case's own id, so ``cases.family_id`` can be required.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

# ruff: noqa: E501  (CHECK constraints are written out as the models render them)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tenants.postgres import migration_app_role, policy_statements

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Parents first: the order tables are created in, and dropped in reverse.
NEW_TABLES = (
    "people_in_custody",
    "families",
    "family_members",
    "equality_monitoring",
    "case_needs",
    "contacts",
    "outcome_assessments",
    "outcome_scores",
    "action_items",
    "case_notes",
    "consents",
)
# Written once, never changed by the app.
INSERT_ONLY = frozenset({"case_needs", "case_notes", "consents", "outcome_scores"})

_SQLITE_CONSENT_GUARDS = """
CREATE TRIGGER tr_consents_never_{event} BEFORE {event} ON consents
BEGIN
    SELECT RAISE(ABORT, 'consent records are never edited or deleted: record a new one');
END
"""


def _app_role() -> str:
    return migration_app_role(op.get_context().config.attributes)


def _create_tables() -> None:
    op.create_table(
        "people_in_custody",
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("prison_number_enc", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth_enc", sa.LargeBinary(), nullable=True),
        sa.Column("prison_number_index", sa.String(length=32), nullable=True),
        sa.Column("expected_release_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_people_in_custody_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_people_in_custody_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people_in_custody")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_people_in_custody_charity_id_id")),
    )
    with op.batch_alter_table("people_in_custody", schema=None) as batch_op:
        batch_op.create_index(
            "ix_people_in_custody_charity_id_prison_number_index",
            ["charity_id", "prison_number_index"],
            unique=False,
        )

    op.create_table(
        "families",
        sa.Column("person_in_custody_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["charity_id", "person_in_custody_id"],
            ["people_in_custody.charity_id", "people_in_custody.id"],
            name=op.f("fk_families_charity_id_person_in_custody_id_people_in_custody"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_families_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_families_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_families")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_families_charity_id_id")),
    )
    op.create_table(
        "family_members",
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("relationship", sa.String(length=24), nullable=False),
        sa.Column("is_main_contact", sa.Boolean(), nullable=False),
        sa.Column("age_band", sa.String(length=8), nullable=True),
        sa.Column("name_enc", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth_enc", sa.LargeBinary(), nullable=True),
        sa.Column("phone_enc", sa.LargeBinary(), nullable=True),
        sa.Column("email_enc", sa.LargeBinary(), nullable=True),
        sa.Column("address_enc", sa.LargeBinary(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "age_band IS NULL OR age_band IN ('0-4', '5-10', '11-15', '16-17')",
            name=op.f("ck_family_members_age_band"),
        ),
        sa.CheckConstraint("kind IN ('adult', 'child')", name=op.f("ck_family_members_kind")),
        sa.CheckConstraint(
            "relationship IN ('partner', 'parent', 'child', 'grandparent', 'grandchild', 'sibling', 'carer', 'other_relative', 'friend')",
            name=op.f("ck_family_members_relationship"),
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "family_id"],
            ["families.charity_id", "families.id"],
            name=op.f("fk_family_members_charity_id_family_id_families"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_family_members_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_family_members_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_members")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_family_members_charity_id_id")),
    )
    with op.batch_alter_table("family_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_family_members_charity_id_family_id", ["charity_id", "family_id"], unique=False
        )

    op.create_table(
        "action_items",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("description_enc", sa.LargeBinary(), nullable=True),
        sa.Column("owner", sa.String(length=16), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "completed_on IS NULL OR status <> 'open'",
            name=op.f("ck_action_items_completed_when_closed"),
        ),
        sa.CheckConstraint(
            "owner IN ('family', 'worker', 'partner_agency')", name=op.f("ck_action_items_owner")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'dropped')", name=op.f("ck_action_items_status")
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "case_id"],
            ["cases.charity_id", "cases.id"],
            name=op.f("fk_action_items_charity_id_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_action_items_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_action_items_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_action_items_recorded_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_action_items_charity_id_id")),
    )
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_action_items_charity_id_case_id", ["charity_id", "case_id"], unique=False
        )

    op.create_table(
        "case_needs",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("need", sa.String(length=24), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "need IN ('licence_conditions', 'child_concern', 'housing', 'finance', 'emotional_wellbeing', 'community_links', 'family_contact', 'visits', 'release')",
            name=op.f("ck_case_needs_need"),
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "case_id"],
            ["cases.charity_id", "cases.id"],
            name=op.f("fk_case_needs_charity_id_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_case_needs_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_case_needs_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("charity_id", "case_id", "need", name=op.f("pk_case_needs")),
    )
    op.create_table(
        "case_notes",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["charity_id", "case_id"],
            ["cases.charity_id", "cases.id"],
            name=op.f("fk_case_notes_charity_id_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_case_notes_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_case_notes_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["written_by"],
            ["users.id"],
            name=op.f("fk_case_notes_written_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_case_notes_charity_id_id")),
    )
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_notes_charity_id_case_id", ["charity_id", "case_id"], unique=False
        )

    op.create_table(
        "consents",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=24), nullable=False),
        sa.Column("family_member_id", sa.Uuid(), nullable=True),
        sa.Column("given_by_member_id", sa.Uuid(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("recipient_charity_id", sa.Uuid(), nullable=True),
        sa.Column("categories", sa.String(length=200), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("verification", sa.String(length=24), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("withdraws_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "(decision = 'withdrawn') = (withdraws_id IS NOT NULL)",
            name=op.f("ck_consents_withdrawal"),
        ),
        sa.CheckConstraint(
            "(purpose = 'transfer') = (recipient_charity_id IS NOT NULL)",
            name=op.f("ck_consents_transfer_recipient"),
        ),
        sa.CheckConstraint(
            "(subject = 'family_member') = (family_member_id IS NOT NULL)",
            name=op.f("ck_consents_subject_member"),
        ),
        sa.CheckConstraint(
            "decision IN ('given', 'refused', 'withdrawn')", name=op.f("ck_consents_decision")
        ),
        sa.CheckConstraint(
            "method IN ('verbal', 'written', 'digital')", name=op.f("ck_consents_method")
        ),
        sa.CheckConstraint(
            "purpose IN ('contact', 'transfer', 'statistics')", name=op.f("ck_consents_purpose")
        ),
        sa.CheckConstraint(
            "subject IN ('person_in_custody', 'family_member')", name=op.f("ck_consents_subject")
        ),
        sa.CheckConstraint(
            "verification IN ('in_person_id_seen', 'signed_form', 'call_back', 'witnessed', 'none')",
            name=op.f("ck_consents_verification"),
        ),
        sa.CheckConstraint(
            "expires_on IS NULL OR expires_on >= valid_from",
            name=op.f("ck_consents_dates_in_order"),
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "case_id"],
            ["cases.charity_id", "cases.id"],
            name=op.f("fk_consents_charity_id_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "family_member_id"],
            ["family_members.charity_id", "family_members.id"],
            name=op.f("fk_consents_charity_id_family_member_id_family_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "given_by_member_id"],
            ["family_members.charity_id", "family_members.id"],
            name=op.f("fk_consents_charity_id_given_by_member_id_family_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "withdraws_id"],
            ["consents.charity_id", "consents.id"],
            name=op.f("fk_consents_charity_id_withdraws_id_consents"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_consents_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_consents_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_charity_id"],
            ["organisations.id"],
            name=op.f("fk_consents_recipient_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_consents_recorded_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_consents_charity_id_id")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consents_charity_id_case_id", ["charity_id", "case_id"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("occurred_on", sa.Date(), nullable=False),
        sa.Column("first_time_visitor", sa.Boolean(), nullable=False),
        sa.Column("children_present", sa.Boolean(), nullable=False),
        sa.Column("children_count", sa.Integer(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("summary_enc", sa.LargeBinary(), nullable=True),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "kind IN ('visit', 'one_to_one', 'phone', 'family_day', 'referral_out')",
            name=op.f("ck_contacts_kind"),
        ),
        sa.CheckConstraint(
            "children_count IS NULL OR children_count BETWEEN 0 AND 30",
            name=op.f("ck_contacts_children_count"),
        ),
        sa.CheckConstraint(
            "duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 1440",
            name=op.f("ck_contacts_duration"),
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "case_id"],
            ["cases.charity_id", "cases.id"],
            name=op.f("fk_contacts_charity_id_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_contacts_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_contacts_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_contacts_recorded_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_contacts_charity_id_id")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_charity_id_case_id_occurred_on",
            ["charity_id", "case_id", "occurred_on"],
            unique=False,
        )
        batch_op.create_index(
            "ix_contacts_charity_id_prison_code_occurred_on",
            ["charity_id", "prison_code", "occurred_on"],
            unique=False,
        )

    op.create_table(
        "equality_monitoring",
        sa.Column("family_member_id", sa.Uuid(), nullable=False),
        sa.Column("ethnicity", sa.String(length=40), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("disability", sa.String(length=16), nullable=False),
        sa.Column("first_language", sa.String(length=40), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint(
            "disability IN ('yes', 'no', 'not_stated')",
            name=op.f("ck_equality_monitoring_disability"),
        ),
        sa.CheckConstraint(
            "ethnicity IN ('asian_bangladeshi', 'asian_chinese', 'asian_indian', 'asian_pakistani', 'asian_other', 'black_african', 'black_caribbean', 'black_other', 'mixed_white_asian', 'mixed_white_black_african', 'mixed_white_black_caribbean', 'mixed_other', 'white_british', 'white_irish', 'white_gypsy_traveller', 'white_roma', 'white_other', 'other_arab', 'other_any', 'not_stated')",
            name=op.f("ck_equality_monitoring_ethnicity"),
        ),
        sa.CheckConstraint(
            "sex IN ('female', 'male', 'not_stated')", name=op.f("ck_equality_monitoring_sex")
        ),
        sa.ForeignKeyConstraint(
            ["charity_id", "family_member_id"],
            ["family_members.charity_id", "family_members.id"],
            name=op.f("fk_equality_monitoring_charity_id_family_member_id_family_members"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_equality_monitoring_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_equality_monitoring_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equality_monitoring")),
        sa.UniqueConstraint(
            "charity_id",
            "family_member_id",
            name=op.f("uq_equality_monitoring_charity_id_family_member_id"),
        ),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_equality_monitoring_charity_id_id")),
    )
    op.create_table(
        "outcome_assessments",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("framework", sa.String(length=40), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["charity_id", "case_id"],
            ["cases.charity_id", "cases.id"],
            name=op.f("fk_outcome_assessments_charity_id_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_outcome_assessments_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_outcome_assessments_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_outcome_assessments_recorded_by_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_assessments")),
        sa.UniqueConstraint("charity_id", "id", name=op.f("uq_outcome_assessments_charity_id_id")),
    )
    with op.batch_alter_table("outcome_assessments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outcome_assessments_charity_id_case_id", ["charity_id", "case_id"], unique=False
        )

    op.create_table(
        "outcome_scores",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("area", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("charity_id", sa.Uuid(), nullable=False),
        sa.Column("prison_code", sa.String(length=8), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 10", name=op.f("ck_outcome_scores_score")),
        sa.ForeignKeyConstraint(
            ["charity_id", "assessment_id"],
            ["outcome_assessments.charity_id", "outcome_assessments.id"],
            name=op.f("fk_outcome_scores_charity_id_assessment_id_outcome_assessments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["charity_id"],
            ["organisations.id"],
            name=op.f("fk_outcome_scores_charity_id_organisations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["prison_code"],
            ["prisons.code"],
            name=op.f("fk_outcome_scores_prison_code_prisons"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "charity_id", "assessment_id", "area", name=op.f("pk_outcome_scores")
        ),
    )


def _backfill_existing_cases(is_postgres: bool) -> None:
    if is_postgres:
        # The owner is subject to forced row-level security like anyone else; lift it for the
        # copy and put it back below, in the same transaction.
        op.execute("ALTER TABLE cases NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "INSERT INTO people_in_custody (id, created_at, updated_at, charity_id, prison_code) "
        "SELECT id, created_at, updated_at, charity_id, prison_code FROM cases"
    )
    op.execute(
        "INSERT INTO families (id, person_in_custody_id, created_at, updated_at, charity_id, "
        "prison_code) SELECT id, id, created_at, updated_at, charity_id, prison_code FROM cases"
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "referral_source",
                sa.String(length=24),
                nullable=False,
                server_default="other_agency",
            )
        )
        batch_op.add_column(sa.Column("key_worker_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column("safeguarding", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("review_due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("closure_reason", sa.String(length=24), nullable=True))
    op.execute("UPDATE cases SET family_id = id")
    op.execute("UPDATE cases SET closure_reason = 'other' WHERE closed_on IS NOT NULL")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.alter_column("family_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column(
            "referral_source", existing_type=sa.String(length=24), server_default=None
        )
        batch_op.alter_column("safeguarding", existing_type=sa.Boolean(), server_default=None)
        batch_op.create_index("ix_cases_charity_id_family_id", ["charity_id", "family_id"])
        batch_op.create_foreign_key(
            "fk_cases_key_worker_id_users", "users", ["key_worker_id"], ["id"], ondelete="RESTRICT"
        )
        batch_op.create_foreign_key(
            "fk_cases_charity_id_family_id_families",
            "families",
            ["charity_id", "family_id"],
            ["charity_id", "id"],
            ondelete="RESTRICT",
        )
        batch_op.create_check_constraint(
            "referral_source",
            "referral_source IN ('offender_manager', 'self', 'prison_staff', "
            "'childrens_services', 'school', 'other_agency')",
        )
        batch_op.create_check_constraint(
            "closure_reason",
            "closure_reason IS NULL OR closure_reason IN ('outcomes_met', 'family_withdrew', "
            "'no_contact', 'released', 'moved_prison', 'referred_on', 'other')",
        )
    if is_postgres:
        op.execute("ALTER TABLE cases FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    is_postgres = op.get_bind().dialect.name == "postgresql"
    _create_tables()
    _backfill_existing_cases(is_postgres)
    if is_postgres:
        role = _app_role()
        for table in NEW_TABLES:
            grant = "SELECT, INSERT" if table in INSERT_ONLY else "SELECT, INSERT, UPDATE"
            op.execute(f"GRANT {grant} ON {table} TO {role}")
            for statement in policy_statements(table, role):
                op.execute(statement)
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(_SQLITE_CONSENT_GUARDS.format(event=event))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS tr_consents_never_{event}")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_cases_closure_reason"), type_="check")
        batch_op.drop_constraint(op.f("ck_cases_referral_source"), type_="check")
        batch_op.drop_constraint("fk_cases_charity_id_family_id_families", type_="foreignkey")
        batch_op.drop_constraint("fk_cases_key_worker_id_users", type_="foreignkey")
        batch_op.drop_index("ix_cases_charity_id_family_id")
        batch_op.drop_column("closure_reason")
        batch_op.drop_column("review_due_on")
        batch_op.drop_column("safeguarding")
        batch_op.drop_column("key_worker_id")
        batch_op.drop_column("referral_source")
        batch_op.drop_column("family_id")
    op.drop_table("outcome_scores")
    with op.batch_alter_table("outcome_assessments", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_assessments_charity_id_case_id")

    op.drop_table("outcome_assessments")
    op.drop_table("equality_monitoring")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_charity_id_prison_code_occurred_on")
        batch_op.drop_index("ix_contacts_charity_id_case_id_occurred_on")

    op.drop_table("contacts")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index("ix_consents_charity_id_case_id")

    op.drop_table("consents")
    with op.batch_alter_table("case_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_case_notes_charity_id_case_id")

    op.drop_table("case_notes")
    op.drop_table("case_needs")
    with op.batch_alter_table("action_items", schema=None) as batch_op:
        batch_op.drop_index("ix_action_items_charity_id_case_id")

    op.drop_table("action_items")
    with op.batch_alter_table("family_members", schema=None) as batch_op:
        batch_op.drop_index("ix_family_members_charity_id_family_id")

    op.drop_table("family_members")
    op.drop_table("families")
    with op.batch_alter_table("people_in_custody", schema=None) as batch_op:
        batch_op.drop_index("ix_people_in_custody_charity_id_prison_number_index")

    op.drop_table("people_in_custody")
