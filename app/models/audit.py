"""The audit log's rows: sealed events, one chain per charity and one for the platform.

Ids only, never names (DESIGN.md section 8). Append-only: the app role may INSERT and SELECT and
nothing else (migration 0003); the chain itself (app.domain.audit_chain) detects what the owner
role could still change.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.domain.audit_chain import AuditEvent
from app.models.base import Base, RandomId, UTCDateTime


class AuditEntry(RandomId, Base):
    """One sealed `AuditEvent` as stored."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # The position in a chain: what the append lock serialises and the verifier walks. The
        # sequence is per chain and public to that chain only; the key holds no personal data.
        UniqueConstraint("chain", "sequence"),
    )

    chain: Mapped[str] = mapped_column(String(40), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    organisation: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    record_type: Mapped[str] = mapped_column(String(32), nullable=False)
    # A JSON list of ids: a list page is one event naming every record shown.
    record_ids: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(128), nullable=False)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)

    @classmethod
    def from_event(cls, event: AuditEvent) -> AuditEntry:
        return cls(
            chain=event.chain,
            sequence=event.sequence,
            occurred_at=event.occurred_at,
            actor=event.actor,
            organisation=event.organisation,
            action=event.action,
            record_type=event.record_type,
            record_ids=json.dumps(list(event.record_ids), separators=(",", ":")),
            source=event.source,
            outcome=event.outcome,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )

    def to_event(self) -> AuditEvent:
        return AuditEvent(
            chain=self.chain,
            sequence=self.sequence,
            occurred_at=self.occurred_at,
            actor=self.actor,
            organisation=self.organisation,
            action=self.action,
            record_type=self.record_type,
            record_ids=_ids(self.record_ids),
            source=self.source,
            outcome=self.outcome,
            prev_hash=self.prev_hash,
            hash=self.hash,
        )


def _ids(text: str) -> tuple[str, ...]:
    # A tampered value that is not a JSON list of strings must still load, so the verifier can
    # report a hash mismatch instead of failing to read the chain.
    try:
        value = json.loads(text)
    except ValueError:
        return (text,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return (text,)
    return tuple(value)
