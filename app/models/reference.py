"""Reference data shared by everyone and read-only for staff: prisons, organisations, services."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, RandomId, Timestamps
from tenants.permissions import OrganisationKind


class Prison(Base):
    """An establishment from the Ministry's prison register, keyed by its agency code."""

    __tablename__ = "prisons"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    male: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    female: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    contracted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    types: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    town: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    county: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    country: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    postcode: Mapped[str] = mapped_column(String(10), nullable=False, default="")
    region: Mapped[str] = mapped_column(String(40), nullable=False, default="")


class Organisation(RandomId, Timestamps, Base):
    """A member charity, the alliance, or the ministry. Only charities own case data."""

    __tablename__ = "organisations"
    __table_args__ = (CheckConstraint("kind IN ('charity', 'alliance', 'ministry')", name="kind"),)

    slug: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    # A charity's shared transfers inbox: where transfer notifications are emailed (no personal
    # data is ever in them). Unset: notifications wait in the app's own lists only.
    notification_email: Mapped[str | None] = mapped_column(String(254), nullable=True)

    @property
    def is_charity(self) -> bool:
        return self.kind == OrganisationKind.CHARITY


class Service(RandomId, Timestamps, Base):
    """Charity X delivers family services at prison P from ``starts_on`` until ``ends_on``.

    ``ends_on`` is exclusive and open when null. At most one charity serves a prison on a given
    day: the database refuses an overlap (an exclusion constraint on PostgreSQL, a trigger on
    SQLite), and ``app.services.platform.reference.start_service`` says so first with a clear error.
    """

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name="dates_in_order"),
        Index("ix_services_prison_code_starts_on", "prison_code", "starts_on"),
    )

    charity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    prison_code: Mapped[str] = mapped_column(
        String(8), ForeignKey("prisons.code", ondelete="RESTRICT"), nullable=False
    )
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    charity: Mapped[Organisation] = relationship()
    prison: Mapped[Prison] = relationship()

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day < self.ends_on)
