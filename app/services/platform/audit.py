"""Writing and verifying the audit log (DESIGN.md section 8).

Use cases call `record` inside their own transaction and commit it with the change the event
records, so an event exists exactly when its change does. The sealing and the checks are
app.domain.audit_chain's; this module finds each chain's last event and stores the next.

Appends to one chain are serialised: each event is sealed onto the one before it, so two appends
that read the same last event would fork the chain (the unique key on chain and sequence would
then refuse one of them). On PostgreSQL a transaction-scoped advisory lock per chain does it, so
charities never wait on each other and the app role needs no UPDATE. On SQLite the lock is the
database's one write lock, taken before the last event is read (see `lock_chain`): only the
append waits for it, not the reads before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from app.domain.audit_chain import (
    PLATFORM_CHAIN,
    AuditDraft,
    AuditEvent,
    Checkpoint,
    VerifyResult,
    checkpoint_matches,
    seal,
    verify_chain,
)
from app.domain.clock import Clock
from app.models import AuditEntry

UNKNOWN_ACTOR = "unknown"
# Rows held in memory at once while a chain is verified.
VERIFY_BATCH = 500


@dataclass(frozen=True)
class Origin:
    """Where a request came from and the clock its events are dated by; the entry point (web or
    API) builds it, so no use case reads the request itself."""

    source: str
    clock: Clock


def chain_for(organisation_id: uuid.UUID, is_charity: bool) -> str:
    """A charity's events go to its own chain; everyone else's to the platform chain."""
    return str(organisation_id) if is_charity else PLATFORM_CHAIN


def draft_event(
    origin: Origin,
    *,
    chain: str,
    actor: uuid.UUID | str,
    organisation: uuid.UUID,
    action: str,
    record_type: str,
    record_ids: Iterable[uuid.UUID | str] = (),
    outcome: str = "ok",
) -> AuditDraft:
    """An event about ``record_ids`` (ids only, never names) as seen from ``origin``."""
    return AuditDraft(
        chain=chain,
        occurred_at=origin.clock(),
        actor=str(actor),
        organisation=str(organisation),
        action=action,
        record_type=record_type,
        record_ids=tuple(str(record_id) for record_id in record_ids),
        source=origin.source,
        outcome=outcome,
    )


def lock_chain(session: Session, chain: str) -> None:
    """Hold the chain's append lock until the caller's transaction ends: an advisory lock for
    the chain on PostgreSQL, the database's write lock on SQLite (issue 13, item 7)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:chain))"), {"chain": chain})
    elif connection.dialect.name == "sqlite":
        _hold_sqlite_write_lock(connection)


def _hold_sqlite_write_lock(connection: Connection) -> None:
    """pysqlite begins a transaction (deferred) only at its first write, so two appends could
    read the same last event before either wrote and then collide on the unique key. With no
    transaction open, BEGIN IMMEDIATE takes the write lock now, waiting out the busy timeout
    (app.db) for another writer; with one open, its first write already holds the lock. Reads
    before the append ran outside any transaction, so none waits for it. A deferred BEGIN would
    not do: in WAL mode a transaction that has read cannot then take the write lock once another
    writer has committed ("database is locked", at once, whatever the busy timeout)."""
    driver = connection.connection.driver_connection
    if driver is None or not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _last_event(session: Session, chain: str) -> AuditEvent | None:
    last = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.chain == chain)
        .order_by(AuditEntry.sequence.desc())
        .limit(1)
    ).first()
    return None if last is None else last.to_event()


def _append(session: Session, draft: AuditDraft) -> AuditEvent:
    """Seal and insert without the chain lock: only safe with the lock held (see `record`)."""
    event = seal(draft, _last_event(session, draft.chain))
    session.add(AuditEntry.from_event(event))
    session.flush()
    return event


def record(session: Session, draft: AuditDraft) -> AuditEvent:
    """Append ``draft`` to its chain in the caller's transaction; the caller commits."""
    lock_chain(session, draft.chain)
    return _append(session, draft)


def record_refusal(session: Session, draft: AuditDraft) -> AuditEvent:
    """Keep a refused request's event and nothing else it may have begun; commits."""
    session.rollback()
    event = record(session, draft)
    session.commit()
    return event


def verify(session: Session, chain: str) -> VerifyResult:
    """Walk ``chain`` in sequence order, holding one batch of rows at a time."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.chain == chain)
        .order_by(AuditEntry.sequence)
        .execution_options(yield_per=VERIFY_BATCH)
    )
    # Closed explicitly: the verifier stops at the first fault, mid-cursor.
    with session.scalars(statement) as rows:
        return verify_chain((row.to_event() for row in rows), chain)


def chains(session: Session) -> list[str]:
    """Every chain that has at least one event."""
    return list(session.scalars(select(AuditEntry.chain).distinct().order_by(AuditEntry.chain)))


def last_event(session: Session, chain: str) -> AuditEvent | None:
    """The head of ``chain``: what a checkpoint signs."""
    return _last_event(session, chain)


def checkpoint_holds(session: Session, checkpoint: Checkpoint) -> bool:
    """True if the chain still has the checkpoint's hash at the checkpoint's sequence."""
    statement = (
        select(AuditEntry)
        .where(AuditEntry.chain == checkpoint.chain)
        .order_by(AuditEntry.sequence)
        .execution_options(yield_per=VERIFY_BATCH)
    )
    with session.scalars(statement) as rows:
        return checkpoint_matches(checkpoint, (row.to_event() for row in rows))
