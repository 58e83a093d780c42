"""Quarterly releases of the Ministry's figures, and the charities' sign-offs that precede them
(DESIGN.md section 7, issue 5 item 3).

None of these tables is tenant-owned: they hold no person, only counts after disclosure control
(``releases``), who signed off which quarter (``quarter_sign_offs``), and what the next build's
audit must know of each release (``release_protections``: each charity's own exact contribution
and which cells were suppressed as small). That last table is read only while a release is built:
on PostgreSQL the ministry's role has no grant on it, as it has none on any case table.

A release is built as a draft, reviewed and published by the alliance coordinator. Its document
(``content``: canonical JSON, the bytes every reader is served) and ``sha256`` are written once at
build and never changed; publishing sets only ``status``, ``published_at`` and ``published_by``,
once. A revision is a new release of the same quarter with the next ``revision`` number that
names the release it ``supersedes`` and why.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, RandomId, UTCDateTime


class ReleaseStatus(StrEnum):
    DRAFT = "draft"  # built, waiting for the coordinator's review
    PUBLISHED = "published"  # immutable, served to the ministry
    DISCARDED = "discarded"  # a draft the coordinator set aside (a newer build replaces it)


class SignOffAction(StrEnum):
    SIGNED_OFF = "signed_off"  # the charity's figures for the quarter are locked
    REOPENED = "reopened"  # unlocked again for a correction, before a revision


def _in(values: type[StrEnum]) -> str:
    return ", ".join(f"'{value.value}'" for value in values)


class QuarterSignOff(RandomId, Base):
    """One step in a charity's sign-off of one quarter; never changed. The latest step decides
    whether the quarter is locked for the charity."""

    __tablename__ = "quarter_sign_offs"
    __table_args__ = (
        CheckConstraint(f"action IN ({_in(SignOffAction)})", name="action"),
        CheckConstraint("sequence >= 1", name="sequence"),
        UniqueConstraint("charity_id", "quarter", "sequence"),
    )

    charity_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False
    )
    quarter: Mapped[str] = mapped_column(String(6), nullable=False)  # 2026Q3
    # 1, 2, ... per charity and quarter: a second sign-off pressed at the same moment fails on
    # the unique key instead of recording the same step twice.
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(12), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class Release(RandomId, Base):
    """A quarter's figures after disclosure control, as built and (once) published."""

    __tablename__ = "releases"
    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ReleaseStatus)})", name="status"),
        CheckConstraint("revision >= 1", name="revision"),
        CheckConstraint("threshold >= 1 AND base >= 1", name="rules"),
        UniqueConstraint("quarter", "revision"),
        Index("ix_releases_status_quarter", "status", "quarter"),
    )

    quarter: Mapped[str] = mapped_column(String(6), nullable=False)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    base: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[str] = mapped_column(Text, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    built_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="RESTRICT"), nullable=True
    )  # None: built from the command line by the operator
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    published_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="RESTRICT"), nullable=True
    )
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("releases.id", ondelete="RESTRICT"), nullable=True
    )
    # Why a revision was needed, in the coordinator's words (no person: checked on entry).
    revision_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    @property
    def is_published(self) -> bool:
        return self.status == ReleaseStatus.PUBLISHED


class ReleaseProtection(Base):
    """What later audits need of a release and must never be published: its cells and sums with
    which were suppressed as small, and each charity's exact contribution (JSON)."""

    __tablename__ = "release_protections"

    release_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("releases.id", ondelete="RESTRICT"), primary_key=True
    )
    state: Mapped[str] = mapped_column(Text, nullable=False)
