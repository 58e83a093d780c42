"""Transfers of a case between charities (DESIGN.md section 6), and the notifications they send.

``case_transfers`` and ``case_transfer_steps`` are shared by the two sides (tenants.model.
SharedTenancy): ids, prisons, states, dates and reason codes, never personal data. The offer's
content is a package in the receiver's own table (``transfer_offers``), sealed under the
receiver's key, so every receiver route reads only receiver-owned rows. Notifications are an
outbox per charity, sent by ``continuum outbox send``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.transfers.machine import Party, TransferOrigin, TransferReason, TransferState
from app.domain.vocabulary import sql_in
from app.models.base import Base, RandomId, Timestamps, UTCDateTime, utcnow
from app.models.families import sealed
from tenants.model import SharedTenancy, TenantOwned

LIVE_STATES = (
    TransferState.REQUESTED,
    TransferState.PROPOSED,
    TransferState.AWAITING_CONSENT,
    TransferState.OFFERED,
)
_LIVE_SQL = ", ".join(f"'{state.value}'" for state in LIVE_STATES)


class CaseTransfer(RandomId, Timestamps, SharedTenancy, Base):
    """One transfer of one case from a sending charity's prison to a receiving charity's prison.

    ``sender_case_id`` is NULL only for a receiver's request that matched no open case.
    """

    __tablename__ = "case_transfers"
    __shared_table_args__ = (
        CheckConstraint(f"state IN ({sql_in(TransferState)})", name="state"),
        CheckConstraint(f"origin IN ({sql_in(TransferOrigin)})", name="origin"),
        CheckConstraint("sender_charity_id <> receiver_charity_id", name="two_charities"),
        CheckConstraint("offer_life_days BETWEEN 1 AND 90", name="offer_life"),
        CheckConstraint(
            "sender_case_id IS NOT NULL OR state IN ('requested', 'refused')", name="case_known"
        ),
        # The sender's case, in the sender's own table: a transfer never names another's case.
        ForeignKeyConstraint(
            ["sender_charity_id", "sender_case_id"],
            ["cases.charity_id", "cases.id"],
            ondelete="RESTRICT",
        ),
        Index(
            "ix_case_transfers_sender_charity_id_sender_case_id",
            "sender_charity_id",
            "sender_case_id",
        ),
        # At most one live transfer per case: a second proposal is refused by the database.
        Index(
            "uq_case_transfers_one_live_per_case",
            "sender_charity_id",
            "sender_case_id",
            unique=True,
            sqlite_where=text(f"state IN ({_LIVE_SQL})"),
            postgresql_where=text(f"state IN ({_LIVE_SQL})"),
        ),
        Index("ix_case_transfers_receiver", "receiver_charity_id", "receiver_prison_code", "state"),
        Index("ix_case_transfers_sender", "sender_charity_id", "sender_prison_code", "state"),
    )

    sender_case_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    origin: Mapped[str] = mapped_column(String(24), nullable=False)
    state: Mapped[str] = mapped_column(String(24), nullable=False)
    offer_life_days: Mapped[int] = mapped_column(Integer, nullable=False, default=14)
    # Steps so far: the next step's sequence. Kept here because the receiver never sees the
    # steps taken before the offer, so it cannot count them.
    step_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CaseTransferStep(RandomId, SharedTenancy, Base):
    """One step of a transfer (app.domain.transfers.machine.Step): who, when, for which side, why.

    Append-only; the sides are copied from the transfer so that the same rule walls both in.
    The unique sequence is the database's guard against two concurrent steps from one state.
    """

    __tablename__ = "case_transfer_steps"
    __append_only__ = True
    __shared_table_args__ = (
        UniqueConstraint("transfer_id", "sequence"),
        # A retried request with the same key finds its first outcome instead of acting twice.
        UniqueConstraint("transfer_id", "idempotency_key"),
        CheckConstraint(f"state IN ({sql_in(TransferState)})", name="state"),
        CheckConstraint(f"party IN ({sql_in(Party)})", name="party"),
        CheckConstraint(f"reason IS NULL OR reason IN ({sql_in(TransferReason)})", name="reason"),
    )

    transfer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("case_transfers.id", ondelete="RESTRICT"), nullable=False
    )
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(24), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # NULL for the platform (movement feed, expiry, consent withdrawal).
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="RESTRICT"), nullable=True
    )
    party: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), nullable=True)


class TransferOffer(RandomId, Timestamps, TenantOwned, Base):
    """What the receiver may see of an offered case: only the consented categories, sealed under
    the receiver's key. Owned by the receiver at the receiving prison. ``package_enc`` is NULLed
    when the offer ends without acceptance (voided), or once the case is accepted (the receiver's
    own case rows then hold it)."""

    __tablename__ = "transfer_offers"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        UniqueConstraint("charity_id", "transfer_id"),
    )

    transfer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("case_transfers.id", ondelete="RESTRICT"), nullable=False
    )
    # Sorted, comma-separated DataCategory values the case-level records were cut to.
    categories: Mapped[str] = mapped_column(String(200), nullable=False)
    # The sender's consent records the offer rests on (ids only), for provenance.
    consent_ids: Mapped[str] = mapped_column(Text, nullable=False)
    package_enc: Mapped[bytes | None] = sealed()
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Notification(RandomId, TenantOwned, Base):
    """A message to one charity about one of its prisons (the outbox): a transfer reached
    ``state``. It carries ids and codes only; the email it becomes says "sign in to see it".
    Written in the transaction of the step it reports, so a message exists exactly when its step
    does; sent later, at least once, by ``continuum outbox send``."""

    __tablename__ = "notifications"
    __tenant_table_args__ = (
        UniqueConstraint("charity_id", "id"),
        CheckConstraint(f"state IN ({sql_in(TransferState)})", name="state"),
        Index("ix_notifications_unsent", "charity_id", "sent_at"),
    )

    transfer_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("case_transfers.id", ondelete="RESTRICT"), nullable=False
    )
    state: Mapped[str] = mapped_column(String(24), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
