"""The audit log on PostgreSQL: append-only for the application role, checked by trying and from
the catalogue, and whole under concurrent appends because of the per-chain lock (with a negative
control showing the appends fork the chain without it). PostgreSQL only."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from app.db import make_engine, make_session_factory
from app.domain.audit_chain import AuditDraft, AuditEvent
from app.models import AuditEntry
from app.services.platform import audit
from tests.conftest import APP_ROLE
from tests.postgres.rls_checks import table_privileges
from tests.support.clock import DEFAULT_NOW

pytestmark = pytest.mark.postgres_only

CHAIN = "concurrency-check"
THREADS = 10
PER_THREAD = 5
ORIGIN = audit.Origin(source="203.0.113.7", clock=lambda: DEFAULT_NOW)


@pytest.fixture
def app_sessions_pg(pg_database, pg_world) -> Iterator[sessionmaker[Session]]:
    # One connection per thread, with room to spare.
    engine = make_engine(pg_database.app_url, pool_size=THREADS, max_overflow=THREADS)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def owner_engine(pg_database) -> Iterator[Engine]:
    engine = create_engine(pg_database.owner_url)
    yield engine
    engine.dispose()


def _draft(n: int) -> AuditDraft:
    return audit.draft_event(
        ORIGIN,
        chain=CHAIN,
        actor=uuid.uuid4(),
        organisation=uuid.uuid4(),
        action="case.read",
        record_type="case",
        record_ids=[uuid.uuid4()],
        outcome="ok" if n % 2 else "refused",
    )


def _one_event(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        audit.record(session, _draft(0))
        session.commit()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET source = 'x'",
        "DELETE FROM audit_events",
        "TRUNCATE audit_events",
    ],
)
def test_app_role_cannot_change_or_remove_audit_events(app_sessions_pg, statement):
    _one_event(app_sessions_pg)
    with app_sessions_pg() as session:
        with pytest.raises(ProgrammingError, match="permission denied"):
            session.execute(text(statement))
        session.rollback()
        assert session.scalar(select(AuditEntry.source)) == ORIGIN.source


def test_catalogue_grants_the_app_role_only_select_and_insert_on_audit_events(owner_engine):
    with owner_engine.connect() as conn:
        held = table_privileges(conn, APP_ROLE, "audit_events")
        column_updates = conn.execute(
            text(
                "SELECT count(*) FROM information_schema.column_privileges "
                "WHERE grantee = :role AND table_name = 'audit_events' "
                "AND privilege_type = 'UPDATE'"
            ),
            {"role": APP_ROLE},
        ).scalar()
    assert held == {"SELECT", "INSERT"}
    assert column_updates == 0


def _race(
    sessions: sessionmaker[Session], append: Callable[[Session, AuditDraft], AuditEvent]
) -> list[BaseException]:
    """THREADS threads append PER_THREAD events each to CHAIN, all starting at once; each event
    commits on its own, as a request's would. Returns what the appends raised."""
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        for n in range(PER_THREAD):
            with sessions() as session:
                try:
                    append(session, _draft(n))
                    session.commit()
                except IntegrityError as exc:
                    with lock:
                        errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _sequences(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.sequence)
                .where(AuditEntry.chain == CHAIN)
                .order_by(AuditEntry.sequence)
            )
        )


def test_ten_sessions_appending_at_once_leave_one_whole_chain(app_sessions_pg):
    errors = _race(app_sessions_pg, audit.record)
    assert errors == []
    assert _sequences(app_sessions_pg) == list(range(1, THREADS * PER_THREAD + 1))
    with app_sessions_pg() as session:
        result = audit.verify(session, CHAIN)
    assert result.ok and result.checked == THREADS * PER_THREAD


def test_negative_control_appends_without_the_chain_lock_collide(app_sessions_pg):
    """The same race through `_append`, which skips `lock_chain`: sessions read the same last
    event and seal onto it, and the unique key refuses all but one. If this ever stops failing,
    the test above no longer shows that the lock is what keeps the chain whole."""
    errors = _race(app_sessions_pg, audit._append)
    assert errors, "appends without the lock never collided"
    assert len(_sequences(app_sessions_pg)) < THREADS * PER_THREAD
