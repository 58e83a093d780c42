"""Consent records (DESIGN.md section 5): never edited; a change or withdrawal is a new record.

The app role may only SELECT and INSERT this table on PostgreSQL (migration 0005); the ORM guard
refuses an update or delete of a consent on every database, and SQLite has triggers to match.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.vocabulary import (
    ConsentDecision,
    ConsentMethod,
    ConsentPurpose,
    ConsentSubject,
    ConsentVerification,
    sql_in,
)
from app.models.base import Base, RandomId, UTCDateTime, utcnow
from app.models.casework import recorded_by
from app.models.families import tenant_fk
from tenants.model import TenantOwned


class ConsentRecord(RandomId, TenantOwned, Base):
    """Who agreed (or refused, or withdrew) to what, for which data, how, and for how long."""

    __tablename__ = "consents"
    __append_only__ = True
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        tenant_fk("case_id", "cases"),
        tenant_fk("family_member_id", "family_members"),
        tenant_fk("given_by_member_id", "family_members"),
        tenant_fk("withdraws_id", "consents"),
        Index("ix_consents_charity_id_case_id", "charity_id", "case_id"),
        # A consent's withdrawal, found by what it withdraws (migration 0010).
        Index("ix_consents_charity_id_withdraws_id", "charity_id", "withdraws_id"),
        CheckConstraint(f"subject IN ({sql_in(ConsentSubject)})", name="subject"),
        CheckConstraint(f"purpose IN ({sql_in(ConsentPurpose)})", name="purpose"),
        CheckConstraint(f"decision IN ({sql_in(ConsentDecision)})", name="decision"),
        CheckConstraint(f"method IN ({sql_in(ConsentMethod)})", name="method"),
        CheckConstraint(f"verification IN ({sql_in(ConsentVerification)})", name="verification"),
        CheckConstraint(
            "(subject = 'family_member') = (family_member_id IS NOT NULL)", name="subject_member"
        ),
        CheckConstraint("(decision = 'withdrawn') = (withdraws_id IS NOT NULL)", name="withdrawal"),
        CheckConstraint("expires_on IS NULL OR expires_on >= valid_from", name="dates_in_order"),
        CheckConstraint(
            "(purpose = 'transfer') = (recipient_charity_id IS NOT NULL)", name="transfer_recipient"
        ),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    subject: Mapped[str] = mapped_column(String(24), nullable=False)
    family_member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    # For a child, the parent or carer who agreed on the child's behalf.
    given_by_member_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    purpose: Mapped[str] = mapped_column(String(16), nullable=False)
    recipient_charity_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=True
    )
    # Sorted, comma-separated DataCategory values.
    categories: Mapped[str] = mapped_column(String(200), nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    method: Mapped[str] = mapped_column(String(16), nullable=False)
    verification: Mapped[str] = mapped_column(String(24), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, nullable=False)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    withdraws_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    recorded_by: Mapped[uuid.UUID] = recorded_by()
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
