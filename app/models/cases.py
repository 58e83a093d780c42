"""Case data: one support episode for a family at a prison. Tenant-owned, behind all walls."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, RandomId, Timestamps
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
