"""The people a case is about: the person in custody, the family and its members, and equality
monitoring kept apart from the case file. Tenant-owned; personal fields are ciphertext.

A column ending ``_enc`` holds an AES-256-GCM field (app.security.keyring) bound to charity,
table, column (the name without ``_enc``) and row; ``app.services.platform.vault`` reads and writes
them.
"""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKeyConstraint,
    Index,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.vocabulary import (
    AgeBand,
    Disability,
    Ethnicity,
    MemberKind,
    Relationship,
    Sex,
    sql_in,
)
from app.models.base import Base, RandomId, Timestamps
from tenants.model import TenantOwned


def sealed() -> Mapped[bytes | None]:
    """An encrypted field (DESIGN.md section 4); NULL when not recorded."""
    return mapped_column(LargeBinary, nullable=True)


def tenant_fk(column: str, table: str) -> ForeignKeyConstraint:
    """A foreign key to another case table that includes the charity (the schema wall)."""
    return ForeignKeyConstraint(
        ["charity_id", column], [f"{table}.charity_id", f"{table}.id"], ondelete="RESTRICT"
    )


class PersonInCustody(RandomId, Timestamps, TenantOwned, Base):
    """The person in prison whose family is supported; ``prison_code`` is their current prison."""

    __tablename__ = "people_in_custody"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        # Prison-number lookups within a charity; not unique, so an insert never reveals that
        # the charity already holds the number at a prison the worker cannot see.
        Index(
            "ix_people_in_custody_charity_id_prison_number_index",
            "charity_id",
            "prison_number_index",
        ),
    )

    name_enc: Mapped[bytes | None] = sealed()
    prison_number_enc: Mapped[bytes | None] = sealed()
    date_of_birth_enc: Mapped[bytes | None] = sealed()
    # Blind index of the prison number (truncated HMAC under the charity's derived key).
    prison_number_index: Mapped[str | None] = mapped_column(String(32), nullable=True)
    expected_release_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class Family(RandomId, Timestamps, TenantOwned, Base):
    """The family of one person in custody, as supported at one prison."""

    __tablename__ = "families"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        tenant_fk("person_in_custody_id", "people_in_custody"),
    )

    person_in_custody_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)


class FamilyMember(RandomId, Timestamps, TenantOwned, Base):
    """An adult or child in the family; relationship and age band stay in clear for figures."""

    __tablename__ = "family_members"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        tenant_fk("family_id", "families"),
        Index("ix_family_members_charity_id_family_id", "charity_id", "family_id"),
        CheckConstraint(f"kind IN ({sql_in(MemberKind)})", name="kind"),
        CheckConstraint(f"relationship IN ({sql_in(Relationship)})", name="relationship"),
        CheckConstraint(f"age_band IS NULL OR age_band IN ({sql_in(AgeBand)})", name="age_band"),
    )

    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    relationship: Mapped[str] = mapped_column(String(24), nullable=False)
    is_main_contact: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    age_band: Mapped[str | None] = mapped_column(String(8), nullable=True)
    name_enc: Mapped[bytes | None] = sealed()
    date_of_birth_enc: Mapped[bytes | None] = sealed()
    phone_enc: Mapped[bytes | None] = sealed()
    email_enc: Mapped[bytes | None] = sealed()
    address_enc: Mapped[bytes | None] = sealed()


class EqualityMonitoring(RandomId, Timestamps, TenantOwned, Base):
    """One family member's equality monitoring answers, apart from the case file.

    Categories only, in clear, so they can leave as suppressed national totals (section 7); the
    family page never shows them, and reading them is its own audited action.
    """

    __tablename__ = "equality_monitoring"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        # One current answer per member; a new answer replaces it (recorded in the audit log).
        UniqueConstraint("charity_id", "family_member_id"),
        tenant_fk("family_member_id", "family_members"),
        CheckConstraint(f"ethnicity IN ({sql_in(Ethnicity)})", name="ethnicity"),
        CheckConstraint(f"sex IN ({sql_in(Sex)})", name="sex"),
        CheckConstraint(f"disability IN ({sql_in(Disability)})", name="disability"),
    )

    family_member_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    ethnicity: Mapped[str] = mapped_column(String(40), nullable=False)
    sex: Mapped[str] = mapped_column(String(16), nullable=False)
    disability: Mapped[str] = mapped_column(String(16), nullable=False)
    first_language: Mapped[str | None] = mapped_column(String(40), nullable=True)
