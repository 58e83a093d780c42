"""Case data: one support episode for a family at a prison. Tenant-owned, behind all walls."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.vocabulary import ClosureReason, Need, ReferralSource, sql_in
from app.models.base import Base, RandomId, Timestamps
from app.models.families import tenant_fk
from tenants.model import TenantOwned


class CaseStatus(StrEnum):
    REFERRED = "referred"
    AWAITING_CONSENT = "awaiting_consent"
    ACTIVE = "active"
    TRANSFER_PENDING = "transfer_pending"
    TRANSFERRED_OUT = "transferred_out"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(
    {
        CaseStatus.REFERRED,
        CaseStatus.AWAITING_CONSENT,
        CaseStatus.ACTIVE,
        CaseStatus.TRANSFER_PENDING,
    }
)
STATUS_VALUES = ", ".join(f"'{status.value}'" for status in CaseStatus)


class Case(RandomId, Timestamps, TenantOwned, Base):
    """A family's support episode at one prison, owned by the charity that serves it."""

    __tablename__ = "cases"
    __tenant_table_args__ = (
        # The schema wall: uniqueness is per charity, so a duplicate never reveals another's value,
        # and (charity_id, id) is the target of every foreign key from other case tables.
        UniqueConstraint("charity_id", "reference"),
        UniqueConstraint("charity_id", "id"),
        CheckConstraint(f"status IN ({STATUS_VALUES})", name="status"),
        CheckConstraint("closed_on IS NULL OR closed_on >= opened_on", name="dates_in_order"),
        CheckConstraint(f"referral_source IN ({sql_in(ReferralSource)})", name="referral_source"),
        CheckConstraint(
            f"closure_reason IS NULL OR closure_reason IN ({sql_in(ClosureReason)})",
            name="closure_reason",
        ),
        tenant_fk("family_id", "families"),
        Index("ix_cases_charity_id_family_id", "charity_id", "family_id"),
        # A transfer makes at most one receiver case: a second accept is refused by the database.
        UniqueConstraint("charity_id", "transfer_id"),
        CheckConstraint(
            "(transfer_id IS NULL) = (transferred_from_charity_id IS NULL)", name="provenance"
        ),
        # Counting and listing one prison's cases.
        Index(
            "ix_cases_charity_id_prison_code_opened_on", "charity_id", "prison_code", "opened_on"
        ),
        # The case list across a worker's prisons, newest first: walked backwards, it stops after
        # one page instead of sorting every visible case (bench/isolation.py).
        Index("ix_cases_charity_id_opened_on_id", "charity_id", "opened_on", "id", "prison_code"),
    )

    reference: Mapped[str] = mapped_column(String(24), nullable=False)
    status: Mapped[str] = mapped_column(String(24), nullable=False, default=CaseStatus.REFERRED)
    opened_on: Mapped[date] = mapped_column(Date, nullable=False)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    referral_source: Mapped[str] = mapped_column(String(24), nullable=False)
    key_worker_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="RESTRICT"), nullable=True
    )
    safeguarding: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    review_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closure_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    # Provenance of a case that came by transfer (DESIGN.md section 6): from which charity and
    # prison, when, and by which transfer (whose offer names the consents it rested on).
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(
        # use_alter: case_transfers also points at cases (the sender's case).
        Uuid,
        ForeignKey("case_transfers.id", ondelete="RESTRICT", use_alter=True),
        nullable=True,
    )
    transferred_from_charity_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=True
    )
    transferred_from_prison_code: Mapped[str | None] = mapped_column(
        String(8), ForeignKey("prisons.code", ondelete="RESTRICT"), nullable=True
    )
    transferred_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class CaseNeed(TenantOwned, Base):
    """One need identified on a case: a row each, so figures count needs in SQL."""

    __tablename__ = "case_needs"
    __tenant_table_args__ = (
        PrimaryKeyConstraint("charity_id", "case_id", "need"),
        tenant_fk("case_id", "cases"),
        CheckConstraint(f"need IN ({sql_in(Need)})", name="need"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    need: Mapped[str] = mapped_column(String(24), nullable=False)
