"""The work done on a case: contacts, outcome assessments, action plan items and notes.

Every row belongs to one case and carries its charity and prison; free text is ciphertext.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.vocabulary import ActionOwner, ActionStatus, ContactKind, sql_in
from app.models.base import Base, RandomId, Timestamps, UTCDateTime
from app.models.families import sealed, tenant_fk
from tenants.model import TenantOwned


def recorded_by() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)


def idempotency_key_column() -> Mapped[str | None]:
    """The API's ``Idempotency-Key`` of the request that wrote the row (NULL when none was sent),
    kept on the row it produced, as a transfer step keeps its own (docs/decisions.md)."""
    return mapped_column(String(80), nullable=True)


def idempotency_index(table: str, author: str) -> Index:
    """One row per key, per author, per case, per charity: a retry finds its first row, and
    since the charity leads the key, one charity's key can never collide with (and so reveal)
    another's (DESIGN.md section 3). Rows without a key (NULL) never collide."""
    columns = ("charity_id", "case_id", author, "idempotency_key")
    return Index(f"ix_{table}_{'_'.join(columns)}", *columns, unique=True)


class Contact(RandomId, Timestamps, TenantOwned, Base):
    """A dated interaction with the family."""

    __tablename__ = "contacts"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        tenant_fk("case_id", "cases"),
        Index("ix_contacts_charity_id_case_id_occurred_on", "charity_id", "case_id", "occurred_on"),
        # "Recent contacts at my prisons" and the quarterly figures walk this one.
        Index(
            "ix_contacts_charity_id_prison_code_occurred_on",
            "charity_id",
            "prison_code",
            "occurred_on",
        ),
        CheckConstraint(f"kind IN ({sql_in(ContactKind)})", name="kind"),
        CheckConstraint(
            "children_count IS NULL OR children_count BETWEEN 0 AND 30", name="children_count"
        ),
        CheckConstraint(
            "duration_minutes IS NULL OR duration_minutes BETWEEN 1 AND 1440", name="duration"
        ),
        # A retried request finds the contact it wrote; see idempotency_index().
        idempotency_index("contacts", "recorded_by"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    occurred_on: Mapped[date] = mapped_column(Date, nullable=False)
    first_time_visitor: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    children_present: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    children_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary_enc: Mapped[bytes | None] = sealed()
    recorded_by: Mapped[uuid.UUID] = recorded_by()
    idempotency_key: Mapped[str | None] = idempotency_key_column()


class OutcomeAssessment(RandomId, Timestamps, TenantOwned, Base):
    """Scores against an outcome framework on one day (the scores are rows of their own)."""

    __tablename__ = "outcome_assessments"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        tenant_fk("case_id", "cases"),
        Index("ix_outcome_assessments_charity_id_case_id", "charity_id", "case_id"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    framework: Mapped[str] = mapped_column(String(40), nullable=False)
    assessed_on: Mapped[date] = mapped_column(Date, nullable=False)
    recorded_by: Mapped[uuid.UUID] = recorded_by()


class OutcomeScore(TenantOwned, Base):
    """One area's score in one assessment; scores stay in clear for distance-travelled figures."""

    __tablename__ = "outcome_scores"
    __tenant_table_args__ = (
        PrimaryKeyConstraint("charity_id", "assessment_id", "area"),
        tenant_fk("assessment_id", "outcome_assessments"),
        CheckConstraint("score BETWEEN 1 AND 10", name="score"),
    )

    assessment_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    area: Mapped[str] = mapped_column(String(40), nullable=False)
    score: Mapped[int] = mapped_column(Integer, nullable=False)


class ActionItem(RandomId, Timestamps, TenantOwned, Base):
    """One step of the family's action plan."""

    __tablename__ = "action_items"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        tenant_fk("case_id", "cases"),
        Index("ix_action_items_charity_id_case_id", "charity_id", "case_id"),
        CheckConstraint(f"status IN ({sql_in(ActionStatus)})", name="status"),
        CheckConstraint(f"owner IN ({sql_in(ActionOwner)})", name="owner"),
        CheckConstraint("completed_on IS NULL OR status <> 'open'", name="completed_when_closed"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    description_enc: Mapped[bytes | None] = sealed()
    owner: Mapped[str] = mapped_column(String(16), nullable=False)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default=ActionStatus.OPEN)
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_by: Mapped[uuid.UUID] = recorded_by()


class CaseNote(RandomId, TenantOwned, Base):
    """Free text about the case, always encrypted; a note is added, never edited."""

    __tablename__ = "case_notes"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        tenant_fk("case_id", "cases"),
        Index("ix_case_notes_charity_id_case_id", "charity_id", "case_id"),
        idempotency_index("case_notes", "written_by"),
    )

    case_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    body_enc: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    written_by: Mapped[uuid.UUID] = recorded_by()
    idempotency_key: Mapped[str | None] = idempotency_key_column()
